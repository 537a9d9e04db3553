"""Parameter count and multiply-accumulates of an AlexNet, from its variant configuration.

Computed from `keras_alexnet.models.variants` alone (no model is built), so the
registry, `info` and the model cards can quote them cheaply. MACs count the
multiply-accumulates of the convolutions and dense layers for one image (biases,
ReLU, LRN and pooling are not counted), the usual convention (torchvision
quotes 0.71 GFLOPS for its AlexNet, which is this count).

Example:

>>> from keras_alexnet.weights.complexity import count_macs, count_params
>>> count_params("original"), count_macs("original")
(60965224, 724406816)
>>> count_params("torchvision"), count_macs("torchvision")
(61100840, 714188480)
"""

from __future__ import annotations

from keras_alexnet.models.variants import get_variant


def _layers(variant: str, classes: int, input_size: int | None) -> list[tuple[int, int]]:
    """(parameters, MACs) of every conv and dense layer, in order."""
    config = get_variant(variant)
    size = input_size or config.default_size
    sides = config.spatial_sizes(size)
    layers = []
    channels = 3
    for spec, side in zip(config.convs, sides, strict=True):
        padded = size + 2 * spec.padding
        conv_side = (padded - spec.kernel_size) // spec.strides + 1
        per_output = spec.kernel_size * spec.kernel_size * (channels // spec.groups)
        layers.append((per_output * spec.filters + spec.filters, per_output * spec.filters * conv_side * conv_side))
        channels, size = spec.filters, side
    features = channels * size * size
    for units in (*config.dense_units, classes):
        layers.append((features * units + units, features * units))
        features = units
    return layers


def count_params(variant: str, classes: int = 1000, input_size: int | None = None) -> int:
    """Number of trainable parameters of the full network (with its top)."""
    return sum(params for params, _ in _layers(variant, classes, input_size))


def count_macs(variant: str, classes: int = 1000, input_size: int | None = None) -> int:
    """Multiply-accumulates of the convs and dense layers for one image at `input_size`."""
    return sum(macs for _, macs in _layers(variant, classes, input_size))
