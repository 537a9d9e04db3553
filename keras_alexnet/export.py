"""Export an AlexNet for serving (TF SavedModel, ONNX, LiteRT), checked against the Keras model.

`export_model` wraps Keras' `model.export` and then loads the artifact in its
own runtime (TensorFlow, ONNX Runtime, the LiteRT interpreter) and compares
its predictions with the Keras model's on the same input; the artifact is
written to a staging sibling first and only renamed into place once it
passed, so a failed or partial export never replaces a good one; it replaces
only an empty directory or an earlier export of the same format (a SavedModel
carries the marker `keras_alexnet_export.json`), unless `overwrite=True`.

Formats and what they need (`pip install "keras-alexnet[export]"`):

- "saved_model": a TensorFlow SavedModel directory with a `serve` endpoint;
- "onnx": a `.onnx` file (needs `tf2onnx`; float32 models only, ONNX Runtime
  to verify);
- "litert": a `.tflite` flatbuffer (TensorFlow's converter; verified with
  `ai-edge-litert`'s interpreter, or `tf.lite.Interpreter` without it). The
  batch size is fixed (`batch_size`, default 1); float32 models only.

SavedModel also takes `mixed_bfloat16` models. Their check allows an error relative
to the largest output (`rtol`, default 2**-6, two bfloat16 steps) on top of `atol`:
the export runs the LRN through other ops, and a rounding step that flips inside
the network moves an output by about one bfloat16 step of the values around it.

Example:

>>> import tempfile, keras_alexnet
>>> from keras_alexnet.export import export_model
>>> model = keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3))
>>> path = export_model(model, tempfile.mkdtemp() + "/alexnet", "saved_model")
>>> path.name
'alexnet'
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from keras_alexnet.errors import ExportMismatchError, require
from keras_alexnet.layers.tracing import plain_ops
from keras_alexnet.outputs import apply_umask, check_output, publish, staging_directory
from keras_alexnet.serving_export import export_serving  # noqa: F401  (part of this module's API)
from keras_alexnet.version import __version__

#: Default relative tolerance of the parity check for bfloat16/float16 models: two bfloat16 rounding steps.
LOW_PRECISION_RTOL = 2.0**-6

#: Our format names -> Keras' `model.export` format names.
FORMATS = {"saved_model": "tf_saved_model", "onnx": "onnx", "litert": "litert"}
#: The file suffix each format gets when the path has none ("" for a directory).
SUFFIXES = {"saved_model": "", "onnx": ".onnx", "litert": ".tflite"}
#: The marker file inside an exported SavedModel directory: what a later export may replace.
EXPORT_MARKER = "keras_alexnet_export.json"


def _check_format(format: str) -> str:
    if format not in FORMATS:
        raise ValueError(f"`format` must be one of {sorted(FORMATS)}. Received: format={format!r}")
    return format


def check_backend(format: str) -> None:
    """Refuse, in one line, a backend on which Keras cannot export `format` ("serving" included).

    Measured with Keras 3.15: the PyTorch backend fails in `torch.export` (dynamic shapes) or asks for
    torch_xla, JAX exports a SavedModel (through jax2tf) but not ONNX (tf2onnx rejects jax2tf's graph) nor
    LiteRT (Keras: TensorFlow or PyTorch only). The artifact does not depend on the backend that wrote it,
    so exporting under TensorFlow loses nothing.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow" or (backend == "jax" and format == "saved_model"):
        return
    raise ValueError(
        f"Exporting {format} needs the TensorFlow backend"
        f"{' (JAX exports saved_model only)' if backend == 'jax' else ''}: run with KERAS_BACKEND=tensorflow "
        f"(the exported model is the same whichever backend trained it). Received: KERAS_BACKEND={backend}"
    )


def default_path(path: str | os.PathLike, format: str) -> Path:
    """`path` with the format's suffix added when it has none (`model` -> `model.onnx`)."""
    path = Path(path)
    suffix = SUFFIXES[_check_format(format)]
    return path.with_suffix(suffix) if suffix and not path.suffix else path


def is_earlier_export(path: str | os.PathLike, format: str) -> bool:
    """Whether `path` is an artifact `export_model` wrote in `format` (what a new export may replace).

    A SavedModel directory carries `EXPORT_MARKER`; an `.onnx` file is an ONNX
    protobuf (it starts with the `ir_version` field) and a `.tflite` file a
    LiteRT flatbuffer (`TFL3` at byte 4).
    """
    path = Path(path)
    if format == "saved_model":
        return (path / EXPORT_MARKER).is_file()
    if not path.is_file() or path.suffix != SUFFIXES[format]:
        return False
    with open(path, "rb") as file:
        head = file.read(8)
    return head[:1] == b"\x08" if format == "onnx" else head[4:8] == b"TFL3"


def check_export_path(path: str | os.PathLike, format: str, *, overwrite: bool = False) -> Path:
    """`default_path(path, format)`, after checking that an export may be written there (`check_output`)."""
    path = default_path(path, format)
    check_output(path, *_export_kind(format), overwrite=overwrite, directory=format == "saved_model")
    return path


def _export_kind(format: str) -> tuple[Callable[[Path], bool], str]:
    return functools.partial(is_earlier_export, format=format), f"{format} export"


def _input_shape(model: keras.Model, batch_size: int | None) -> tuple:
    shape = tuple(model.inputs[0].shape[1:])
    if any(s is None for s in shape):
        raise ValueError(
            "Exporting needs a model with a fixed input size; build it with `input_shape=(227, 227, 3)` "
            f"(or the size you will serve). Received: a model with input shape {(None, *shape)}"
        )
    return (batch_size, *shape)


def _compute_dtypes(model: keras.Model) -> set[str]:
    return {keras.backend.standardize_dtype(layer.compute_dtype) for layer in model.layers}


def _check_dtype(model: keras.Model, format: str) -> None:
    compute_dtypes = _compute_dtypes(model)
    if format == "onnx" and compute_dtypes - {"float32"}:
        raise ValueError(
            "ONNX export (tf2onnx) supports float32 models only; build the model with dtype=None or 'float32' "
            f"(ONNX Runtime has its own float16/int8 tooling). Received: a model computing in {sorted(compute_dtypes)}"
        )
    if format == "litert" and compute_dtypes - {"float32"}:
        raise ValueError(
            "LiteRT export needs a float32 model: bfloat16/float16 Keras policies become TensorFlow 'select' ops "
            "that the LiteRT interpreter cannot run; build the model with dtype=None or 'float32' (LiteRT does "
            f"its own float16/int8 quantization). Received: a model computing in {sorted(compute_dtypes)}"
        )


def sample_batch(model: keras.Model, batch_size: int = 2, seed: int = 0) -> np.ndarray:
    """A deterministic float32 batch in the range of preprocessed images, shaped for `model`."""
    shape = _input_shape(model, batch_size)
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.0, 255.0, shape) - 117.0).astype("float32")


def export_model(
    model: keras.Model,
    path: str | os.PathLike,
    format: str = "saved_model",
    *,
    batch_size: int | None = None,
    verify: bool = True,
    atol: float = 1e-4,
    rtol: float | None = None,
    overwrite: bool = False,
    verbose: bool = False,
) -> Path:
    """Export `model` to `path` in `format` and check the artifact's predictions against Keras'.

    Args:
        model: a built Keras model with one fixed-size input.
        path: the output directory ("saved_model") or file ("onnx", "litert";
            the suffix is added when missing).
        format: "saved_model", "onnx" or "litert".
        batch_size: the exported batch dimension; None (any batch) for
            SavedModel and ONNX, 1 for LiteRT when None.
        verify: run the artifact on a sample batch and compare with the model.
        atol: allowed absolute difference of the outputs.
        rtol: allowed difference relative to the largest Keras output,
            added to `atol`; None: 0 for float32 models,
            `LOW_PRECISION_RTOL` for bfloat16/float16 ones.
        overwrite: replace whatever is at `path`; without it, `path` may be absent, an empty
            directory or an earlier export of the same format (`is_earlier_export`), and
            anything else is refused with `keras_alexnet.outputs.ExistingOutputError`.
        verbose: let Keras / the converters print their progress.

    Returns:
        The path written.
    """
    import tensorflow as tf

    _check_format(format)
    check_backend(format)
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1):
        raise ValueError(f"`batch_size` must be a positive integer or None. Received: batch_size={batch_size!r}")
    if format == "litert" and batch_size is None:
        batch_size = 1
    _check_dtype(model, format)
    shape = _input_shape(model, batch_size)
    path = check_export_path(path, format, overwrite=overwrite)
    needed = model.count_params() * 4 + 2**20  # float32 weights, whatever the compute dtype
    with staging_directory(
        path.parent, path.name, "export", needed_bytes=needed, what=f"the {format} export"
    ) as staging_dir:
        staging = staging_dir / path.name
        signature = [tf.TensorSpec(shape, tf.float32, name="input")]
        with plain_ops():  # Keras' export already traces plain ops (layers/tracing.py); this makes it explicit
            if format == "onnx":
                _export_onnx(model, staging, signature, verbose=verbose)
            else:
                model.export(str(staging), format=FORMATS[format], input_signature=signature, verbose=verbose)
        if verify:
            verify_export(model, staging, format, batch_size=batch_size or 2, atol=atol, rtol=rtol)
        if format == "saved_model":
            marker = {"format": format, "keras_alexnet": __version__, "model": model.name}
            (staging / EXPORT_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        apply_umask(staging)
        publish(staging, path, *_export_kind(format), overwrite=overwrite)
    return path


def _export_onnx(model: keras.Model, path: Path, signature: list, *, verbose: bool = False) -> None:
    """`model.export(path, format="onnx")`, with tf2onnx keeping the weights outside the graph while it works.

    Keras has tf2onnx optimise a graph that holds every weight inline, and each of its optimiser passes
    copies them all: about 70 s for AlexNet's 61M parameters. In tf2onnx's large-model mode the weights
    stay outside the graph until the model is made (about 20 s); they are then put back into their
    tensors, so the file is what Keras writes: one self-contained `.onnx` (checked by `verify_export`).
    With a Keras that lacks the internals used here, this is `model.export` itself.
    """
    try:
        from keras.src.export.onnx import get_concrete_fn
        from keras.src.export.tf2onnx_lib import patch_tf2onnx
    except ImportError:  # pragma: no cover - another Keras version: its own (slower) path
        model.export(str(path), format="onnx", input_signature=signature, verbose=verbose)
        return
    onnx = require("onnx", "export", "Exporting to ONNX")
    tf2onnx = require("tf2onnx", "export", "Exporting to ONNX")
    patch_tf2onnx()  # what Keras does first: tf2onnx's NumPy 2 compatibility
    proto, storage = tf2onnx.convert.from_function(get_concrete_fn(model, signature), signature, large_model=True)
    _inline_external_tensors(onnx, proto.graph, storage.name_to_tensor_data)
    path.write_bytes(proto.SerializeToString())


def _inline_external_tensors(onnx, graph, data: dict[str, bytes]) -> None:
    """Put the bytes tf2onnx kept outside (`data`, by location) back into `graph`'s tensors, subgraphs too."""

    def inline(tensor) -> None:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            location = {entry.key: entry.value for entry in tensor.external_data}["location"]
            tensor.raw_data = data[location]
            del tensor.external_data[:]
            tensor.data_location = onnx.TensorProto.DEFAULT

    for tensor in graph.initializer:
        inline(tensor)
    for node in graph.node:
        for attribute in node.attribute:
            for tensor in [attribute.t, *attribute.tensors]:
                inline(tensor)
            for subgraph in [attribute.g, *attribute.graphs]:
                _inline_external_tensors(onnx, subgraph, data)


def load_exported(path: str | os.PathLike, format: str) -> Callable[[np.ndarray], np.ndarray]:
    """A NumPy-in, NumPy-out predict function for an exported artifact, run in the format's own runtime."""
    path = Path(path)
    _check_format(format)
    if not path.exists():
        raise FileNotFoundError(f"No exported model at {path}")
    if format == "saved_model":
        import tensorflow as tf

        artifact = tf.saved_model.load(str(path))
        return lambda x: np.asarray(artifact.serve(tf.constant(x, tf.float32)))
    if format == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: np.asarray(x, "float32")})[0]
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - TensorFlow's own interpreter (deprecated) as a fallback
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    input_detail = interpreter.get_input_details()[0]
    output_detail = interpreter.get_output_details()[0]

    def predict(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, "float32")
        if tuple(x.shape) != tuple(input_detail["shape"]):
            interpreter.resize_tensor_input(input_detail["index"], x.shape)
            interpreter.allocate_tensors()
        interpreter.set_tensor(input_detail["index"], x)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(output_detail["index"]))

    return predict


def default_rtol(model: keras.Model) -> float:
    """0 for a float32 model, `LOW_PRECISION_RTOL` when any layer computes in bfloat16 or float16."""
    return LOW_PRECISION_RTOL if _compute_dtypes(model) & {"bfloat16", "float16"} else 0.0


def verify_export(
    model: keras.Model,
    path: str | os.PathLike,
    format: str,
    *,
    batch_size: int = 2,
    atol: float = 1e-4,
    rtol: float | None = None,
) -> float:
    """Max absolute difference between `model` and the artifact on a sample batch.

    Raises `keras_alexnet.errors.ExportMismatchError` (a RuntimeError) where an output differs by
    more than `atol + rtol * max |keras output|` (`rtol`: see `default_rtol`), or where a
    classifier's top-1 class changes.
    """
    from keras_alexnet.models.build import has_top

    rtol = default_rtol(model) if rtol is None else rtol
    x = sample_batch(model, batch_size)
    expected = np.asarray(model(x, training=False), "float32")
    actual = load_exported(path, format)(x)
    if actual.shape != expected.shape:
        raise ExportMismatchError(
            f"The exported {format} model returns shape {actual.shape}, the Keras model {expected.shape}"
        )
    diff = float(np.max(np.abs(actual - expected)))
    tolerance = atol + rtol * float(np.max(np.abs(expected)))
    within = diff <= tolerance
    # Top-1 is compared for classifiers only: a feature vector's largest entry can tie within rounding.
    same_top1 = not has_top(model) or np.array_equal(actual.argmax(-1), expected.argmax(-1))
    if not within or not same_top1:
        reason = "a different top-1 class" if within else f"max |diff| = {diff:.3g} (tolerance {tolerance:.3g})"
        raise ExportMismatchError(
            f"The exported {format} model disagrees with the Keras model: {reason}; the artifact was not written"
        )
    return diff
