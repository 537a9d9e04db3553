"""Keras' own `model.export` of both variants in every format, each artifact run in its own runtime.

No keras_alexnet code is involved after the model is built: `model.export(...)` is Keras', and the artifacts are
loaded with TensorFlow, ONNX Runtime, the LiteRT interpreter (ai-edge-litert) and OpenVINO's Core, then compared
with the Keras model's predictions (within 1e-4 of the largest output). The models are the feature extractors at
67x67 (every LRN and two-tower layer of "original"); each (variant, format) is exported once per session.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import keras_alexnet

VARIANTS = ("original", "torchvision")
#: Keras' format name -> the file name the artifact gets.
FORMATS = {"tf_saved_model": "saved_model", "onnx": "model.onnx", "litert": "model.tflite", "openvino": "model.xml"}
SIZE = 67
RTOL = 1e-4


@pytest.fixture(scope="session")
def models():
    return {
        variant: keras_alexnet.AlexNet(include_top=False, input_shape=(SIZE, SIZE, 3), variant=variant)
        for variant in VARIANTS
    }


@pytest.fixture(scope="session")
def exported(models, tmp_path_factory):
    """(variant, format) -> (path, seconds Keras' export took), exported on first use."""
    root = tmp_path_factory.mktemp("keras_export")
    cache = {}

    def get(variant: str, format: str):
        if (variant, format) not in cache:
            path = root / f"{variant}_{FORMATS[format]}"
            start = time.perf_counter()
            models[variant].export(str(path), format=format, verbose=False)
            cache[variant, format] = path, time.perf_counter() - start
        return cache[variant, format]

    return get


def run_in_runtime(path, format: str, x: np.ndarray) -> np.ndarray:
    """The artifact's output for `x`, computed by the format's own runtime (no Keras)."""
    if format == "tf_saved_model":
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))  # kept: its variables die with it
        return loaded.serve(tf.constant(x)).numpy()
    if format == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {session.get_inputs()[0].name: x})[0]
    if format == "litert":
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(path))
        detail = interpreter.get_input_details()[0]
        interpreter.resize_tensor_input(detail["index"], x.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(detail["index"], x)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    import openvino as ov

    # OpenVINO's CPU plugin computes in bfloat16 by default on CPUs that have it (5e-3 off here): ask for f32.
    compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return np.asarray(compiled(x)[0])


def assert_matches(actual: np.ndarray, expected: np.ndarray) -> None:
    scale = float(np.abs(expected).max())
    assert scale > 1e-2  # not two all-zero outputs
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=RTOL * scale)


@pytest.mark.parametrize("format", list(FORMATS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_model_export_runs_in_its_own_runtime(models, exported, variant, format):
    pytest.importorskip({"tf_saved_model": "tensorflow", "onnx": "onnxruntime", "litert": "ai_edge_litert",
                         "openvino": "openvino"}[format])  # fmt: skip
    if format == "onnx":
        pytest.importorskip("tf2onnx")
    path, seconds = exported(variant, format)
    x = np.random.default_rng(7).uniform(-120, 130, (2, SIZE, SIZE, 3)).astype("float32")
    expected = np.asarray(models[variant](x))
    assert_matches(run_in_runtime(path, format, x), expected)
    print(f"{variant} {format}: Keras' export {seconds:.1f} s")


def test_saved_model_and_onnx_carry_no_xla_call(exported):
    """The LRN's XLA function is traced as TensorFlow's LRN op: no `_XlaMustCompile`, no function-call node, and
    ONNX's own LRN (one per LRN layer) in the exported graph."""
    pytest.importorskip("tf2onnx")
    import onnx

    saved_model, _ = exported("original", "tf_saved_model")
    assert b"_XlaMustCompile" not in (saved_model / "saved_model.pb").read_bytes()
    onnx_path, _ = exported("original", "onnx")
    op_types = [node.op_type for node in onnx.load(str(onnx_path)).graph.node]
    assert op_types.count("LRN") == 2 and not set(op_types) & {"PartitionedCall", "StatefulPartitionedCall"}, op_types


def test_openvino_export_maps_the_lrn_to_openvinos_own(exported):
    """OpenVINO gets two LRN ops and no slice/transpose chain (the shifted slices ran as 14 transposes, 0.66x)."""
    pytest.importorskip("openvino")
    import openvino as ov

    path, _ = exported("original", "openvino")
    op_types = [op.get_type_name() for op in ov.Core().read_model(str(path)).get_ops()]
    assert op_types.count("LRN") == 2, op_types
    assert "StridedSlice" not in op_types and op_types.count("Transpose") <= 2, op_types


def test_the_xla_path_is_still_used_outside_export(models):
    """Export's plain ops do not cost the fast path: a traced prediction still calls the XLA-compiled LRN."""
    import tensorflow as tf

    model = models["original"]
    graph = tf.function(model).get_concrete_function(tf.TensorSpec((1, SIZE, SIZE, 3))).graph
    assert any(op.type in ("PartitionedCall", "StatefulPartitionedCall") for op in graph.get_operations())


@pytest.mark.slow
@pytest.mark.parametrize("format", ["tf_saved_model", "openvino"])
def test_full_size_classifier(tmp_path, format):
    """The whole "original" classifier at 227x227 (the cheap formats: 2-3 s each; ONNX takes ~75 s, LiteRT ~11 s)."""
    pytest.importorskip({"tf_saved_model": "tensorflow", "openvino": "openvino"}[format])
    model = keras_alexnet.AlexNet()
    x = np.random.default_rng(3).uniform(-120, 130, (1, 227, 227, 3)).astype("float32")
    expected = np.asarray(model(x))
    path = tmp_path / FORMATS[format]
    model.export(str(path), format=format, verbose=False)
    actual = run_in_runtime(path, format, x)
    assert_matches(actual * 1000, expected * 1000)  # softmax outputs: scaled so that the > 1e-2 guard applies
    assert actual.argmax() == expected.argmax()


@pytest.mark.parametrize("variant", VARIANTS)
def test_onnx_export_of_a_model_never_called(tmp_path, variant):
    """Keras refuses ONNX export of a functional model that was never called; AlexNet's own input is the signature."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    model = keras_alexnet.AlexNet(include_top=False, input_shape=(SIZE, SIZE, 3), variant=variant)
    assert not model._called  # the case Keras refuses
    path = tmp_path / "fresh.onnx"
    model.export(str(path), format="onnx", verbose=False)
    x = np.random.default_rng(11).uniform(-120, 130, (2, SIZE, SIZE, 3)).astype("float32")
    assert_matches(run_in_runtime(path, "onnx", x), np.asarray(model(x)))
