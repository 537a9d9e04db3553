"""Keras layers of keras_alexnet: LRN and the two-tower (grouped) convolution."""

from keras_alexnet.layers.grouped_conv2d import GroupedConv2D
from keras_alexnet.layers.local_response_normalization import LocalResponseNormalization

__all__ = ["GroupedConv2D", "LocalResponseNormalization"]
