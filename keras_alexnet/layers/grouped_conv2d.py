"""The paper's two-tower convolution, as a grouped 2D convolution."""

from __future__ import annotations

import keras
from keras import ops

from keras_alexnet.layers.tracing import traced_for_export

IMPLEMENTATIONS = ("auto", "fused", "split")


@keras.saving.register_keras_serializable(package="keras_alexnet")
class GroupedConv2D(keras.layers.Conv2D):
    """A 2D convolution whose channels are split into `groups` towers.

    The input channels are divided into `groups` equal parts; tower `g`
    convolves part `g` with its own `filters // groups` kernels, and the
    towers' outputs are concatenated in order. This is the restricted
    connectivity of the paper's two-GPU layout (conv2, conv4, conv5), and the
    same computation as `keras.layers.Conv2D(groups=g)`: the kernel has the same
    shape, `(kh, kw, in_channels // groups, filters)`, and the same meaning
    (output channels `[g * filters/groups, (g+1) * filters/groups)` belong to
    tower `g`), so a checkpoint converts once and loads into either layer.

    Args:
        implementation: how the towers are computed.
            - "fused": one grouped convolution (Keras' TF backend runs it
              through XLA, which grouped convolution needs on CPU);
            - "split": one ordinary convolution per tower, then a concat;
            - "auto" (default): "split" on the TensorFlow backend, "fused"
              elsewhere. Measured on TensorFlow 2.21 (2-core AMD EPYC Zen 4,
              whole "original" AlexNet, batch 64, idle machine): "split"
              114 images/s fp32 and 169 bf16, "fused" 60-97 fp32 and 82-86
              bf16 (XLA's CPU grouped convolution is slower than two oneDNN
              convolutions); `python -m benchmarks.run --sections ablations`
              repeats the comparison (docs/performance.md). Traced for
              saving or export on TensorFlow (`model.export`, any format),
              "fused" emits the "split" ops, so no XLA call is exported.
        All other arguments are those of `keras.layers.Conv2D`; `groups`
        defaults to 2.

    Example:

    >>> import numpy as np
    >>> from keras_alexnet.layers import GroupedConv2D
    >>> conv = GroupedConv2D(8, 3, padding="same", groups=2)
    >>> tuple(conv(np.zeros((1, 5, 5, 4), "float32")).shape)
    (1, 5, 5, 8)
    >>> tuple(conv.kernel.shape)
    (3, 3, 2, 8)
    """

    def __init__(self, filters: int, kernel_size, *, groups: int = 2, implementation: str = "auto", **kwargs):
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"`implementation` must be one of {IMPLEMENTATIONS}. Received: implementation={implementation!r}"
            )
        super().__init__(filters, kernel_size, groups=groups, **kwargs)
        self.implementation = implementation

    @property
    def resolved_implementation(self) -> str:
        if self.implementation != "auto":
            return self.implementation
        if self.groups == 1:
            return "fused"
        return "split" if keras.backend.backend() == "tensorflow" else "fused"

    def convolution_op(self, inputs, kernel):
        fused = self.resolved_implementation == "fused"
        if fused and self.groups > 1 and keras.backend.backend() == "tensorflow" and traced_for_export():
            fused = False  # TF's grouped convolution is an XLA call on CPU: exported graphs get the split towers
        if fused:
            return super().convolution_op(inputs, kernel)
        channel_axis = -1 if self.data_format == "channels_last" else 1
        input_parts = ops.split(inputs, self.groups, axis=channel_axis)
        kernel_parts = ops.split(kernel, self.groups, axis=-1)
        outputs = [
            ops.conv(
                part,
                part_kernel,
                strides=list(self.strides),
                padding=self.padding,
                dilation_rate=self.dilation_rate,
                data_format=self.data_format,
            )
            for part, part_kernel in zip(input_parts, kernel_parts, strict=True)
        ]
        return ops.concatenate(outputs, axis=channel_axis)

    def get_config(self) -> dict:
        config = super().get_config()
        config["implementation"] = self.implementation
        return config
