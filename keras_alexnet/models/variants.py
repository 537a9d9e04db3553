"""The named AlexNet configurations: kept for existing imports; they live in `keras_alexnet.models.config`.

Example:

>>> from keras_alexnet.models.variants import get_variant
>>> get_variant("original").convs[1].groups
2
"""

from keras_alexnet.models.config import (
    CAFFE_LRN,
    LRN_FIELDS,
    ORIGINAL,
    PAPER_LRN,
    TORCHVISION,
    VARIANT_NAMES,
    VARIANTS,
    AblatedStage,
    ConvSpec,
    LRNConfig,
    VariantConfig,
    get_variant,
)

__all__ = [
    "CAFFE_LRN",
    "LRN_FIELDS",
    "ORIGINAL",
    "PAPER_LRN",
    "TORCHVISION",
    "VARIANTS",
    "VARIANT_NAMES",
    "AblatedStage",
    "ConvSpec",
    "LRNConfig",
    "VariantConfig",
    "get_variant",
]
