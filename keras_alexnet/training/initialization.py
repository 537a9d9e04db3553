"""The paper's initialisation (Section 5).

"We initialized the weights in each layer from a zero-mean Gaussian distribution
with standard deviation 0.01. We initialized the neuron biases in the second,
fourth, and fifth convolutional layers, as well as in the fully-connected hidden
layers, with the constant 1 ... We initialized the neuron biases in the remaining
layers with the constant 0."

Example:

>>> import keras_alexnet
>>> from keras_alexnet.training.initialization import apply_paper_initialization
>>> model = apply_paper_initialization(keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3)))
>>> float(model.get_layer("conv2").bias.numpy().min()), float(model.get_layer("conv3").bias.numpy().max())
(1.0, 0.0)
"""

from __future__ import annotations

import numpy as np

#: Layers whose biases start at 1 (conv2, conv4, conv5 and the hidden dense layers fc6, fc7).
ONE_BIAS_LAYERS = ("conv2", "conv4", "conv5", "fc6", "fc7")


def apply_paper_initialization(
    model, seed: int = 0, std: float = 0.01, one_bias_layers: tuple[str, ...] = ONE_BIAS_LAYERS
):
    """Re-initialise every layer with a `kernel`: weights ~ N(0, std), biases 1 or 0; returns `model`."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        kernel.assign(rng.normal(0.0, std, size=tuple(kernel.shape)).astype(kernel.dtype))
        bias = getattr(layer, "bias", None)
        if bias is not None:
            bias.assign(np.full(tuple(bias.shape), 1.0 if layer.name in one_bias_layers else 0.0, bias.dtype))
    return model
