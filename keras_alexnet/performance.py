"""Speed settings for keras_alexnet: dtype policies, thread counts, compiled prediction.

What was measured (2-core AMD EPYC Zen 4, TF 2.21, batch 64, "original"
network with LRN; numbers in docs/performance.md):

- a `tf.function` *without* XLA (`jit_compile=False`) is the fastest way to
  run inference: XLA's CPU convolutions are slower than oneDNN's here, and
  `model.predict` adds per-batch overhead;
- the "mixed_bfloat16" policy runs the convolutions through oneDNN's
  AVX512-BF16 kernels, much faster than float32 on CPUs that have them
  (`cpu_supports_bf16()`), and slower on CPUs that do not.

Example:

>>> import numpy as np, keras_alexnet
>>> from keras_alexnet.performance import compiled_predict
>>> model = keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3))
>>> predict = compiled_predict(model)
>>> predict(np.zeros((2, 67, 67, 3), "float32")).shape
(2, 1, 1, 256)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

# Keras is imported inside the functions, so that the CLI can read DTYPE_CHOICES without loading TensorFlow.

#: Dtype policy names accepted by `AlexNet(dtype=...)` and the CLI's `--dtype`.
DTYPE_CHOICES = ("float32", "mixed_bfloat16", "bfloat16", "mixed_float16", "float16")


def resolve_dtype_policy(dtype) -> keras.DTypePolicy:
    """Return the Keras `DTypePolicy` for a policy name (or policy), with a helpful error."""
    import keras

    if isinstance(dtype, keras.DTypePolicy):
        return dtype
    if not isinstance(dtype, str) or dtype not in DTYPE_CHOICES:
        raise ValueError(
            f"`dtype` must be a dtype policy name, one of {DTYPE_CHOICES} (e.g. 'mixed_bfloat16' for fast "
            f"inference on CPUs with AVX512-BF16 or AMX), or a keras.DTypePolicy. Received: dtype={dtype!r}"
        )
    return keras.dtype_policies.get(dtype)


@contextlib.contextmanager
def dtype_policy_scope(dtype) -> Iterator[keras.DTypePolicy]:
    """Build layers under the dtype policy `dtype`, restoring the previous global policy afterwards.

    Example:

    >>> import keras
    >>> from keras_alexnet.performance import dtype_policy_scope
    >>> with dtype_policy_scope("mixed_bfloat16"):
    ...     layer = keras.layers.Dense(2)
    >>> layer.compute_dtype, keras.config.dtype_policy().name
    ('bfloat16', 'float32')
    """
    import keras

    policy = resolve_dtype_policy(dtype)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield policy
    finally:
        keras.config.set_dtype_policy(previous)


def output_layer_dtype() -> str | None:
    """Dtype for the classifier layer: float32 whenever the global policy computes in lower precision.

    Keeps the softmax (and the logits) in float32 under mixed precision, as
    the Keras mixed-precision guide recommends; None (the global policy)
    otherwise.
    """
    import keras

    return "float32" if keras.config.dtype_policy().compute_dtype in ("bfloat16", "float16") else None


def cpu_supports_bf16() -> bool:
    """Whether this x86 CPU has native bfloat16 dot products (AVX512_BF16 or AMX-BF16)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def configure_threads(intra_op: int | None = None, inter_op: int | None = None) -> None:
    """Set TensorFlow's intra-op / inter-op thread pools (call before running any op).

    None keeps TensorFlow's default (one thread per core). On the 2-core
    machine this was developed on, the comparison (`python -m benchmarks.run
    --sections threads`) was dominated by other users' load, so the defaults
    are kept; this is for sharing a machine (e.g. `intra_op=1` per process).
    """
    import tensorflow as tf

    for name, value in (("intra_op", intra_op), ("inter_op", inter_op)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ValueError(f"`{name}` must be a positive integer or None. Received: {name}={value!r}")
    try:
        if intra_op is not None:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        if inter_op is not None:
            tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError as error:
        raise RuntimeError(
            "Thread pools can only be configured before TensorFlow runs its first op; call "
            f"configure_threads() at the start of the program. ({error})"
        ) from error


def compiled_predict(
    model: keras.Model, *, jit_compile: bool = False, training: bool = False
) -> Callable[[np.ndarray], np.ndarray]:
    """A NumPy-in, NumPy-out `tf.function` around `model` (TensorFlow backend).

    The input signature has a free batch dimension, so every batch size uses
    one trace. Outputs are returned as float32 NumPy arrays.

    Args:
        model: a Keras model with one input.
        jit_compile: compile with XLA. Slower for AlexNet on CPU (see module
            docstring); kept as an option for other hardware.
        training: run dropout (for timing a training-mode forward pass).
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "compiled_predict needs the TensorFlow backend; with other backends use model.predict. "
            f"Received: backend={keras.backend.backend()!r}"
        )
    import tensorflow as tf

    spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), "float32")

    @tf.function(input_signature=[spec], jit_compile=jit_compile)
    def forward(x):
        return tf.cast(model(x, training=training), "float32")

    def predict(x: np.ndarray) -> np.ndarray:
        return forward(tf.convert_to_tensor(np.asarray(x, "float32"))).numpy()

    predict.concrete_function = forward  # type: ignore[attr-defined]
    return predict


def __getattr__(name: str):
    """`fast_predictor`, `FastPredictor` (from `keras_alexnet.fast_predictor`, imported on first use: needs Keras)."""
    if name in ("fast_predictor", "FastPredictor"):
        import importlib

        # A re-export on first use: fast_predictor builds on this module, not the other way round.
        return getattr(importlib.import_module("keras_alexnet.fast_predictor"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
