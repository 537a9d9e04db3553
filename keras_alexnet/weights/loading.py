"""Load resolved weights into a built AlexNet, with errors that name both sides.

A file that exists but cannot be read (truncated, random bytes, not the format
its name says) raises `keras_alexnet.errors.DamagedFileError` naming it and how
to get an intact copy: `weights_file_shapes` for `.weights.h5` files and
`load_keras_file` for `.keras` files are the two places files are opened.

Example:

>>> import keras_alexnet
>>> from keras_alexnet.weights.loading import copy_weights_by_name
>>> a = keras_alexnet.AlexNet(variant="torchvision")
>>> b = keras_alexnet.AlexNet(variant="torchvision", include_top=False)
>>> copy_weights_by_name(a, b)
>>> bool((a.get_layer("conv1").kernel.numpy() == b.get_layer("conv1").kernel.numpy()).all())
True
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np

from keras_alexnet.errors import DamagedFileError
from keras_alexnet.models.build import has_top
from keras_alexnet.models.config import VARIANT_NAMES, count_params
from keras_alexnet.saving import registration_guidance
from keras_alexnet.weights.preset_files import FIRST_TASK_LAYER

if TYPE_CHECKING:
    from keras_alexnet.weights.resolved import ResolvedWeights

#: How to replace a damaged weights file, for the messages.
WEIGHTS_FIX = (
    "Replace it with an intact copy: fetch or convert it again (`keras-alexnet weights fetch NAME`, "
    "`keras-alexnet convert ...`), or save it again (`model.save_weights(path)` / `model.save(path)`)."
)


def copy_weights_by_name(source: keras.Model, target: keras.Model) -> None:
    """Copy every weighted layer of `target` from the same-named layer of `source`."""
    source_layers = {layer.name: layer for layer in source.layers}
    for layer in target.layers:
        if not layer.weights:
            continue
        if layer.name not in source_layers:
            raise ValueError(
                f"The weights have no layer named {layer.name!r} (they hold "
                f"{sorted(n for n, lyr in source_layers.items() if lyr.weights)}). "
                f"Received: a model with layer {layer.name!r}"
            )
        source_layer = source_layers[layer.name]
        source_shapes = [tuple(w.shape) for w in source_layer.weights]
        target_shapes = [tuple(w.shape) for w in layer.weights]
        if source_shapes != target_shapes:
            raise ValueError(
                f"Layer {layer.name!r}: the weights have shapes {source_shapes}, the model "
                f"expects {target_shapes}. Build the model with the checkpoint's variant "
                f"and class count. Received: weights for {source.name!r}, model {target.name!r}"
            )
        layer.set_weights(source_layer.get_weights())


def load_resolved_weights(model: keras.Model, resolved: ResolvedWeights) -> None:
    """Load `resolved` into `model`: a `.keras` file by layer name, a `.weights.h5` file whole when it fits.

    A model without its top (include_top=False) takes the checkpoint's no-top file when there is one, else
    its conv layers straight from the full file's HDF5 groups (`load_layers_from_h5`): no second model is
    built and the dense layers' 227 MB are never read.
    """
    with_top = has_top(model)
    if resolved.keras_path is not None:
        source = load_keras_file(resolved.keras_path)
        copy_weights_by_name(source, model)
        return
    if not with_top and resolved.notop_path is not None:
        _load_weights_file(model, resolved.notop_path, resolved.description)
        return
    if resolved.task_path is not None and resolved.notop_path is not None:  # format 2: backbone + task files
        first_task_layer = [layer.name for layer in model.layers].index(FIRST_TASK_LAYER)
        load_layers_from_h5(model, resolved.notop_path, resolved.description, layers=model.layers[:first_task_layer])
        if not Path(resolved.task_path).is_file():
            raise ValueError(
                f"The weights {resolved.description} have no {Path(resolved.task_path).name} (the classifier's fc6, "
                "fc7 and predictions): build the model with include_top=False, or copy the checkpoint again. "
                "Received: include_top=True"
            )
        load_layers_from_h5(model, resolved.task_path, resolved.description, layers=model.layers[first_task_layer:])
        return
    if resolved.top_path is None:
        raise ValueError(
            f"The weights {resolved.description} have no top (classifier); build the model "
            "with include_top=False. Received: include_top=True"
        )
    if with_top or _fits(model, resolved.top_path):
        _load_weights_file(model, resolved.top_path, resolved.description)
        return
    load_layers_from_h5(model, resolved.top_path, resolved.description)


def _snake_case(name: str) -> str:
    """Keras' name for a layer class inside a `.weights.h5` file ("GroupedConv2D" -> "grouped_conv2d")."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def h5_layer_keys(model: keras.Model) -> dict[str, str]:
    """The HDF5 group (`layers/<class>_<n>/vars`) Keras 3 stores each layer of `model` under, by layer name.

    Keras names a layer's group after its class, numbered in the order of `model.layers`; a model without
    its top has the same layers up to pool5 as the full one, so its conv layers' groups are the same.
    """
    used: dict[str, int] = {}
    keys = {}
    for layer in model.layers:
        name = _snake_case(type(layer).__name__)
        used[name] = used.get(name, -1) + 1
        keys[layer.name] = f"layers/{name}" + (f"_{used[name]}" if used[name] else "") + "/vars"
    return keys


def load_layers_from_h5(model: keras.Model, path, description: str, *, layers=None) -> None:
    """Assign every weighted layer of `model` (or of `layers`, some of its layers) from its group in a `.weights.h5`.

    The file is one Keras wrote for the full model or a part of it with the same layers in the same order (a model
    without its top, a KerasHub backbone or task file): Keras numbers each class's groups in layer order.
    """
    import h5py

    keys = h5_layer_keys(model)
    with _damaged_as_error(path, "HDF5 weights file"), h5py.File(path, "r") as f:
        for layer in model.layers if layers is None else layers:
            if not layer.weights:
                continue
            group = f.get(keys[layer.name])
            stored = [] if group is None else [group[str(i)] for i in range(len(group))]
            stored_shapes = [tuple(d.shape) for d in stored]
            model_shapes = [tuple(w.shape) for w in layer.weights]
            if stored_shapes != model_shapes:
                raise ValueError(
                    f"The weights in {description} do not fit the model {model.name!r}: layer {layer.name!r} "
                    f"expects {model_shapes}, the file holds {stored_shapes} for it. Build the model with the "
                    f"variant the weights were saved with. Received: weights={description!r}"
                )
            for variable, dataset in zip(layer.weights, stored, strict=True):
                variable.assign(np.asarray(dataset, dtype=variable.dtype))


def _fits(model: keras.Model, path) -> bool:
    return sorted(weights_file_shapes(path)) == sorted(tuple(w.shape) for w in model.weights)


def weights_file_shapes(path) -> list[tuple[int, ...]]:
    """Shapes of every variable stored in a Keras 3 `.weights.h5` file, in file order.

    Raises `DamagedFileError` when the file is not a readable HDF5 file (truncated, random bytes, empty).
    """
    import h5py

    shapes = []
    with _damaged_as_error(path, "HDF5 weights file"), h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: shapes.append(tuple(obj.shape)) if isinstance(obj, h5py.Dataset) else None)
    return shapes


def load_keras_file(path: str | os.PathLike) -> keras.Model:
    """`keras.saving.load_model(path, compile=False)`; raises `DamagedFileError` for a damaged `.keras` file.

    Keras answers a file that is not a zip archive with "File not found" even when it exists; this says what
    is wrong with it and how to replace it. A missing file is a `FileNotFoundError`, as for `open`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", os.fspath(path))
    if not zipfile.is_zipfile(path):
        size = path.stat().st_size
        problem = "it is empty" if size == 0 else f"it is not a .keras (zip) archive ({size:,} bytes; truncated?)"
        raise DamagedFileError(path, problem, WEIGHTS_FIX)
    with _damaged_as_error(path, ".keras archive", keras_errors=True), registration_guidance(path):
        return keras.saving.load_model(path, compile=False)


@contextlib.contextmanager
def _damaged_as_error(path, what: str, *, keras_errors: bool = False) -> Iterator[None]:
    """Turn what h5py / zipfile / Keras raise for an unreadable file into `DamagedFileError` naming `path`.

    h5py reports a damaged file as an `OSError` without a file name ("file signature not found",
    "truncated file"); an `OSError` that names a file (permissions, ...) is left as it is.
    """
    caught: tuple[type[BaseException], ...] = (OSError, zipfile.BadZipFile, EOFError)
    if keras_errors:  # a member missing from the archive, a member that is not JSON / not text
        caught += (KeyError, json.JSONDecodeError, UnicodeDecodeError)
    try:
        yield
    except DamagedFileError:
        raise
    except caught as error:
        if isinstance(error, OSError) and error.filename is not None:
            raise
        detail = " ".join(str(error).split()) or type(error).__name__
        raise DamagedFileError(path, f"it is not a readable {what} ({detail})", WEIGHTS_FIX) from error


def _load_weights_file(model: keras.Model, path, description: str) -> None:
    file_shapes = sorted(weights_file_shapes(path))
    model_shapes = sorted(tuple(w.shape) for w in model.weights)
    if file_shapes != model_shapes:
        file_params = sum(int(np.prod(s)) for s in file_shapes)
        raise ValueError(
            f"The weights in {description} do not fit the model {model.name!r}: the file holds "
            f"{len(file_shapes)} tensors / {file_params:,} parameters, the model {len(model_shapes)} tensors / "
            f"{model.count_params():,} parameters{_variant_hint(file_params)}. Build the model with the variant "
            f"and class count the weights were saved with. Received: weights={description!r}"
        )
    try:
        with _damaged_as_error(path, "HDF5 weights file"), chunked_assignment(model):
            model.load_weights(path)
    except DamagedFileError:
        raise
    except ValueError as error:
        raise ValueError(
            f"The weights in {description} do not fit the model {model.name!r} "
            f"({model.count_params():,} parameters): {error}. Build the model with the "
            f"variant and class count the weights were saved with. Received: weights={description!r}"
        ) from error


def _variant_hint(params: int) -> str:
    for name in VARIANT_NAMES:
        for include_top in (True, False):
            if params == count_params(name, include_top=include_top):
                top = "" if include_top else " without its top"
                return f" (the file's count is that of the {name!r} variant{top})"
    return ""


@contextlib.contextmanager
def chunked_assignment(
    model: keras.Model, *, chunk_bytes: int = 16 * 2**20, min_bytes: int = 32 * 2**20
) -> Iterator[None]:
    """While active, assigning an array (NumPy, HDF5 dataset) to one of `model`'s large variables copies it in blocks.

    Keras' `load_weights` reads each stored array whole, converts it to a tensor and assigns it: for fc6
    that is two 151 MB copies besides the variable. Block by block the tensor copy is about `chunk_bytes`. Only for
    the TensorFlow backend and variables of at least `min_bytes`; any other value goes to Keras' own
    `assign` (which checks shapes and raises its usual errors).

    Example:

    >>> import keras_alexnet
    >>> model = keras_alexnet.AlexNet(variant="torchvision")
    >>> with chunked_assignment(model):
    ...     pass  # model.load_weights("model.weights.h5")
    """
    if keras.backend.backend() != "tensorflow":
        yield
        return
    import h5py
    import tensorflow as tf

    patched = []
    for variable in model.variables:
        shape = tuple(variable.shape)
        nbytes = int(np.prod(shape)) * np.dtype(variable.dtype).itemsize
        if not shape or nbytes < min_bytes:
            continue
        rows = max(1, chunk_bytes // max(1, nbytes // shape[0]))

        def assign(value, variable=variable, original=variable.assign, rows=rows, shape=shape):
            if not isinstance(value, np.ndarray | h5py.Dataset) or tuple(value.shape) != shape:
                return original(value)
            handle = variable.value.handle  # the tf.Variable behind the Keras variable
            tail = [0] * (len(shape) - 1)
            for start in range(0, shape[0], rows):
                stop = min(start + rows, shape[0])
                # One strided-slice assignment per block (the raw op: `tf.Variable[a:b].assign` costs 4x more here).
                tf.raw_ops.ResourceStridedSliceAssign(
                    ref=handle,
                    begin=[start, *tail],
                    end=[stop, *shape[1:]],
                    strides=[1] * len(shape),
                    value=np.asarray(value[start:stop], variable.dtype),
                )
            return variable

        variable.assign = assign
        patched.append(variable)
    try:
        yield
    finally:
        for variable in patched:
            del variable.assign
