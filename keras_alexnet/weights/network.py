"""What a checkpoint says about the network it belongs to.

A checkpoint directory carries `keras_alexnet.json`, the `NetworkRecord` of the
weights in it: the variant, the class count, the LRN constants and convention
the weights were trained with, the input they expect (for weights trained by
`keras-alexnet train`, the training set's RGB pixel mean), and the names of the
classes (ImageNet's for the converted checkpoints; folder names, TFDS label
names or the digits for `train` and `finetune`). `AlexNet(weights=...)`
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
import math
import numbers
from pathlib import Path

from keras_alexnet.errors import DamagedFileError, read_json_file
from keras_alexnet.models.variants import LRNConfig, get_variant

NETWORK_FILENAME = "keras_alexnet.json"
FORMAT_VERSION = 1
PREPROCESSING_CHANNEL_ORDER = {"caffe": "BGR", "torch": "RGB", "paper": "RGB"}
#: How to get an intact keras_alexnet.json, for the messages.
NETWORK_FIX = (
    "Write the checkpoint again (`keras-alexnet convert ...`, `keras_alexnet.weights.save_checkpoint`) or fetch "
    "it again (`keras-alexnet weights fetch NAME`)."
)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


@dataclasses.dataclass(frozen=True)
class NetworkRecord:
    """The network configuration a set of weights belongs to."""

    variant: str = "original"
    classes: int = 1000
    lrn: LRNConfig | None = None
    input_size: int | None = None
    preprocessing: str | None = None
    categories: str = "imagenet1k"
    #: The name of each output, in order; None: ImageNet's for "imagenet1k" (`keras_alexnet.labels`).
    class_names: tuple[str, ...] | None = None
    #: RGB mean (0-255) subtracted by the "paper" preprocessing (the training set's, from `train`).
    pixel_mean: tuple[float, float, float] | None = None

    def __post_init__(self):
        if not isinstance(self.variant, str):
            raise ValueError(f"`variant` must be a variant name (a string). Received: variant={self.variant!r}")
        config = get_variant(self.variant)
        if not _is_count(self.classes):
            raise ValueError(f"`classes` must be a positive integer. Received: classes={self.classes!r}")
        if self.lrn is not None and not isinstance(self.lrn, LRNConfig):
            raise ValueError(f"`lrn` must be an LRNConfig or None. Received: lrn={self.lrn!r}")
        if self.input_size is not None and not _is_count(self.input_size):
            raise ValueError(
                f"`input_size` must be a positive integer or None. Received: input_size={self.input_size!r}"
            )
        if self.preprocessing is not None and self.preprocessing not in PREPROCESSING_CHANNEL_ORDER:
            raise ValueError(
                f"`preprocessing` must be one of {sorted(PREPROCESSING_CHANNEL_ORDER)} or None. "
                f"Received: preprocessing={self.preprocessing!r}"
            )
        if not isinstance(self.categories, str):
            raise ValueError(f"`categories` must be a string. Received: categories={self.categories!r}")
        if self.class_names is not None:
            names = self.class_names
            if (
                not isinstance(names, list | tuple)
                or len(names) != self.classes
                or not all(isinstance(name, str) for name in names)
            ):
                raise ValueError(
                    f"`class_names` must be {self.classes} strings, one per class. Received: class_names={names!r:.120}"
                )
            object.__setattr__(self, "class_names", tuple(names))
        if self.pixel_mean is not None:
            mean = self.pixel_mean
            if not isinstance(mean, list | tuple) or len(mean) != 3 or not all(_is_number(value) for value in mean):
                raise ValueError(f"`pixel_mean` must be 3 numbers (R, G, B). Received: pixel_mean={mean!r}")
            object.__setattr__(self, "pixel_mean", tuple(float(value) for value in mean))
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
            "class_names": list(self.class_names) if self.class_names is not None else None,
            "pixel_mean": list(self.pixel_mean) if self.pixel_mean is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict) -> NetworkRecord:
        """The record of `to_dict`'s output; raises ValueError for a value of the wrong shape or type."""
        if not isinstance(data, dict):
            raise ValueError(f"A network record is a JSON object. Received: {type(data).__name__} {data!r:.80}")
        missing = [key for key in ("variant", "classes") if key not in data]
        if missing:
            raise ValueError(f"A network record needs the keys 'variant' and 'classes'. Received: keys {sorted(data)}")
        _check_format_version(data)
        lrn = data.get("lrn")
        if lrn is not None and not isinstance(lrn, dict):
            raise ValueError(f"`lrn` must be an object of LRN constants or null. Received: lrn={lrn!r}")
        return cls(
            variant=data["variant"],
            classes=data["classes"],
            lrn=LRNConfig.from_dict(lrn) if lrn else None,
            input_size=data.get("input_size"),
            preprocessing=data.get("preprocessing"),
            categories=data.get("categories", "imagenet1k"),
            class_names=data.get("class_names"),
            pixel_mean=data.get("pixel_mean"),
        )

    def write(self, directory: str | Path) -> Path:
        path = Path(directory) / NETWORK_FILENAME
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, directory: str | Path, *, fix: str = NETWORK_FIX) -> NetworkRecord:
        """The record in `directory`'s keras_alexnet.json; `DamagedFileError` (naming the file) if it is unreadable."""
        path = Path(directory) / NETWORK_FILENAME
        if not path.is_file():
            raise ValueError(
                f"{directory} is not a keras_alexnet checkpoint directory: it has no "
                f"{NETWORK_FILENAME}. Write one with `keras-alexnet convert` or "
                f"`keras_alexnet.weights.save_checkpoint`. Received: {directory}"
            )
        data = read_json_file(path, fix=fix)
        if _is_count(data.get("format_version", FORMAT_VERSION)):
            _check_format_version(data)  # a newer format is not damage: the fix is an upgrade
        try:
            return cls.from_dict(data)
        except ValueError as error:
            raise DamagedFileError(path, f"it is not a valid network record ({error})", fix) from error


def _check_format_version(data: dict) -> None:
    version = data.get("format_version", FORMAT_VERSION)
    if not _is_count(version):
        raise ValueError(f"`format_version` must be a positive integer. Received: format_version={version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"This checkpoint was written by a newer keras_alexnet (format {version}); "
            f"upgrade keras_alexnet to read it. Received: format_version={version}"
        )
