"""Local Response Normalization across channels (Krizhevsky et al. 2012, Sec. 3.3)."""

from __future__ import annotations

import functools
import math
import numbers
import warnings

import keras
import numpy as np
from keras import ops

from keras_alexnet.layers.tracing import traced_for_export as _traced_for_export

IMPLEMENTATIONS = ("auto", "xla", "banded", "generic")
#: Implementations removed from the choices, and what a saved config naming one loads as.
_REMOVED_IMPLEMENTATIONS = {"tf_native": "auto"}
#: The paper's LRN constants (Section 3.3): the layer's defaults and `keras_alexnet.models.config.PAPER_LRN`.
PAPER_CONSTANTS = {"size": 5, "k": 2.0, "alpha": 1e-4, "beta": 0.75, "average": False}


def check_lrn_constants(size, k, alpha, beta, average) -> tuple[int, float, float, float, bool]:
    """The LRN constants as (int, float, float, float, bool); ValueError naming the first bad one.

    `size` is a positive integer, `k`, `alpha` and `beta` finite non-negative numbers, `average` a bool.
    Shared by the layer and `keras_alexnet.models.LRNConfig`.
    """
    if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
        raise ValueError(f"`size` must be a positive integer. Received: size={size!r}")
    for name, value in (("k", k), ("alpha", alpha), ("beta", beta)):
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise ValueError(f"`{name}` must be a finite non-negative number. Received: {name}={value!r}")
    if not isinstance(average, bool | np.bool_):
        raise ValueError(f"`average` must be True or False. Received: average={average!r}")
    return int(size), float(k), float(alpha), float(beta), bool(average)


@keras.saving.register_keras_serializable(package="keras_alexnet")
class LocalResponseNormalization(keras.layers.Layer):
    """Local Response Normalization across channels.

    For every position and channel `c`,

        b_c = a_c / (k + alpha' * sum_{c' in W(c)} a_{c'}^2) ** beta

    where `W(c)` is a window of `size` channels around `c`, clipped at the
    first and last channel, and `alpha' = alpha` with `average=False` (the
    paper's formula) or `alpha' = alpha / size` with `average=True` (the
    convention of Caffe, PyTorch and ONNX; the BVLC model uses `k=1`). The
    window holds `(size - 1) // 2` channels before `c` and `size // 2` after
    it, as in ONNX and Caffe; for odd sizes it is centred.

    Implementations (`implementation=`), all computing the formula above; each
    is kept because it is the fastest somewhere (measured alone on norm1's and
    norm2's inputs at batch 64, 2-core Zen 4; docs/performance.md):

    - "xla": the shifted-slices sum below and `x ** -0.75` as rsqrt/sqrt, in
      one XLA-compiled function (TensorFlow backend): XLA fuses the squares,
      the window sum and the scaling into a single pass over memory. Fastest on
      TensorFlow, forward (2.6-3x "banded") and forward + backward (1.4-1.8x);
    - "banded": the window sums as one matmul of the squares with a 0/1 band
      matrix (channels x channels), and `x ** -0.75` as
      `rsqrt(x) * sqrt(rsqrt(x))`; plain `keras.ops`. Fastest on JAX (1.4-2x
      "generic" forward, 2.2x forward + backward) and on PyTorch except
      norm2's forward pass;
    - "generic": the sum of `size` shifted slices, plain `keras.ops` (pad,
      slices, adds): the portable graph every exporter and runtime takes.
      Fastest on PyTorch for norm2's forward pass (1.5x "banded");
    - "auto" (default): "xla" on TensorFlow, "banded" on JAX and PyTorch,
      "generic" elsewhere (OpenVINO).

    Whenever the layer is traced for saving or export (Keras' `model.export`
    in every format, `tf.saved_model.save`, the TFLite converter, tf2onnx,
    OpenVINO's converter) "auto" and "xla" emit TensorFlow's own `LRN` op
    instead of the XLA call where it computes the same formula (float32 NHWC,
    odd `size`; else the "generic" ops), so the exported graph needs neither
    XLA nor custom ops and each runtime maps it to its native LRN (OpenVINO
    ran the shifted slices as 14 transposes: 66 vs 97 images/s, batch 64)
    (`plain_ops()` forces the same for any other tracing). Inside an outer XLA
    compilation (`compile(jit_compile=True)`) "xla" also emits the plain ops,
    which XLA fuses there. ("tf_native", `tf.nn.local_response_normalization`,
    was removed: slower than "banded" and "xla" forward and backward; a saved
    config naming it loads as "auto" with a `DeprecationWarning`.)

    Half-precision inputs (bfloat16, float16) are normalised in float32.

    Args:
        size: number of channels in the window (the paper's `n`).
        k: additive constant (the paper's `k`, PyTorch's and ONNX's `bias`).
        alpha: scale of the sum of squares.
        beta: exponent.
        average: divide `alpha` by `size` (Caffe/PyTorch/ONNX) or not (paper).
        data_format: "channels_last" or "channels_first"; defaults to
            `keras.config.image_data_format()`.
        implementation: "auto", "xla", "banded" or "generic" (above).

    Example:

    >>> import numpy as np
    >>> from keras_alexnet.layers import LocalResponseNormalization
    >>> lrn = LocalResponseNormalization(size=5, k=2.0, alpha=1e-4, beta=0.75)
    >>> tuple(lrn(np.ones((1, 4, 4, 8), "float32")).shape)
    (1, 4, 4, 8)
    """

    def __init__(
        self,
        size: int = PAPER_CONSTANTS["size"],
        k: float = PAPER_CONSTANTS["k"],
        alpha: float = PAPER_CONSTANTS["alpha"],
        beta: float = PAPER_CONSTANTS["beta"],
        average: bool = PAPER_CONSTANTS["average"],
        data_format: str | None = None,
        implementation: str = "auto",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.size, self.k, self.alpha, self.beta, self.average = check_lrn_constants(size, k, alpha, beta, average)
        data_format = data_format or keras.config.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                f"`data_format` must be 'channels_last' or 'channels_first'. Received: data_format={data_format!r}"
            )
        self.data_format = data_format
        if implementation in _REMOVED_IMPLEMENTATIONS:
            replacement = _REMOVED_IMPLEMENTATIONS[implementation]
            warnings.warn(
                f"LocalResponseNormalization(implementation={implementation!r}) was removed (never the fastest); "
                f"using implementation={replacement!r}.",
                DeprecationWarning,
                stacklevel=2,
            )
            implementation = replacement
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"`implementation` must be one of {IMPLEMENTATIONS}. Received: implementation={implementation!r}"
            )
        self.implementation = implementation
        self.supports_masking = True

    @property
    def effective_alpha(self) -> float:
        """The factor that multiplies the plain sum of squares."""
        return self.alpha / self.size if self.average else self.alpha

    @property
    def channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    @property
    def resolved_implementation(self) -> str:
        """The implementation "auto" stands for on this backend (before the export rule of `call`)."""
        if self.implementation != "auto":
            return self.implementation
        return {"tensorflow": "xla", "jax": "banded", "torch": "banded"}.get(keras.backend.backend(), "generic")

    def call(self, inputs):
        implementation = self.resolved_implementation
        if implementation == "xla" and keras.backend.backend() == "tensorflow":
            if _inside_xla_compilation():
                # Already compiled as a whole (e.g. compile(jit_compile=True)): the plain ops fuse there, and
                # a nested jit-compiled call measured 300x slower per training step.
                return self._call_generic(inputs)
            if _traced_for_export():
                # A nested XLA call is a function node that ONNX Runtime / LiteRT / OpenVINO cannot run.
                return self._call_exportable(inputs)
            function = _xla_lrn_function(self.size, self.k, self.effective_alpha, self.beta, self.channel_axis)
            return function(inputs)
        if implementation == "banded":
            return self._call_banded(inputs)
        return self._call_generic(inputs)

    def _call_banded(self, inputs):
        rank = len(inputs.shape)
        axis = self.channel_axis % rank
        compute_dtype = _compute_dtype(inputs.dtype)
        x = ops.cast(inputs, compute_dtype)
        if axis != rank - 1:
            x = ops.moveaxis(x, axis, -1)
        channels = x.shape[-1]
        # band[c', c] = 1 when channel c' is in the window of channel c.
        offset = np.arange(channels)[:, None] - np.arange(channels)[None, :]
        band = ((offset >= -((self.size - 1) // 2)) & (offset <= self.size // 2)).astype(compute_dtype)
        base = self.k + self.effective_alpha * ops.matmul(ops.square(x), band)
        y = x * _negative_power(base, self.beta)
        if axis != rank - 1:
            y = ops.moveaxis(y, -1, axis)
        return ops.cast(y, inputs.dtype)

    def _call_exportable(self, inputs):
        """TensorFlow's `LRN` op where it is this formula (what exporters map to a native LRN), else "generic"."""
        import tensorflow as tf

        fits = (
            len(inputs.shape) == 4
            and self.channel_axis % 4 == 3
            and self.size % 2 == 1
            and keras.backend.standardize_dtype(inputs.dtype) == "float32"
        )
        if not fits:
            return self._call_generic(inputs)
        return tf.nn.local_response_normalization(
            inputs, depth_radius=(self.size - 1) // 2, bias=self.k, alpha=self.effective_alpha, beta=self.beta
        )

    def _call_generic(self, inputs):
        return _lrn_by_shifted_slices(inputs, self.size, self.k, self.effective_alpha, self.beta, self.channel_axis)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            size=self.size,
            k=self.k,
            alpha=self.alpha,
            beta=self.beta,
            average=self.average,
            data_format=self.data_format,
            implementation=self.implementation,
        )
        return config


def _lrn_by_shifted_slices(inputs, size: int, k: float, alpha: float, beta: float, channel_axis: int):
    """The LRN formula in plain `keras.ops`: the window sum as `size` shifted slices of the padded squares."""
    axis = channel_axis % len(inputs.shape)
    before, after = (size - 1) // 2, size // 2
    x = ops.cast(inputs, _compute_dtype(inputs.dtype))
    pad = [[0, 0]] * len(inputs.shape)
    pad[axis] = [before, after]
    padded = ops.pad(ops.square(x), pad)
    window_sum = None
    for offset in range(size):
        index = [slice(None)] * len(inputs.shape)
        # Channels offset .. offset + C - 1 of the C + size - 1 padded ones (no static C needed).
        end = offset - (size - 1)
        index[axis] = slice(offset, end if end < 0 else None)
        part = padded[tuple(index)]
        window_sum = part if window_sum is None else window_sum + part
    return ops.cast(x * _negative_power(k + alpha * window_sum, beta), inputs.dtype)


def _compute_dtype(dtype) -> str:
    """Half-precision inputs are normalised in float32; float32/float64 keep their precision."""
    dtype = keras.backend.standardize_dtype(dtype)
    return "float32" if dtype in ("float16", "bfloat16") else dtype


def _negative_power(base, beta: float):
    """`base ** -beta`; for the paper's beta = 0.75 as rsqrt(base) * sqrt(rsqrt(base)), much cheaper than pow."""
    if beta == 0.75:
        root = ops.rsqrt(base)
        return root * ops.sqrt(root)
    return ops.power(base, -beta)


@functools.cache
def _xla_lrn_function(size: int, k: float, alpha: float, beta: float, channel_axis: int):
    """One XLA-compiled TensorFlow function per set of constants (shared by layers, traced per input rank/dtype)."""
    import tensorflow as tf

    @tf.function(jit_compile=True, reduce_retracing=True, autograph=False)
    def lrn(inputs):
        return _lrn_by_shifted_slices(inputs, size, k, alpha, beta, channel_axis)

    return lrn


def _inside_xla_compilation() -> bool:
    """Whether the current TensorFlow graph is being traced for XLA (`tf.function(jit_compile=True)`)."""
    import tensorflow as tf

    try:
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # pragma: no cover - private module moved: assume not, the nested call still works
        return False
    if tf.executing_eagerly():
        return False
    return bool(control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph()))
