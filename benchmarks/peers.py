"""The same AlexNet, with the same weights, in Keras, PyTorch eager and ONNX Runtime.

One set of random weights in the BVLC layout (`random_bvlc_weights`, OIHW
kernels) is the source of truth: ONNX Runtime runs the BVLC-like ONNX graph
built from it (`build_bvlc_like_onnx`, the structure of the ONNX model zoo's
AlexNet: grouped convs, LRN with k=1 and averaging), PyTorch runs an eager
`nn.Sequential` with the same layers, and Keras runs `keras_alexnet.AlexNet`
with the weights put in Keras' layout by the converters' own reordering
(`keras_alexnet.convert.assemble.keras_layer_weights`). `check_outputs`
compares the three before anything is timed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from keras_alexnet.convert.verify_networks import build_bvlc_like_onnx

# The random weights are test scaffolding, outside the package: tests/fixtures/reference_models.py.
_TESTS = str(Path(__file__).resolve().parents[1] / "tests")
if _TESTS not in sys.path:
    sys.path.append(_TESTS)
from fixtures.reference_models import random_bvlc_weights  # noqa: E402

INPUT_SIZE = 227


def bvlc_weights(seed: int = 0) -> dict[str, np.ndarray]:
    return random_bvlc_weights(seed)


def sample_input(batch: int, seed: int = 1) -> np.ndarray:
    """A channels-last float32 batch in the range of Caffe-preprocessed images."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(0, 255, (batch, INPUT_SIZE, INPUT_SIZE, 3)) - 117.0).astype("float32")


def to_nchw(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


# --------------------------------------------------------------------------- Keras
def _keras_weights_from_bvlc(weights: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Layer name -> [kernel, bias] in Keras' layout, by the converters' one reordering function."""
    from keras_alexnet.convert.assemble import keras_layer_weights
    from keras_alexnet.models.config import get_variant

    convs = [(weights[f"conv{i}_w"], weights[f"conv{i}_b"]) for i in range(1, 6)]
    denses = [(weights[f"fc{i}_w"], weights[f"fc{i}_b"]) for i in (6, 7, 8)]
    return keras_layer_weights(get_variant("original"), convs, denses)


def keras_model(
    weights: dict[str, np.ndarray],
    *,
    dtype: str | None = None,
    conv_implementation: str = "auto",
    classifier_activation: str | None = "softmax",
):
    """keras_alexnet's "original" AlexNet with the BVLC LRN constants and `weights`."""
    import keras_alexnet
    from keras_alexnet.models.variants import CAFFE_LRN

    model = keras_alexnet.AlexNet(
        weights=None,
        variant="original",
        lrn=CAFFE_LRN,
        dtype=dtype,
        conv_implementation=conv_implementation,
        classifier_activation=classifier_activation,
    )
    for name, values in _keras_weights_from_bvlc(weights).items():
        model.get_layer(name).set_weights([np.asarray(v, "float32") for v in values])
    return model


# --------------------------------------------------------------------------- PyTorch
def torch_model(weights: dict[str, np.ndarray]):
    """The BVLC network as a PyTorch eager `nn.Sequential` (NCHW), in eval mode."""
    import torch
    from torch import nn

    lrn = dict(size=5, alpha=1e-4, beta=0.75, k=1.0)
    model = nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4),
        nn.ReLU(inplace=True),
        nn.LocalResponseNorm(**lrn),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=2),
        nn.ReLU(inplace=True),
        nn.LocalResponseNorm(**lrn),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 384, 3, padding=1, groups=2),
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1, groups=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2),
        nn.Flatten(),
        nn.Linear(9216, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(4096, 4096),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(4096, 1000),
    )
    layers = [m for m in model if isinstance(m, nn.Conv2d | nn.Linear)]
    names = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")
    with torch.no_grad():
        for layer, name in zip(layers, names, strict=True):
            layer.weight.copy_(torch.from_numpy(weights[f"{name}_w"]))
            layer.bias.copy_(torch.from_numpy(weights[f"{name}_b"]))
    return model.eval()


def torch_predict(model, x_nchw: np.ndarray, *, bf16: bool = False) -> np.ndarray:
    """Softmax outputs of `model`; `bf16`: under CPU autocast to bfloat16 (PyTorch's documented mixed precision)."""
    import torch

    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        return torch.softmax(model(torch.from_numpy(x_nchw)).float(), dim=1).numpy()


def torch_compiled(model):
    """`torch.compile(model)` (Inductor, the default mode), what PyTorch's docs tell a user to try for speed."""
    import torch

    return torch.compile(model)


# --------------------------------------------------------------------------- ONNX Runtime
def ort_session(weights: dict[str, np.ndarray]):
    """An ONNX Runtime CPU session of the BVLC-like graph (default session options, all optimisations)."""
    import onnxruntime as ort

    model = build_bvlc_like_onnx(weights)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def ort_int8_session(weights: dict[str, np.ndarray], calibration_nchw: np.ndarray):
    """ONNX Runtime on the graph statically quantized to int8 (QDQ, per-channel weights; `quantize_static` with
    a calibration reader over `calibration_nchw`), as ONNX Runtime's quantization guide sets it up for CPUs."""
    import tempfile

    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"data_0": calibration_nchw[i : i + 1]} for i in range(len(calibration_nchw))])

        def get_next(self):
            return next(self.items, None)

    with tempfile.TemporaryDirectory() as tmp:
        source, prepared, quantized = f"{tmp}/fp32.onnx", f"{tmp}/prep.onnx", f"{tmp}/int8.onnx"
        import onnx
        from onnx import version_converter

        graph = build_bvlc_like_onnx(weights)
        opset = max(entry.version for entry in graph.opset_import if entry.domain in ("", "ai.onnx"))
        # Per-channel QDQ needs DequantizeLinear's `axis` (opset 13): the model zoo's graph is older.
        onnx.save(graph if opset >= 13 else version_converter.convert_version(graph, 13), source)
        quant_pre_process(source, prepared)
        quantize_static(
            prepared,
            quantized,
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        return ort.InferenceSession(quantized, providers=["CPUExecutionProvider"])


def ort_predict(session, x_nchw: np.ndarray) -> np.ndarray:
    return session.run(None, {"data_0": x_nchw})[0]


# --------------------------------------------------------------------------- check
def check_outputs(outputs: dict[str, np.ndarray], reference: str, *, atol: float = 1e-4) -> dict[str, float]:
    """Max absolute difference of every output from `reference`'s; raises if above `atol` or top-1 differs."""
    ref = outputs[reference]
    report = {}
    for name, out in outputs.items():
        diff = float(np.max(np.abs(out - ref)))
        report[name] = diff
        if diff > atol or not np.array_equal(out.argmax(-1), ref.argmax(-1)):
            raise RuntimeError(
                f"{name} disagrees with {reference} before timing: max |diff| = {diff:.3g} (tolerance {atol})"
            )
    return report


# --------------------------------------------------------------------------- OpenVINO (a peer: the same ONNX graph)
def write_onnx(weights: dict[str, np.ndarray], path) -> str:
    """The BVLC-like ONNX graph ONNX Runtime runs, as a file (what OpenVINO and `benchmark_app` read)."""
    import onnx

    onnx.save(build_bvlc_like_onnx(weights), str(path))
    return str(path)


def openvino_predict(weights: dict[str, np.ndarray], precision: str = "default", calibration=None):
    """OpenVINO run as its docs tell a user to: THROUGHPUT hint, an async queue; `precision` "default" (OpenVINO's
    choice: bf16 on CPUs with AMX/AVX512-BF16), "f32", or "int8" (NNCF post-training quantization of the graph on
    `calibration`, NCHW). Returns (predict(x_nchw) -> outputs, the compiled inference precision)."""
    import tempfile

    import openvino as ov

    core = ov.Core()
    with tempfile.TemporaryDirectory() as tmp:
        model = core.read_model(write_onnx(weights, f"{tmp}/alexnet.onnx"))
        if precision == "int8":
            import nncf

            dataset = nncf.Dataset([calibration[i : i + 1] for i in range(len(calibration))])
            model = nncf.quantize(model, dataset, subset_size=len(calibration))
        config = {"PERFORMANCE_HINT": "THROUGHPUT"}
        if precision == "f32":
            config["INFERENCE_PRECISION_HINT"] = "f32"
        compiled = core.compile_model(model, "CPU", config)
    requests = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    queue = ov.AsyncInferQueue(compiled, requests)
    hint = compiled.get_property("INFERENCE_PRECISION_HINT")

    def predict(x_nchw: np.ndarray) -> np.ndarray:
        chunk = -(-len(x_nchw) // requests)
        starts = list(range(0, len(x_nchw), chunk))
        results: list = [None] * len(starts)
        queue.set_callback(lambda request, index: results.__setitem__(index, request.get_output_tensor(0).data.copy()))
        for index, start in enumerate(starts):
            queue.start_async({0: np.ascontiguousarray(x_nchw[start : start + chunk])}, userdata=index)
        queue.wait_all()
        return np.concatenate(results)

    return predict, getattr(hint, "get_type_name", lambda: str(hint))()


def cpu_description() -> dict:
    """The CPU's model name, the features that decide the fast paths, and the CPUs this process may use."""
    import os

    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    return {"model": model, "features": [f for f in wanted if f in flags], "usable_cpus": len(os.sched_getaffinity(0))}
