"""What a checkpoint says about the network it belongs to.

A checkpoint directory carries `keras_alexnet.json`, the `NetworkRecord` of the
weights in it: the variant, the class count, the LRN constants and convention
the weights were trained with, and the input they expect. `AlexNet(weights=...)`
builds from this record, so a BVLC checkpoint always gets Caffe's LRN and its
own preprocessing, whatever the builder's defaults are.

Example:

>>> from keras_alexnet.weights.network import NetworkRecord
>>> NetworkRecord.from_dict(NetworkRecord(variant="torchvision").to_dict()).variant
'torchvision'
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from keras_alexnet.models.variants import LRNConfig, get_variant

NETWORK_FILENAME = "keras_alexnet.json"
FORMAT_VERSION = 1
PREPROCESSING_CHANNEL_ORDER = {"caffe": "BGR", "torch": "RGB", "paper": "RGB"}


@dataclasses.dataclass(frozen=True)
class NetworkRecord:
    """The network configuration a set of weights belongs to."""

    variant: str = "original"
    classes: int = 1000
    lrn: LRNConfig | None = None
    input_size: int | None = None
    preprocessing: str | None = None
    categories: str = "imagenet1k"

    def __post_init__(self):
        config = get_variant(self.variant)
        if self.lrn is None and config.lrn is not None:
            object.__setattr__(self, "lrn", config.lrn)
        if self.input_size is None:
            object.__setattr__(self, "input_size", config.default_size)
        if self.preprocessing is None:
            object.__setattr__(self, "preprocessing", config.preprocessing)

    @property
    def channel_order(self) -> str:
        return PREPROCESSING_CHANNEL_ORDER.get(self.preprocessing, "RGB")

    def to_dict(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "variant": self.variant,
            "classes": self.classes,
            "lrn": self.lrn.to_dict() if self.lrn else None,
            "input_size": self.input_size,
            "channel_order": self.channel_order,
            "preprocessing": self.preprocessing,
            "categories": self.categories,
        }

    @classmethod
    def from_dict(cls, data: dict) -> NetworkRecord:
        version = data.get("format_version", FORMAT_VERSION)
        if version > FORMAT_VERSION:
            raise ValueError(
                f"This checkpoint was written by a newer keras_alexnet (format {version}); "
                f"upgrade keras_alexnet to read it. Received: format_version={version}"
            )
        lrn = data.get("lrn")
        return cls(
            variant=data["variant"],
            classes=int(data["classes"]),
            lrn=LRNConfig.from_dict(lrn) if lrn else None,
            input_size=data.get("input_size"),
            preprocessing=data.get("preprocessing"),
            categories=data.get("categories", "imagenet1k"),
        )

    def write(self, directory: str | Path) -> Path:
        path = Path(directory) / NETWORK_FILENAME
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, directory: str | Path) -> NetworkRecord:
        path = Path(directory) / NETWORK_FILENAME
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ValueError(
                f"{directory} is not a keras_alexnet checkpoint directory: it has no "
                f"{NETWORK_FILENAME}. Write one with `keras-alexnet convert` or "
                f"`keras_alexnet.weights.save_checkpoint`. Received: {directory}"
            ) from None
        return cls.from_dict(data)
