"""Named AlexNet configurations, in one place.

Every architectural fact of a variant lives here: layer widths, kernel sizes,
strides, explicit padding, towers (groups), where Local Response Normalization
and max pooling go, the dense head, and the input the variant expects. The
builder (`keras_alexnet.AlexNet`), the `info` table, the converters and the
weights registry all read these records, so a fact is written once.

Example:

>>> from keras_alexnet.models.variants import get_variant
>>> get_variant("original").convs[1].groups
2
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable


@dataclasses.dataclass(frozen=True)
class LRNConfig:
    """Constants of a Local Response Normalization layer.

    `average=False` is the paper's convention (alpha multiplies the plain sum
    of squares over `size` channels); `average=True` divides alpha by `size`
    (Caffe, PyTorch, ONNX).
    """

    size: int = 5
    k: float = 2.0
    alpha: float = 1e-4
    beta: float = 0.75
    average: bool = False

    def __post_init__(self):
        from keras_alexnet.layers.local_response_normalization import check_lrn_constants

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
PAPER_LRN = LRNConfig(size=5, k=2.0, alpha=1e-4, beta=0.75, average=False)
#: The BVLC Caffe reference model's constants: k=1 and alpha divided by n.
CAFFE_LRN = LRNConfig(size=5, k=1.0, alpha=1e-4, beta=0.75, average=True)


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


def get_variant(name: str) -> VariantConfig:
    """Return the configuration named `name` ("original" or "torchvision")."""
    if not isinstance(name, str) or name not in VARIANTS:
        raise ValueError(f"Unknown AlexNet variant. Expected one of {sorted(VARIANTS)}. Received: variant={name!r}")
    return VARIANTS[name]
