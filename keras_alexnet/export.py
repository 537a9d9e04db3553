"""Export an AlexNet for serving (TF SavedModel, ONNX, LiteRT, OpenVINO), checked against the Keras model.

`export_model` wraps Keras' `model.export` and then loads the artifact in its
own runtime (TensorFlow, ONNX Runtime, the LiteRT interpreter, OpenVINO) and compares
its predictions with the Keras model's on the same input; the artifact is
written to a staging sibling first and only renamed into place once it
passed, so a failed or partial export never replaces a good one; it replaces
only an empty directory or an earlier export of the same format (a SavedModel
and an OpenVINO directory carry the marker `keras_alexnet_export.json`), unless `overwrite=True`.

Formats and what they need (`pip install "keras-alexnet[export]"`):

- "saved_model": a TensorFlow SavedModel directory with a `serve` endpoint;
- "onnx": a `.onnx` file (needs `tf2onnx`; float32 models only, ONNX Runtime
  to verify);
- "litert": a `.tflite` flatbuffer (TensorFlow's converter; verified with
  `ai-edge-litert`'s interpreter, or `tf.lite.Interpreter` without it). The
  batch size is fixed (`batch_size`, default 1); float32 models only;
- "openvino": a directory with OpenVINO's `model.xml` and `model.bin` (the `[openvino]` extra; Keras'
  own OpenVINO export, `keras_alexnet.openvino_model`), float32 weights, or with `precision="int8"`
  NNCF's post-training quantization on `calibration` images. float32 is checked like the other formats;
  int8 by its agreement with the float32 model on the calibration images (top-1 at least
  `min_agreement`, and the mean KL divergence and logit cosine reported, `keras_alexnet.agreement`).
  OpenVINO chooses bf16 itself at compile time on CPUs with AMX/AVX512-BF16.

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
FORMATS = {"saved_model": "tf_saved_model", "onnx": "onnx", "litert": "litert", "openvino": "openvino"}
#: The file suffix each format gets when the path has none ("" for a directory).
SUFFIXES = {"saved_model": "", "onnx": ".onnx", "litert": ".tflite", "openvino": ""}
#: The formats written as a directory (with `EXPORT_MARKER` inside).
DIRECTORY_FORMATS = ("saved_model", "openvino")
#: The OpenVINO IR inside an "openvino" export directory (its weights: the same name with `.bin`).
OPENVINO_XML = "model.xml"
#: The precisions `export_model` takes: float32 everywhere, int8 (NNCF) for "openvino".
EXPORT_PRECISIONS = {"fp32": tuple(FORMATS), "int8": ("openvino",)}
#: The default lowest top-1 agreement of an int8 export with the float32 model on its calibration images.
MIN_INT8_AGREEMENT = 0.95
#: The marker file inside an exported directory (SavedModel, OpenVINO): what a later export may replace.
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

    A SavedModel or OpenVINO directory carries `EXPORT_MARKER`; an `.onnx` file is an ONNX
    protobuf (it starts with the `ir_version` field) and a `.tflite` file a
    LiteRT flatbuffer (`TFL3` at byte 4).
    """
    path = Path(path)
    if format in DIRECTORY_FORMATS:
        return (path / EXPORT_MARKER).is_file() and _marker_format(path) in (format, None)
    if not path.is_file() or path.suffix != SUFFIXES[format]:
        return False
    with open(path, "rb") as file:
        head = file.read(8)
    return head[:1] == b"\x08" if format == "onnx" else head[4:8] == b"TFL3"


def export_record(path: str | os.PathLike) -> dict:
    """The marker an export directory carries: format, versions, precision, and an int8 export's agreement."""
    return json.loads((Path(path) / EXPORT_MARKER).read_text(encoding="utf-8"))


def _marker_format(path: Path) -> str | None:
    """The format an export directory's marker names (None: a marker older than the field, a SavedModel)."""
    try:
        return json.loads((path / EXPORT_MARKER).read_text(encoding="utf-8")).get("format")
    except (OSError, ValueError, AttributeError):
        return "unreadable"


def check_export_path(path: str | os.PathLike, format: str, *, overwrite: bool = False) -> Path:
    """`default_path(path, format)`, after checking that an export may be written there (`check_output`)."""
    path = default_path(path, format)
    check_output(path, *_export_kind(format), overwrite=overwrite, directory=format in DIRECTORY_FORMATS)
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
    if format == "openvino" and compute_dtypes - {"float32"}:
        raise ValueError(
            "OpenVINO export takes a float32 model: OpenVINO itself runs it in bf16 on CPUs with AMX/AVX512-BF16 "
            "(its INFERENCE_PRECISION_HINT), and int8 is `precision='int8'` with calibration images. Build the "
            f"model with dtype=None or 'float32'. Received: a model computing in {sorted(compute_dtypes)}"
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
    precision: str = "fp32",
    calibration=None,
    min_agreement: float = MIN_INT8_AGREEMENT,
) -> Path:
    """Export `model` to `path` in `format` and check the artifact's predictions against Keras'.

    Args:
        model: a built Keras model with one fixed-size input.
        path: the output directory ("saved_model", "openvino") or file ("onnx",
            "litert"; the suffix is added when missing).
        format: "saved_model", "onnx", "litert" or "openvino".
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
        precision: "fp32", or "int8" with format="openvino" (NNCF on `calibration`).
        calibration: preprocessed images (N, H, W, 3) for int8: the quantization ranges and the check.
        min_agreement: int8: the lowest top-1 agreement with the float32 model on `calibration` accepted.

    Returns:
        The path written.
    """
    import tensorflow as tf

    _check_format(format)
    check_backend(format)
    _check_precision(format, precision, calibration)
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
            elif format == "openvino":
                _export_openvino(model, staging, precision, calibration)
            else:
                model.export(str(staging), format=FORMATS[format], input_signature=signature, verbose=verbose)
        checked = None
        if verify and precision == "int8":
            checked = verify_int8_export(model, staging, format, calibration, min_agreement=min_agreement)
        elif verify:
            verify_export(model, staging, format, batch_size=batch_size or 2, atol=atol, rtol=rtol)
        if format in DIRECTORY_FORMATS:
            marker = {"format": format, "keras_alexnet": __version__, "model": model.name, "precision": precision}
            if checked is not None:  # how the int8 artifact agreed with float32 (read by `export_record`)
                marker["int8_agreement"] = {**checked, "calibration_images": len(calibration)}
            (staging / EXPORT_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        apply_umask(staging)
        publish(staging, path, *_export_kind(format), overwrite=overwrite)
    return path


def _check_precision(format: str, precision: str, calibration) -> None:
    if precision not in EXPORT_PRECISIONS:
        raise ValueError(f"`precision` must be one of {sorted(EXPORT_PRECISIONS)}. Received: precision={precision!r}")
    if format not in EXPORT_PRECISIONS[precision]:
        raise ValueError(
            f"precision={precision!r} exports as {EXPORT_PRECISIONS[precision]} (int8 is OpenVINO + NNCF; the other "
            f"formats have their own quantization tools). Received: format={format!r}"
        )
    if precision == "int8" and (calibration is None or len(calibration) == 0):
        raise ValueError(
            "precision='int8' needs `calibration`: a few hundred preprocessed images (N, H, W, 3) like those the "
            "model will see, for NNCF's quantization ranges and the agreement check. Received: calibration=None"
        )
    if precision == "fp32" and calibration is not None:
        raise ValueError("`calibration` is for precision='int8'. Received: calibration with precision='fp32'")


def _export_openvino(model: keras.Model, directory: Path, precision: str, calibration) -> None:
    """`model` (int8: quantized by NNCF) as `directory/model.xml` + `model.bin`, float32 weights kept."""
    ov = require("openvino", "openvino", "Exporting to OpenVINO")
    from keras_alexnet.openvino_model import to_openvino

    directory.mkdir()
    ov.save_model(to_openvino(model, precision, calibration), str(directory / OPENVINO_XML), compress_to_fp16=False)


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
    if format == "openvino":
        ov = require("openvino", "openvino", "Running an OpenVINO export")
        # f32: the check compares the artifact, not OpenVINO's bf16 choice on AMX/AVX512-BF16 CPUs.
        compiled = ov.Core().compile_model(str(path / OPENVINO_XML), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        return lambda x: np.asarray(compiled(np.asarray(x, "float32"))[0])
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


def verify_int8_export(
    model: keras.Model, path: str | os.PathLike, format: str, calibration, *, min_agreement: float = MIN_INT8_AGREEMENT
) -> dict[str, float | None]:
    """The int8 artifact's agreement with `model` on `calibration` (`keras_alexnet.agreement.agreement`).

    Raises `ExportMismatchError` where the top-1 agreement is below `min_agreement`, or where a feature
    extractor's (no top) mean cosine similarity is below `min_agreement`.
    """
    from keras_alexnet.agreement import agreement
    from keras_alexnet.models.build import has_top

    images = np.asarray(calibration, "float32")
    measured = agreement(model.predict(images, verbose=0), load_exported(path, format)(images))
    key = "top1" if has_top(model) else "cosine"
    if measured[key] < min_agreement:
        raise ExportMismatchError(
            f"The int8 {format} export agrees with the float32 model on {measured[key]:.1%} of {len(images)} "
            f"calibration images ({key}; at least {min_agreement:.0%} needed); the artifact was not written. Give "
            "more, or more typical, calibration images"
        )
    return measured
