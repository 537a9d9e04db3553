"""The AlexNet networks: their facts (`config`), the pure builder (`build`) and the model class (`model`).

`keras_alexnet.models.AlexNet` is `keras_alexnet.AlexNet` (`keras_alexnet.applications`, which also
resolves and loads weights), kept here for existing code; it is imported on first use, since the
application layer sits above this package.
"""

from keras_alexnet.models.build import build_alexnet, has_top
from keras_alexnet.models.config import (
    VARIANT_NAMES,
    VARIANTS,
    LRNConfig,
    NetworkRecord,
    VariantConfig,
    count_macs,
    count_params,
    get_variant,
)
from keras_alexnet.models.model import AlexNetModel, network_record

__all__ = [
    "VARIANTS",
    "VARIANT_NAMES",
    "AlexNet",
    "AlexNetModel",
    "LRNConfig",
    "NetworkRecord",
    "VariantConfig",
    "build_alexnet",
    "count_macs",
    "count_params",
    "get_variant",
    "has_top",
    "network_record",
]


def __getattr__(name: str):
    if name == "AlexNet":  # the application layer's builder (it imports this package, not the other way round)
        from keras_alexnet.applications import AlexNet

        return AlexNet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
