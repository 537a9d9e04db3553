"""The weights registry: one record per pretrained checkpoint.

Each `WeightsRecord` says which network the weights belong to (variant, LRN
convention, preprocessing, input size, categories), what each source reports
for them (`ReportedResult`: metrics, source, preprocessing), under which license
they come, where the public originals live (`Original`: a URL or a file in a
Hugging Face Hub repository, tried in order), and where the converted checkpoint
is published. Model cards, the README table, `keras-alexnet weights` and `info`
read these records.

Example:

>>> import keras_alexnet
>>> [record.name for record in keras_alexnet.list_weights()]
['bvlc_imagenet1k', 'torchvision_imagenet1k']
>>> first = keras_alexnet.get_weights_record("imagenet").originals[0]
>>> first.is_hub, first.repo_id, first.revision, first.size
(True, 'onnxmodelzoo/legacy_models', 'main', 243863787)
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


#: Where a Hub original's `url` points (the public Hub; downloads honour `HF_ENDPOINT` instead).
HUB_WEB = "https://huggingface.co"


@dataclasses.dataclass(frozen=True)
class Original:
    """A public original file the checkpoint can be converted from: at a URL, or in a Hugging Face Hub repository.

    - A URL original (`url=...`) is downloaded by `keras_alexnet.weights.download.download` (resume, overall
      deadline, minimum rate, Git-LFS pointer detection).
    - A Hub original (`repo_id=`, `path_in_repo=`, `revision=`, default "main") is downloaded with
      `huggingface_hub.hf_hub_download`, so `HF_ENDPOINT` mirrors, `HF_HUB_OFFLINE`, the Hugging Face cache and
      Xet work as for any Hub file; its `url` is derived (the file's address on huggingface.co).

    Either way the file must match every checksum recorded (`sha256`, `sha1`, `sha256_prefix`) and its `size`;
    those, not the host or the revision, are the trust anchor. `note` says what a user should know about the
    source (e.g. that a revision is a branch, not a pinned commit).
    """

    url: str | None = None
    format: str = ""  # "onnx", "caffe" or "torchvision"
    filename: str = ""
    sha256: str | None = None
    sha1: str | None = None
    sha256_prefix: str | None = None
    size: int | None = None
    repo_id: str | None = None
    path_in_repo: str | None = None
    revision: str | None = None
    note: str = ""

    def __post_init__(self) -> None:
        received = f"Received: url={self.url!r}, repo_id={self.repo_id!r}, path_in_repo={self.path_in_repo!r}"
        if not self.format or not self.filename:
            raise ValueError(
                f"An Original needs a `format` (e.g. 'onnx') and a `filename`. Received: format={self.format!r}, "
                f"filename={self.filename!r}"
            )
        # A Hub original's url is derived (and kept by `dataclasses.replace`): only another url is "both".
        both = self.repo_id is not None and self.url is not None and not self.url.startswith(f"{HUB_WEB}/")
        if both or (self.repo_id is None and not self.url):
            raise ValueError(
                "An Original is either a URL (`url=`) or a file in a Hub repository (`repo_id=` and "
                f"`path_in_repo=`), not both or neither. {received}"
            )
        if self.repo_id is not None:
            if not self.path_in_repo or self.repo_id.count("/") != 1 or not all(self.repo_id.split("/")):
                raise ValueError(
                    "A Hub original names its repository as 'org/name' and the file's path in it "
                    f"(`path_in_repo`). {received}"
                )
            revision = self.revision or "main"
            object.__setattr__(self, "revision", revision)
            object.__setattr__(self, "url", f"{HUB_WEB}/{self.repo_id}/resolve/{revision}/{self.path_in_repo}")
        if self.size is not None and (isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1):
            raise ValueError(f"An Original's `size` is a positive number of bytes. Received: size={self.size!r}")

    @property
    def is_hub(self) -> bool:
        """Whether this original is a file in a Hub repository (downloaded with `hf_hub_download`)."""
        return self.repo_id is not None

    @property
    def location(self) -> str:
        """Where the file is downloaded from now: the URL, or the Hub file's URL at `HF_ENDPOINT`."""
        if not self.is_hub:
            return self.url
        from huggingface_hub import hf_hub_url

        return hf_hub_url(self.repo_id, self.path_in_repo, revision=self.revision)

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
        """Every field, plus `source` ("hub" or "url")."""
        return {"source": "hub" if self.is_hub else "url", **dataclasses.asdict(self)}


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
    #: The file whose sha256 pins the copy: checksums.json, which lists the sha256 of every other file.
    filename: str = "checksums.json"
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
class ReportedResult:
    """One accuracy a source reports for a checkpoint, with who reports it and how the images were prepared.

    Sources evaluate differently (resizing, mean, crop), so a result is only meaningful with its
    `preprocessing`; none of them is re-measured here.
    """

    metrics: dict[str, float]  # in percent, e.g. {"top1_acc": 57.1, "top5_acc": 80.2}
    source: str  # who reports it, short (tables), e.g. "BVLC"
    reference: str  # where it is written (a document or URL)
    preprocessing: str  # how the evaluated images were prepared
    dataset: str = "ILSVRC-2012 validation set (50,000 images)"

    def metrics_text(self) -> str:
        """e.g. "top-1 57.1%, top-5 80.2%"."""
        names = {"top1_acc": "top-1", "top5_acc": "top-5"}
        return ", ".join(f"{names.get(key, key)} {value:g}%" for key, value in self.metrics.items())

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


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
    reported_results: tuple[ReportedResult, ...]
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
        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "description": self.description,
            "network": self.network.to_dict(),
            "num_params": self.num_params,
            "macs": self.macs,
            "license": self.license,
            "reported_results": [result.to_dict() for result in self.reported_results],
            "originals": [original.to_dict() for original in self.originals],
            "hub": self.hub.to_dict(hub_org),
        }


#: BVLC's model card (the Caffe model zoo's readme of the reference AlexNet).
BVLC_README = "https://github.com/BVLC/caffe/blob/master/models/bvlc_alexnet/readme.md"
#: The ONNX model zoo's page of the AlexNet exports (its accuracy table and the evaluation script it links).
ONNX_ZOO_README = "https://github.com/onnx/models/blob/main/validated/vision/classification/alexnet/README.md"
#: The Hub repository that holds the ONNX model zoo's files since GitHub stopped serving their Git-LFS objects.
ONNX_ZOO_HUB_REPO = "onnxmodelzoo/legacy_models"
BVLC_ONNX_PATH = "validated/vision/classification/alexnet/model/bvlcalexnet-12.onnx"
BVLC_ONNX_SHA256 = "6b0da9510f27f234ee96a85dc3809dd210150fdefad87f6850f9788513216945"
BVLC_ONNX_SIZE = 243_863_787

BVLC_IMAGENET1K = WeightsRecord(
    name="bvlc_imagenet1k",
    aliases=("imagenet",),
    description=(
        "The BVLC reference AlexNet (Caffe), trained on ILSVRC-2012 by Evan Shelhamer (BVLC model zoo), a "
        "replication of the paper with two differences: no relighting data augmentation, and non-zero biases "
        "initialised to 0.1 instead of 1 ('initialization to 1 gave flat loss'). Two towers, LRN k=1 with "
        "alpha/n; the iteration 360,000 snapshot."
    ),
    network=NetworkRecord(variant="original", classes=1000, lrn=CAFFE_LRN, input_size=227, preprocessing="caffe"),
    license="unrestricted (BVLC model zoo: 'unrestricted use')",
    reported_results=(
        ReportedResult(
            metrics={"top1_acc": 57.1, "top5_acc": 80.2},
            source="BVLC",
            reference=BVLC_README,
            preprocessing=(
                "Caffe: images stored at 256x256 (warped, aspect ratio not kept), the mean image subtracted, "
                "the centre 227x227 crop"
            ),
        ),
        ReportedResult(
            metrics={"top1_acc": 54.80, "top5_acc": 78.23},
            source="ONNX model zoo",
            reference=ONNX_ZOO_README,
            preprocessing=(
                "the README's evaluation script (Intel Neural Compressor, ONNX Runtime): the whole image resized to "
                "224x224 (aspect ratio not kept, no crop), RGB means 123.68/116.779/103.939 subtracted, BGR"
            ),
        ),
    ),
    originals=(
        Original(
            repo_id=ONNX_ZOO_HUB_REPO,
            path_in_repo=BVLC_ONNX_PATH,
            revision="main",
            format="onnx",
            filename="bvlcalexnet-12.onnx",
            sha256=BVLC_ONNX_SHA256,
            size=BVLC_ONNX_SIZE,
            note=(
                "The ONNX model zoo's file, byte for byte, on the Hugging Face Hub. Revision 'main': no commit of "
                "that repository is pinned here, so the file is verified by its sha256 and size (those of the "
                "zoo's Git-LFS pointer), whatever commit 'main' points at."
            ),
        ),
        Original(
            url="http://dl.caffe.berkeleyvision.org/bvlc_alexnet.caffemodel",
            format="caffe",
            filename="bvlc_alexnet.caffemodel",
            sha1="9116a64c0fbe4459d18f4bb6b56d647b63920377",
            note="BVLC's own host, reported down repeatedly (BVLC/caffe issues 2017-2024): a fallback.",
        ),
        Original(
            url=f"https://github.com/onnx/models/raw/main/{BVLC_ONNX_PATH}",
            format="onnx",
            filename="bvlcalexnet-12.onnx",
            sha256=BVLC_ONNX_SHA256,
            size=BVLC_ONNX_SIZE,
            note=(
                "The former home: GitHub stopped serving the ONNX model zoo's Git-LFS files on 2025-07-01 and "
                "answers with a ~134-byte Git-LFS pointer text; tried last, in case it comes back."
            ),
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
    reported_results=(
        ReportedResult(
            metrics={"top1_acc": 56.522, "top5_acc": 79.066},
            source="torchvision",
            reference="https://pytorch.org/vision/stable/models/generated/torchvision.models.alexnet.html",
            preprocessing=(
                "torchvision's ImageClassification: the shorter side resized to 256 (bilinear), the centre "
                "224x224 crop, RGB scaled to [0, 1], ImageNet mean and std"
            ),
        ),
    ),
    originals=(
        Original(
            url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
            format="torchvision",
            filename="alexnet-owt-7be5be79.pth",
            sha256="7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02",
            sha256_prefix="7be5be79",
            size=244_408_911,
            note=(
                "torchvision's own URL (still used by torchvision 0.29); the file name carries the sha256 prefix "
                "torchvision checks, the full sha256 and size are checked as well."
            ),
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
