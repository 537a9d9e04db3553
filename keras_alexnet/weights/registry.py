"""The weights registry: one record per pretrained checkpoint.

Each `WeightsRecord` says which network the weights belong to (variant, LRN
convention, preprocessing, input size, categories), what the source reports
for them, under which license they come, where the public original lives, and
where the converted checkpoint is published. Model cards, the README table,
`keras-alexnet weights` and `info` read these records.

Example:

>>> import keras_alexnet
>>> [record.name for record in keras_alexnet.list_weights()]
['bvlc_imagenet1k', 'torchvision_imagenet1k']
"""

from __future__ import annotations

import dataclasses
import os

from keras_alexnet.models.variants import CAFFE_LRN
from keras_alexnet.weights.complexity import count_macs, count_params
from keras_alexnet.weights.network import NetworkRecord

#: Environment variable that replaces the Hub organisation of every record.
HUB_ORG_ENV = "KERAS_ALEXNET_HUB_ORG"
DEFAULT_HUB_ORG = "keras-alexnet"


@dataclasses.dataclass(frozen=True)
class Original:
    """A public original file (a mirror) the checkpoint can be converted from."""

    url: str
    format: str  # "onnx", "caffe" or "torchvision"
    filename: str
    sha256: str | None = None
    sha1: str | None = None
    sha256_prefix: str | None = None
    size: int | None = None

    @property
    def checksum(self) -> str:
        """The checksum to verify, as "algorithm:hex" ("sha256-prefix:..." when only a prefix is published)."""
        if self.sha256:
            return f"sha256:{self.sha256}"
        if self.sha1:
            return f"sha1:{self.sha1}"
        if self.sha256_prefix:
            return f"sha256-prefix:{self.sha256_prefix}"
        return "none"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class HubLocation:
    """Where the converted checkpoint lives on the Hugging Face Hub.

    A location is published once the sha256 of `filename` and a pinned commit
    (`revision`) or a Hub tag (`tag`, e.g. "v1") are recorded; `keras-alexnet
    release` prints them. With a tag, the tag is downloaded (its owner may move
    it, e.g. to a commit with a corrected model card) and `revision` records the
    commit it pointed at when released; the sha256 stays the trust anchor: a tag
    moved to other weights is refused (`keras_alexnet.weights.hub.HubTagMovedError`).
    """

    repo_name: str
    revision: str | None = None  # a pinned commit sha, once published
    filename: str = "model.weights.h5"
    sha256: str | None = None
    tag: str | None = None  # a Hub tag to download instead of `revision` (verified against `sha256`)

    @property
    def published(self) -> bool:
        return (self.revision is not None or self.tag is not None) and self.sha256 is not None

    @property
    def download_revision(self) -> str | None:
        """What is downloaded: the tag if one is recorded, else the pinned commit."""
        return self.tag or self.revision

    def repo_id(self, org: str | None = None) -> str:
        """`org/repo_name`; `org` defaults to `$KERAS_ALEXNET_HUB_ORG`, else "keras-alexnet"."""
        return f"{hub_org(org)}/{self.repo_name}"

    def to_dict(self, org: str | None = None) -> dict:
        return {
            "repo_id": self.repo_id(org),
            "revision": self.revision,
            "filename": self.filename,
            "sha256": self.sha256,
            "tag": self.tag,
            "published": self.published,
        }


def hub_org(org: str | None = None) -> str:
    """The Hub organisation: `org` if given, else `$KERAS_ALEXNET_HUB_ORG`, else "keras-alexnet"."""
    return org or os.environ.get(HUB_ORG_ENV) or DEFAULT_HUB_ORG


@dataclasses.dataclass(frozen=True)
class WeightsRecord:
    """Everything known about one pretrained checkpoint.

    Tests and mirrors of your own can use a modified copy:
    `dataclasses.replace(record, originals=(Original(url=..., ...),))`.
    """

    name: str
    description: str
    network: NetworkRecord
    license: str
    reported_metrics: dict[str, float]
    metrics_source: str
    originals: tuple[Original, ...]
    hub: HubLocation
    aliases: tuple[str, ...] = ()
    citation: str = ""

    @property
    def variant(self) -> str:
        return self.network.variant

    @property
    def num_params(self) -> int:
        """Parameters of the full network (with its top), from the variant configuration."""
        return count_params(self.network.variant, self.network.classes, self.network.input_size)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of convs and dense layers per image at the record's input size."""
        return count_macs(self.network.variant, self.network.classes, self.network.input_size)

    def to_dict(self, hub_org: str | None = None) -> dict:
        """A JSON-serialisable description (what `keras-alexnet weights --json` prints)."""
        from keras_alexnet.eval_preprocessing import eval_preprocessing

        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "description": self.description,
            "network": self.network.to_dict(),
            "evaluation_preprocessing": eval_preprocessing(self.network).to_dict(),
            "num_params": self.num_params,
            "macs": self.macs,
            "license": self.license,
            "reported_metrics": dict(self.reported_metrics),
            "metrics_source": self.metrics_source,
            "originals": [original.to_dict() for original in self.originals],
            "hub": self.hub.to_dict(hub_org),
        }


BVLC_IMAGENET1K = WeightsRecord(
    name="bvlc_imagenet1k",
    aliases=("imagenet",),
    description=(
        "The BVLC reference AlexNet (Caffe), trained on ILSVRC-2012 by Jeff Donahue "
        "with minor variations from the paper; two towers, LRN k=1 with alpha/n."
    ),
    network=NetworkRecord(variant="original", classes=1000, lrn=CAFFE_LRN, input_size=227, preprocessing="caffe"),
    license="unrestricted (BVLC model zoo: 'unrestricted use')",
    reported_metrics={"top1_acc": 57.1, "top5_acc": 80.2},
    metrics_source="reported by BVLC (centre crop, ILSVRC-2012 val); not re-measured here",
    originals=(
        Original(
            url=(
                "https://github.com/onnx/models/raw/main/validated/vision/classification/"
                "alexnet/model/bvlcalexnet-12.onnx"
            ),
            format="onnx",
            filename="bvlcalexnet-12.onnx",
            sha256="6b0da9510f27f234ee96a85dc3809dd210150fdefad87f6850f9788513216945",
            size=243_863_787,
        ),
        Original(
            url="http://dl.caffe.berkeleyvision.org/bvlc_alexnet.caffemodel",
            format="caffe",
            filename="bvlc_alexnet.caffemodel",
            sha1="9116a64c0fbe4459d18f4bb6b56d647b63920377",
        ),
    ),
    hub=HubLocation(repo_name="alexnet-bvlc-imagenet1k"),
)

TORCHVISION_IMAGENET1K = WeightsRecord(
    name="torchvision_imagenet1k",
    description=(
        "torchvision's AlexNet weights (IMAGENET1K_V1), single tower, trained with torchvision's reference recipe."
    ),
    network=NetworkRecord(variant="torchvision", classes=1000, input_size=224, preprocessing="torch"),
    license="BSD-3-Clause",
    reported_metrics={"top1_acc": 56.522, "top5_acc": 79.066},
    metrics_source="reported by torchvision (resize 256, centre crop 224, ILSVRC-2012 val); not re-measured here",
    originals=(
        Original(
            url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
            format="torchvision",
            filename="alexnet-owt-7be5be79.pth",
            sha256_prefix="7be5be79",
        ),
    ),
    hub=HubLocation(repo_name="alexnet-torchvision-imagenet1k"),
)

_RECORDS: dict[str, WeightsRecord] = {r.name: r for r in (BVLC_IMAGENET1K, TORCHVISION_IMAGENET1K)}
_ALIASES: dict[str, str] = {alias: r.name for r in _RECORDS.values() for alias in r.aliases}


def register_weights(record: WeightsRecord, *, overwrite: bool = False) -> WeightsRecord | None:
    """Add `record` to the registry (e.g. a private mirror of the originals); return the record it replaced.

    Example:

    >>> import dataclasses
    >>> from keras_alexnet.weights.registry import get_weights_record, register_weights
    >>> record = get_weights_record("torchvision_imagenet1k")
    >>> mirror = dataclasses.replace(record, originals=record.originals[:1])
    >>> register_weights(mirror, overwrite=True) is record
    True
    >>> _ = register_weights(record, overwrite=True)  # restore
    """
    taken = record.name in _ALIASES or any(
        alias in _RECORDS or _ALIASES.get(alias, record.name) != record.name for alias in record.aliases
    )
    if taken or (record.name in _RECORDS and not overwrite):
        raise ValueError(
            f"The weights name {record.name!r} (or one of its aliases {list(record.aliases)}) is already "
            f"registered; pass overwrite=True to replace a record of the same name. Received: {record.name!r}"
        )
    previous = _RECORDS.get(record.name)
    if previous is not None:
        for alias in previous.aliases:
            _ALIASES.pop(alias, None)
    _RECORDS[record.name] = record
    _ALIASES.update({alias: record.name for alias in record.aliases})
    return previous


def list_weights() -> list[WeightsRecord]:
    """All registered checkpoints, in registration order."""
    return list(_RECORDS.values())


def is_registered(name: str) -> bool:
    return name in _RECORDS or name in _ALIASES


def get_weights_record(name: str) -> WeightsRecord:
    """The record registered under `name` or one of its aliases ("imagenet")."""
    key = _ALIASES.get(name, name)
    if key not in _RECORDS:
        names = sorted([*_RECORDS, *_ALIASES])
        raise ValueError(f"Unknown weights name. Expected one of {names}. Received: weights={name!r}")
    return _RECORDS[key]
