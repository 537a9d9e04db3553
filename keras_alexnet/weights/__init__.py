"""Pretrained weights: the registry, checkpoint resolution and loading."""

from keras_alexnet.weights.network import NetworkRecord
from keras_alexnet.weights.registry import WeightsRecord, get_weights_record, list_weights
from keras_alexnet.weights.resolve import ResolvedWeights, WeightsUnavailableError, resolve_weights

__all__ = [
    "NetworkRecord",
    "ResolvedWeights",
    "WeightsRecord",
    "WeightsUnavailableError",
    "get_weights_record",
    "list_weights",
    "resolve_weights",
]
