"""Every fact about the AlexNet networks, in one place.

- the variants (`VARIANTS`, `get_variant`): layer widths, kernel sizes, strides,
  explicit padding, towers (groups), where Local Response Normalization and max
  pooling go, the dense head, and the input each variant expects;
- the LRN constants (`LRNConfig`, `PAPER_LRN`, `CAFFE_LRN`);
- the `NetworkRecord` a set of weights (and a built model) belongs to;
- the parameter and multiply-accumulate counts (`count_params`, `count_macs`),
  computed from the variant by formula, with no model built.

The builder (`keras_alexnet.models.build`), `keras_alexnet.AlexNet`, the `info`
table, the converters and the weights registry all read these records.

Example:

>>> from keras_alexnet.models.config import count_params, get_variant
>>> get_variant("original").convs[1].groups
2
>>> count_params("original"), count_params("torchvision"), count_params("original", include_top=False)
(60965224, 61100840, 2334080)
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from collections.abc import Iterable
from pathlib import Path

from keras_alexnet.errors import DamagedFileError, read_json_file
from keras_alexnet.layers.local_response_normalization import PAPER_CONSTANTS, check_lrn_constants
from keras_alexnet.outputs import write_text_atomic


@dataclasses.dataclass(frozen=True)
class LRNConfig:
    """Constants of a Local Response Normalization layer.

    `average=False` is the paper's convention (alpha multiplies the plain sum
    of squares over `size` channels); `average=True` divides alpha by `size`
    (Caffe, PyTorch, ONNX).
    """

    size: int = PAPER_CONSTANTS["size"]
    k: float = PAPER_CONSTANTS["k"]
    alpha: float = PAPER_CONSTANTS["alpha"]
    beta: float = PAPER_CONSTANTS["beta"]
    average: bool = PAPER_CONSTANTS["average"]

    def __post_init__(self):
        size, k, alpha, beta, average = check_lrn_constants(self.size, self.k, self.alpha, self.beta, self.average)
        for field, value in (("size", size), ("k", k), ("alpha", alpha), ("beta", beta), ("average", average)):
            object.__setattr__(self, field, value)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, config: dict) -> LRNConfig:
        """The constants in `config` (keys: size, k, alpha, beta, average); ValueError for any other key."""
        if not isinstance(config, dict):
            raise ValueError(f"LRN constants are a dict of {LRN_FIELDS}. Received: {config!r}")
        unknown = sorted(set(config) - set(LRN_FIELDS), key=str)
        if unknown:
            raise ValueError(
                f"Unknown LRN constant(s) {unknown}; the constants are {LRN_FIELDS}. Received: lrn={config!r}"
            )
        return cls(**config)


#: The fields of `LRNConfig`, in order.
LRN_FIELDS = tuple(field.name for field in dataclasses.fields(LRNConfig))
#: The paper's constants (Section 3.3): k=2, n=5, alpha=1e-4, beta=0.75, summed.
PAPER_LRN = LRNConfig()
#: The BVLC Caffe reference model's constants: k=1 and alpha divided by n.
CAFFE_LRN = dataclasses.replace(PAPER_LRN, k=1.0, average=True)


@dataclasses.dataclass(frozen=True)
class ConvSpec:
    """One convolutional stage: conv -> ReLU [-> LRN] [-> 3x3/2 max pool]."""

    name: str
    filters: int
    kernel_size: int
    strides: int = 1
    padding: int = 0
    groups: int = 1
    norm: bool = False
    pool: bool = False


@dataclasses.dataclass(frozen=True)
class VariantConfig:
    """A complete AlexNet architecture."""

    name: str
    description: str
    convs: tuple[ConvSpec, ...]
    dense_units: tuple[int, ...]
    dropout_rate: float
    #: "after_relu": fc -> ReLU -> dropout (paper, Caffe);
    #: "before_dense": dropout -> fc -> ReLU (torchvision).
    dropout_position: str
    lrn: LRNConfig | None
    default_size: int
    preprocessing: str
    pool_size: int = 3
    pool_strides: int = 2

    @property
    def conv_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.convs)

    def min_size(self) -> int:
        """Smallest square input for which every layer has a non-empty output."""
        size = 1
        while _spatial_size(self, size) < 1:
            size += 1
        return size

    def spatial_sizes(self, size: int) -> list[int]:
        """Spatial side after each conv stage (after its pool, if any)."""
        sides = []
        for spec in self.convs:
            padded = size + 2 * spec.padding
            size = (padded - spec.kernel_size) // spec.strides + 1 if padded >= spec.kernel_size else 0
            if spec.pool:
                size = (size - self.pool_size) // self.pool_strides + 1 if size >= self.pool_size else 0
            sides.append(size)
        return sides

    def without(self, removed: Iterable[str]) -> VariantConfig:
        """A copy of this configuration with the named conv stages removed."""
        removed = tuple(removed)
        return dataclasses.replace(self, convs=tuple(s for s in self.convs if s.name not in removed))

    def ablation(self, removed: Iterable[str] = ()) -> tuple[AblatedStage, ...]:
        """The conv stages of a depth ablation (paper Section 7) with `removed` taken out.

        Unlike `without`, the network stays consistent: the spatial geometry of
        every stage is kept (a removed strided conv is replaced by a
        parameter-free average pool of the same window and stride; a removed
        stride-1 "same" conv by nothing), the stage's max pool is kept, its LRN
        goes with its conv, and a tower split that no longer divides its input
        (conv2 reading the 3-channel image when conv1 is removed) becomes a
        single tower of the same width, as conv1's towers both saw the whole
        image. See `docs/analysis.md`.

        Example:

        >>> stages = get_variant("original").ablation(["conv1"])
        >>> [(s.spec.name, s.removed, s.spec.groups) for s in stages[:2]]
        [('conv1', True, 1), ('conv2', False, 1)]
        """
        removed = _check_removed(self, removed)
        stages = []
        channels = 3
        for spec in self.convs:
            if spec.name in removed:
                stages.append(AblatedStage(spec, removed=True))
                continue
            if spec.groups > 1 and channels % spec.groups:
                spec = dataclasses.replace(spec, groups=1)
            stages.append(AblatedStage(spec, removed=False))
            channels = spec.filters
        return tuple(stages)


@dataclasses.dataclass(frozen=True)
class AblatedStage:
    """One conv stage of a depth ablation: built as `spec`, or replaced when `removed`."""

    spec: ConvSpec
    removed: bool = False

    @property
    def keeps_geometry_without_layer(self) -> bool:
        """True when the removed conv did not change the spatial size (stride 1, "same" padding)."""
        spec = self.spec
        return spec.strides == 1 and 2 * spec.padding == spec.kernel_size - 1


def _check_removed(config: VariantConfig, removed: Iterable[str]) -> tuple[str, ...]:
    if isinstance(removed, str):
        removed = (removed,)
    removed = tuple(removed)
    unknown = [name for name in removed if name not in config.conv_names]
    if unknown or len(set(removed)) != len(removed):
        raise ValueError(
            f"`remove` must name distinct conv layers of the {config.name!r} variant, some of "
            f"{list(config.conv_names)}. Received: remove={removed!r}"
        )
    return removed


def _spatial_size(config: VariantConfig, size: int) -> int:
    sides = config.spatial_sizes(size)
    return min(sides) if sides else size


_POOL = dict(pool=True)

ORIGINAL = VariantConfig(
    name="original",
    description=(
        "Krizhevsky et al. 2012 and the BVLC Caffe reference model: two towers "
        "(grouped conv2/conv4/conv5), LRN after conv1 and conv2"
    ),
    convs=(
        ConvSpec("conv1", 96, 11, strides=4, norm=True, **_POOL),
        ConvSpec("conv2", 256, 5, padding=2, groups=2, norm=True, **_POOL),
        ConvSpec("conv3", 384, 3, padding=1),
        ConvSpec("conv4", 384, 3, padding=1, groups=2),
        ConvSpec("conv5", 256, 3, padding=1, groups=2, **_POOL),
    ),
    dense_units=(4096, 4096),
    dropout_rate=0.5,
    dropout_position="after_relu",
    lrn=PAPER_LRN,
    default_size=227,
    preprocessing="caffe",
)

TORCHVISION = VariantConfig(
    name="torchvision",
    description=(
        "the single-tower 'one weird trick' network that torchvision ships "
        "(Krizhevsky 2014): 64-192-384-256-256, no LRN"
    ),
    convs=(
        ConvSpec("conv1", 64, 11, strides=4, padding=2, **_POOL),
        ConvSpec("conv2", 192, 5, padding=2, **_POOL),
        ConvSpec("conv3", 384, 3, padding=1),
        ConvSpec("conv4", 256, 3, padding=1),
        ConvSpec("conv5", 256, 3, padding=1, **_POOL),
    ),
    dense_units=(4096, 4096),
    dropout_rate=0.5,
    dropout_position="before_dense",
    lrn=None,
    default_size=224,
    preprocessing="torch",
)

VARIANTS: dict[str, VariantConfig] = {v.name: v for v in (ORIGINAL, TORCHVISION)}
#: The variant names, in order ("original" first: the default).
VARIANT_NAMES: tuple[str, ...] = tuple(VARIANTS)


def get_variant(name: str) -> VariantConfig:
    """Return the configuration named `name` ("original" or "torchvision")."""
    if not isinstance(name, str) or name not in VARIANTS:
        raise ValueError(f"Unknown AlexNet variant. Expected one of {sorted(VARIANTS)}. Received: variant={name!r}")
    return VARIANTS[name]


# -- the network record ------------------------------------------------------------------------------------------------

NETWORK_FILENAME = "keras_alexnet.json"
#: The checkpoint layout keras_alexnet writes (`keras_alexnet.weights.checkpoint`): 1 = Keras' full functional model
#: + notop.weights.h5; 2 = a KerasHub preset (backbone + task files). A record without the key is format 1.
FORMAT_VERSION = 2
FIRST_FORMAT_VERSION = 1
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
    #: The conv stages left out of the network (`AlexNet(remove=...)`, the paper's depth ablation).
    removed: tuple[str, ...] = ()

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
        if isinstance(self.removed, str) or not isinstance(self.removed, list | tuple):
            raise ValueError(f"`removed` must be a tuple of conv layer names. Received: removed={self.removed!r}")
        object.__setattr__(self, "removed", _check_removed(config, self.removed))
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
            # Written only for an ablated network, so that the files of a full one stay as they were.
            **({"removed": list(self.removed)} if self.removed else {}),
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
            removed=data.get("removed") or (),
        )

    def write(self, directory: str | Path) -> Path:
        """Write `directory`/keras_alexnet.json (atomically)."""
        return write_text_atomic(Path(directory) / NETWORK_FILENAME, json.dumps(self.to_dict(), indent=2) + "\n")

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
        return _read_record(path, fix)


def read_format_version(directory: str | Path, *, fix: str = NETWORK_FIX) -> int:
    """The checkpoint format of `directory` (its keras_alexnet.json's `format_version`; 1 when it has none).

    The one place a layout is told apart: `keras_alexnet.weights.resolved.read_checkpoint_dir` reads each format
    by it, and the cache migrates an older one (`keras_alexnet.weights.cache`). A newer one is refused.
    """
    path = Path(directory) / NETWORK_FILENAME
    data = read_json_file(path, fix=fix)
    _check_format_version(data)
    return data.get("format_version", FIRST_FORMAT_VERSION)


def _read_record(path: Path, fix: str) -> NetworkRecord:
    data = read_json_file(path, fix=fix)
    if _is_count(data.get("format_version", FIRST_FORMAT_VERSION)):
        _check_format_version(data)  # a newer format is not damage: the fix is an upgrade
    try:
        return NetworkRecord.from_dict(data)
    except ValueError as error:
        raise DamagedFileError(path, f"it is not a valid network record ({error})", fix) from error


def _check_format_version(data: dict) -> None:
    version = data.get("format_version", FIRST_FORMAT_VERSION)
    if not _is_count(version):
        raise ValueError(f"`format_version` must be a positive integer. Received: format_version={version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"This checkpoint was written by a newer keras_alexnet (format {version}); "
            f"upgrade keras_alexnet to read it. Received: format_version={version}"
        )


# -- parameters and multiply-accumulates -------------------------------------------------------------------------------


def _layer_counts(
    variant: str, classes: int, input_size: int | None, include_top: bool = True
) -> list[tuple[int, int]]:
    """(parameters, MACs) of every conv and dense layer, in order."""
    config = get_variant(variant)
    size = input_size or config.default_size
    sides = config.spatial_sizes(size)
    layers = []
    channels = 3
    for spec, side in zip(config.convs, sides, strict=True):
        padded = size + 2 * spec.padding
        conv_side = (padded - spec.kernel_size) // spec.strides + 1
        per_output = spec.kernel_size * spec.kernel_size * (channels // spec.groups)
        layers.append((per_output * spec.filters + spec.filters, per_output * spec.filters * conv_side * conv_side))
        channels, size = spec.filters, side
    if not include_top:
        return layers
    features = channels * size * size
    for units in (*config.dense_units, classes):
        layers.append((features * units + units, features * units))
        features = units
    return layers


def count_params(variant: str, classes: int = 1000, input_size: int | None = None, *, include_top: bool = True) -> int:
    """Number of trainable parameters of `variant` (with its `classes`-way top unless `include_top=False`).

    MACs and parameters count the convolutions and dense layers (biases included in the parameters); MACs are
    per image at `input_size` (default: the variant's), the usual convention (torchvision quotes 0.71 GFLOPS for its
    AlexNet, which is `count_macs("torchvision")`).
    """
    return sum(params for params, _ in _layer_counts(variant, classes, input_size, include_top))


def count_macs(variant: str, classes: int = 1000, input_size: int | None = None, *, include_top: bool = True) -> int:
    """Multiply-accumulates of the convs and dense layers for one image at `input_size`.

    >>> count_macs("original"), count_macs("torchvision")
    (724406816, 714188480)
    """
    return sum(macs for _, macs in _layer_counts(variant, classes, input_size, include_top))
