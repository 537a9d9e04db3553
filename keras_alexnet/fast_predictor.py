"""The fastest way to run a Keras AlexNet on this CPU: `fast_predictor(model, precision, runtime)`.

A `FastPredictor` takes a preprocessed NHWC float32 batch and returns the model's outputs, the contract of
`model.predict`. Runtimes:

- "tensorflow": a `tf.function` without XLA (oneDNN's convolutions; `performance.compiled_predict`); bf16 runs a
  copy of the model under the "mixed_bfloat16" policy (the classifier stays float32).
- "openvino" (the `[openvino]` extra): the model through Keras' own `model.export(format="openvino")`, compiled
  for the CPU with OpenVINO's THROUGHPUT hint and the precision as its inference-precision hint, run with an
  async request queue (OpenVINO's recommended setup); int8 is NNCF post-training quantization on `calibration`.
- "auto": each runtime that offers the precision is built and timed on `batch_size` images; the fastest is
  kept (`FastPredictor.measurements` holds the images/s of each).

int8 needs `calibration` (a few hundred preprocessed images) and reports `agreement`, the top-1 agreement of
its outputs with the float32 model's on those images, and `agreement_metrics` (top-1, mean KL, logit cosine).

Example:

>>> import numpy as np, keras_alexnet
>>> from keras_alexnet.fast_predictor import fast_predictor
>>> model = keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3), pooling="avg")
>>> predictor = fast_predictor(model, precision="fp32", runtime="tensorflow", batch_size=4)
>>> predictor.predict(np.zeros((6, 67, 67, 3), "float32")).shape
(6, 256)
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import time
from collections.abc import Callable

import keras
import numpy as np

PRECISIONS = ("fp32", "bf16", "int8")
RUNTIMES = ("auto", "tensorflow", "openvino")
#: The runtimes that offer each precision, in the order "auto" tries them.
RUNTIMES_FOR = {"fp32": ("tensorflow", "openvino"), "bf16": ("tensorflow", "openvino"), "int8": ("openvino",)}
#: OpenVINO's inference-precision hint for each precision (int8: the layers NNCF left in float run in f32).
OPENVINO_PRECISION_HINT = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}


@dataclasses.dataclass
class FastPredictor:
    """`predict(x)`: NHWC float32 batch in, the model's outputs (float32) out, `batch_size` images at a time."""

    runtime: str
    precision: str
    batch_size: int
    input_shape: tuple[int, ...]
    run: Callable[[np.ndarray], np.ndarray] = dataclasses.field(repr=False)
    #: int8: top-1 agreement with the float32 model on the calibration images.
    agreement: float | None = None
    #: int8: `keras_alexnet.agreement.agreement` on those images (top1, mean_kl, cosine).
    agreement_metrics: dict[str, float | None] = dataclasses.field(default_factory=dict)
    #: "auto": images/s of each runtime tried, measured when the predictor was made.
    measurements: dict[str, float] = dataclasses.field(default_factory=dict)
    #: What the runtime really computes in: OpenVINO's compiled inference precision ("f32" where the CPU has no
    #: bf16), or for TensorFlow bf16 whether oneDNN has native bf16 (AVX512-BF16 / AMX) or emulates it.
    inference_precision: str = ""
    #: The shape of one output (what an empty batch returns `(0, *output_shape)` of).
    output_shape: tuple[int, ...] = ()

    def predict(self, x) -> np.ndarray:
        """The model's outputs for `x` (N, H, W, 3), computed `batch_size` images at a time."""
        x = np.asarray(x, dtype="float32")
        if x.ndim != 4 or tuple(x.shape[1:]) != self.input_shape:
            expected = ", ".join(map(str, self.input_shape))
            raise ValueError(
                f"FastPredictor.predict takes a preprocessed batch of shape (N, {expected}) (NHWC float32, as "
                f"model.predict). Received: shape {x.shape}"
            )
        parts = [self.run(x[start : start + self.batch_size]) for start in range(0, len(x), self.batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, *self.output_shape), "float32")


def fast_predictor(
    model: keras.Model,
    precision: str = "fp32",
    runtime: str = "auto",
    calibration=None,
    batch_size: int = 64,
) -> FastPredictor:
    """The fastest measured way to run `model` on this CPU at `precision` ("fp32", "bf16" or "int8").

    Args:
        model: a Keras model with one NHWC input (an AlexNet); TensorFlow backend.
        precision: "fp32", "bf16" or "int8" (int8: OpenVINO + NNCF, needs `calibration`).
        runtime: "auto" (the fastest of those offering `precision`, measured now), "tensorflow" or "openvino".
        calibration: preprocessed images (N, H, W, 3) for int8 quantization and its agreement report.
        batch_size: images per call of the runtime.
    """
    _check_arguments(model, precision, runtime, calibration, batch_size)
    input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    candidates = RUNTIMES_FOR[precision] if runtime == "auto" else (runtime,)
    if runtime == "auto":
        candidates = tuple(name for name in candidates if name == "tensorflow" or openvino_available())
    built = {name: _build(name, model, precision, calibration, batch_size, input_shape) for name in candidates}
    measurements = {}
    if len(built) > 1:
        probe = np.random.RandomState(0).normal(size=(batch_size, *input_shape)).astype("float32")
        measurements = {name: _images_per_second(predictor, probe) for name, predictor in built.items()}
    best = max(built, key=lambda name: measurements.get(name, 0.0))
    predictor = built[best]
    predictor.measurements = measurements
    if precision == "int8":
        predictor.agreement_metrics = agreement_with_fp32(model, predictor, calibration)
        predictor.agreement = predictor.agreement_metrics["top1"]
    return predictor


def openvino_available() -> bool:
    """Whether OpenVINO (and NNCF for int8) can be imported: the `[openvino]` extra."""
    return importlib.util.find_spec("openvino") is not None


def agreement_with_fp32(model: keras.Model, predictor: FastPredictor, images) -> dict[str, float | None]:
    """`keras_alexnet.agreement.agreement` of `predictor`'s outputs with the float32 `model`'s on `images`."""
    from keras_alexnet.agreement import agreement

    images = np.asarray(images, "float32")
    reference = model.predict(images, batch_size=predictor.batch_size, verbose=0)
    return agreement(reference, predictor.predict(images))


def _check_arguments(model, precision, runtime, calibration, batch_size) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}. Received: precision={precision!r}")
    if runtime not in RUNTIMES:
        raise ValueError(f"`runtime` must be one of {RUNTIMES}. Received: runtime={runtime!r}")
    if runtime != "auto" and runtime not in RUNTIMES_FOR[precision]:
        raise ValueError(
            f"precision={precision!r} runs on {RUNTIMES_FOR[precision]} (Keras' own int8 covers Dense layers only "
            f"and is slower than float32 on CPU; int8 goes through OpenVINO/NNCF). Received: runtime={runtime!r}"
        )
    if runtime == "openvino" or precision == "int8":
        from keras_alexnet.errors import require

        require("openvino", "openvino", f"fast_predictor(runtime='openvino', precision={precision!r})")
        if precision == "int8":
            require("nncf", "openvino", "int8 quantization (NNCF)")
    if precision == "int8" and (calibration is None or len(calibration) == 0):
        raise ValueError(
            "precision='int8' needs `calibration`: a few hundred preprocessed images (N, H, W, 3) like those it "
            "will see, for NNCF's quantization ranges and the agreement report. Received: calibration=None"
        )
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "fast_predictor builds from a TensorFlow-backend Keras model (Keras' OpenVINO export traces it with "
            f"TensorFlow). Received: backend={keras.backend.backend()!r}"
        )


def _build(runtime, model, precision, calibration, batch_size, input_shape) -> FastPredictor:
    if runtime == "tensorflow":
        from keras_alexnet.performance import cpu_supports_bf16

        run = _tensorflow_run(model, precision)
        executes = "float32" if precision == "fp32" else "bfloat16" + ("" if cpu_supports_bf16() else " (emulated)")
    else:
        run, executes = _openvino_run(model, precision, calibration)
    output_shape = tuple(int(d) for d in model.outputs[0].shape[1:])
    return FastPredictor(
        runtime, precision, batch_size, input_shape, run, inference_precision=executes, output_shape=output_shape
    )


def _images_per_second(predictor: FastPredictor, probe: np.ndarray, repeats: int = 3) -> float:
    predictor.predict(probe)  # warm-up: compilation, first allocations
    start = time.perf_counter()
    for _ in range(repeats):
        predictor.predict(probe)
    return repeats * len(probe) / (time.perf_counter() - start)


def _tensorflow_run(model: keras.Model, precision: str) -> Callable[[np.ndarray], np.ndarray]:
    from keras_alexnet.performance import compiled_predict

    return compiled_predict(model if precision == "fp32" else in_policy(model, "mixed_bfloat16"))


def in_policy(model: keras.Model, policy: str) -> keras.Model:
    """A copy of `model` whose layers compute under the dtype policy `policy` (the output layer stays float32)."""
    from keras_alexnet.performance import dtype_policy_scope

    config = model.get_config()
    outputs = config.get("output_layers") or []
    outputs = [outputs] if outputs and isinstance(outputs[0], str) else outputs  # one output: [name, node, tensor]
    output_names = {output[0] for output in outputs}
    for layer in config.get("layers", []):
        if (
            layer["class_name"] != "InputLayer"  # its dtype is the input's, not a policy
            and layer["config"].get("dtype") is not None
            and layer["config"].get("name") not in output_names
        ):
            layer["config"]["dtype"] = policy
    with dtype_policy_scope(policy):
        copy = model.__class__.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def _openvino_run(model: keras.Model, precision: str, calibration) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    import openvino as ov

    from keras_alexnet.openvino_model import to_openvino

    ov_model = to_openvino(model, "int8" if precision == "int8" else "fp32", calibration)
    from keras_alexnet.cpus import affinity_cpus, usable_cpus

    config = {"PERFORMANCE_HINT": "THROUGHPUT", "INFERENCE_PRECISION_HINT": OPENVINO_PRECISION_HINT[precision]}
    if usable_cpus() < affinity_cpus():  # a cgroup CPU quota OpenVINO would not see
        config["INFERENCE_NUM_THREADS"] = usable_cpus()
    compiled = ov.Core().compile_model(ov_model, "CPU", config)
    requests = max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
    queue = ov.AsyncInferQueue(compiled, requests)

    def run(x: np.ndarray) -> np.ndarray:
        chunk = math.ceil(len(x) / requests)
        starts = list(range(0, len(x), chunk))
        results: list = [None] * len(starts)

        def done(request, index):
            results[index] = request.get_output_tensor(0).data.copy()

        queue.set_callback(done)
        for index, start in enumerate(starts):
            queue.start_async({0: np.ascontiguousarray(x[start : start + chunk])}, userdata=index)
        queue.wait_all()
        return np.concatenate(results).astype("float32", copy=False)

    hint = compiled.get_property("INFERENCE_PRECISION_HINT")  # an ov.Type: "f32", "bf16", "f16"
    executes = getattr(hint, "get_type_name", lambda: str(hint))() + (" + int8" if precision == "int8" else "")
    return run, executes
