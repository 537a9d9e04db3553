"""AlexNet model builders and their named configurations."""

from keras_alexnet.models.alexnet import AlexNet, network_record
from keras_alexnet.models.variants import VARIANTS, LRNConfig, VariantConfig, get_variant

__all__ = ["AlexNet", "LRNConfig", "VARIANTS", "VariantConfig", "get_variant", "network_record"]
