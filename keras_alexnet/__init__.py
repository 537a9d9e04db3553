"""keras_alexnet: the AlexNet of Krizhevsky, Sutskever and Hinton (2012) for Keras 3.

Example:

>>> import keras_alexnet
>>> keras_alexnet.AlexNet(weights=None).count_params()
60965224
"""

from keras_alexnet.analysis.features import feature_extractor
from keras_alexnet.applications import AlexNet, from_hub
from keras_alexnet.layers import GroupedConv2D, LocalResponseNormalization
from keras_alexnet.models import LRNConfig, get_variant, network_record
from keras_alexnet.preprocessing import decode_predictions, preprocess_input
from keras_alexnet.version import __version__
from keras_alexnet.weights import WeightsUnavailableError, get_weights_record, list_weights
from keras_alexnet.weights.publish import push_to_hub

__all__ = [
    "AlexNet",
    "GroupedConv2D",
    "LRNConfig",
    "LocalResponseNormalization",
    "WeightsUnavailableError",
    "__version__",
    "decode_predictions",
    "feature_extractor",
    "from_hub",
    "get_variant",
    "get_weights_record",
    "list_weights",
    "network_record",
    "preprocess_input",
    "push_to_hub",
]
