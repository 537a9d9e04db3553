"""Turn weights in the originals' layout into a Keras AlexNet: the part every converter shares.

The originals (ONNX, PyTorch, Caffe) all store

- convolution kernels as `(out, in / groups, kh, kw)` (OIHW); Keras wants
  `(kh, kw, in / groups, out)` (HWIO), with the same grouping meaning;
- dense weights as `(out, in)`; Keras wants `(in, out)`;
- fc6 rows in the order of a channels-first flatten of pool5 (C, H, W); Keras
  flattens channels-last (H, W, C), so fc6's rows are permuted.

Channels are never flipped: the BVLC kernels stay BGR and the NetworkRecord
says so (preprocessing "caffe").

Each converter reduces its graph to a sequence of abstract operations
("conv", "relu", "lrn", "pool", "flatten", "dense", "softmax") and checks it
with `check_structure` against the variant's configuration.

Example:

>>> from keras_alexnet.convert.assemble import expected_structure
>>> expected_structure("original")[:4]
['conv', 'relu', 'lrn', 'pool']
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

from keras_alexnet.models.build import build_alexnet, default_input
from keras_alexnet.models.config import (
    VARIANT_NAMES,
    LRNConfig,
    NetworkRecord,
    VariantConfig,
    count_params,
    get_variant,
)
from keras_alexnet.models.model import AlexNetModel
from keras_alexnet.weights.loading import load_resolved_weights
from keras_alexnet.weights.resolved import read_checkpoint_dir

#: Operations that do nothing at inference time and are skipped.
INFERENCE_NO_OPS = frozenset({"dropout", "identity"})


@dataclasses.dataclass
class SourceWeights:
    """The weights of one original, in the originals' layout (OIHW, (out, in), CHW-flattened fc6)."""

    variant: str
    convs: list[tuple[np.ndarray, np.ndarray]]
    denses: list[tuple[np.ndarray, np.ndarray]]
    lrn: LRNConfig | None
    source: str


def expected_structure(variant: str, softmax: bool = False) -> list[str]:
    """The abstract operation sequence of `variant`, from its input to its logits (or probabilities)."""
    config = get_variant(variant)
    ops: list[str] = []
    for spec in config.convs:
        ops += ["conv", "relu"]
        if spec.norm and config.lrn is not None:
            ops.append("lrn")
        if spec.pool:
            ops.append("pool")
    ops.append("flatten")
    for _ in config.dense_units:
        ops += ["dense", "relu"]
    ops.append("dense")
    return ops + (["softmax"] if softmax else [])


def check_structure(found: list[str], variant: str, source: str, names: list[str] | None = None) -> None:
    """Raise ValueError unless `found` (no-ops removed) is the structure of `variant`."""
    found = [op for op in found if op not in INFERENCE_NO_OPS]
    expected = expected_structure(variant)
    if found[-1:] == ["softmax"]:
        expected.append("softmax")
    if found == expected:
        return
    position = next((i for i, (a, b) in enumerate(zip(found, expected, strict=False)) if a != b), None)
    if position is None:
        position = min(len(found), len(expected))
    where = ""
    if names is not None and position < len(names):
        where = f" (node {names[position]!r})"
    raise ValueError(
        f"{source} does not have the structure of the {variant!r} AlexNet: expected the operations "
        f"{expected}, found {found}; the first difference is at position {position}{where}. "
        f"Only the two AlexNet variants can be converted. Received: {source}"
    )


def check_conv(
    index: int, variant: str, source: str, *, kernel: tuple, strides: tuple, pads: tuple, groups: int
) -> None:
    """Raise ValueError unless conv stage `index` has the variant's kernel, stride, padding and groups."""
    spec = get_variant(variant).convs[index]
    expected = dict(
        kernel=(spec.kernel_size,) * 2, strides=(spec.strides,) * 2, pads=(spec.padding,) * 4, groups=spec.groups
    )
    found = dict(kernel=tuple(kernel), strides=tuple(strides), pads=tuple(pads), groups=int(groups))
    if found != expected:
        raise ValueError(
            f"{source}: convolution {index + 1} ({spec.name}) has {found}, but the {variant!r} AlexNet "
            f"has {expected}. Received: {found}"
        )


def pool_input_sizes(variant: str) -> list[int]:
    """Spatial side of each max pooling's input at the variant's default input size."""
    config = get_variant(variant)
    sizes, size = [], config.default_size
    for spec in config.convs:
        size = (size + 2 * spec.padding - spec.kernel_size) // spec.strides + 1
        if spec.pool:
            sizes.append(size)
            size = (size - config.pool_size) // config.pool_strides + 1
    return sizes


def check_pool(
    index: int,
    variant: str,
    source: str,
    *,
    kernel: tuple,
    strides: tuple,
    pads: tuple,
    ceil_mode: bool,
) -> None:
    """Raise ValueError unless max pooling `index` computes the variant's unpadded 3x3 / stride 2 pooling.

    Padding only at the end (bottom/right), or rounding up (Caffe, ONNX `ceil_mode`), are accepted when, at
    the variant's input size, no window reaches past the input, so that the result is the same (exporters
    add such padding to emulate Caffe's rounding at another input size).
    """
    config = get_variant(variant)
    expected = dict(kernel=(config.pool_size,) * 2, strides=(config.pool_strides,) * 2)
    found = dict(kernel=tuple(kernel), strides=tuple(strides))
    pads = tuple(pads) or (0, 0, 0, 0)
    sizes = pool_input_sizes(variant)
    if index >= len(sizes) or found != expected or len(pads) != 4 or pads[0] or pads[1]:
        raise ValueError(
            f"{source}: max pooling {index + 1} has {found} and pads {pads}; the {variant!r} AlexNet has "
            f"{len(sizes)} max poolings with {expected} and no padding. Received: {found}, pads={pads}"
        )
    n, k, s = sizes[index], config.pool_size, config.pool_strides
    valid = (n - k) // s + 1
    for end in pads[2:]:
        rounded = -((n + end - k) // -s) if ceil_mode else (n + end - k) // s
        if rounded + 1 != valid:
            raise ValueError(
                f"{source}: max pooling {index + 1} (input {n}x{n}) with end padding {end} and "
                f"ceil_mode={int(ceil_mode)} gives {rounded + 1} outputs; AlexNet's unpadded pooling gives {valid}. "
                f"Received: pads={pads}, ceil_mode={int(ceil_mode)}"
            )


def variant_from_first_conv(out_channels: int, source: str) -> str:
    """ "original" for 96 conv1 filters, "torchvision" for 64."""
    for name in VARIANT_NAMES:
        if get_variant(name).convs[0].filters == out_channels:
            return name
    raise ValueError(
        f"{source}: the first convolution has {out_channels} filters; AlexNet's has 96 (original, "
        f"two towers) or 64 (torchvision). Received: {out_channels} filters"
    )


def check_shapes(weights: SourceWeights, config: VariantConfig) -> int:
    """Raise ValueError unless every array has the variant's shape; return the class count."""
    if len(weights.convs) != len(config.convs) or len(weights.denses) != len(config.dense_units) + 1:
        raise ValueError(
            f"{weights.source}: expected {len(config.convs)} convolutions and {len(config.dense_units) + 1} "
            f"dense layers, found {len(weights.convs)} and {len(weights.denses)}. "
            f"Received: {weights.source}"
        )
    in_channels = 3
    for spec, (kernel, bias) in zip(config.convs, weights.convs, strict=True):
        expected = (spec.filters, in_channels // spec.groups, spec.kernel_size, spec.kernel_size)
        _expect_shape(weights.source, f"{spec.name} kernel", kernel, expected)
        _expect_shape(weights.source, f"{spec.name} bias", bias, (spec.filters,))
        in_channels = spec.filters
    pool5 = config.spatial_sizes(config.default_size)[-1]
    fan_in = in_channels * pool5 * pool5
    classes = int(np.shape(weights.denses[-1][0])[0]) if np.ndim(weights.denses[-1][0]) == 2 else -1
    units = (*config.dense_units, classes)
    for i, (units_i, (weight, bias)) in enumerate(zip(units, weights.denses, strict=True)):
        name = f"fc{i + 6}"
        _expect_shape(weights.source, f"{name} weight (out, in)", weight, (units_i, fan_in))
        _expect_shape(weights.source, f"{name} bias", bias, (units_i,))
        fan_in = units_i
    return classes


def to_keras(weights: SourceWeights) -> tuple[AlexNetModel, NetworkRecord]:
    """Build the Keras AlexNet of `weights.variant` (`keras_alexnet.models.build`) and load `weights` into it.

    Returns:
        `(model, NetworkRecord)`; the model has a softmax classifier.
    """
    config = get_variant(weights.variant)
    classes = check_shapes(weights, config)
    for array in [a for pair in (*weights.convs, *weights.denses) for a in pair]:
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{weights.source} holds NaN or infinite weights. Received: {weights.source}")
    network = NetworkRecord(variant=config.name, classes=classes, lrn=weights.lrn if config.lrn else None)
    model = build_alexnet(
        config, default_input(config), classes=classes, lrn=network.lrn, network=network, placeholder_init=True
    )
    for name, values in keras_layer_weights(config, weights.convs, weights.denses).items():
        model.get_layer(name).set_weights(values)
    return model, network


def keras_layer_weights(config: VariantConfig, convs, denses) -> dict[str, list[np.ndarray]]:
    """Layer name -> `[kernel, bias]` in Keras' layout, from `(weight, bias)` pairs in the originals' layout.

    `convs`: `(OIHW kernel, bias)` per conv stage; `denses`: `((out, in) weight, bias)` for fc6, fc7 and the
    classifier, fc6's rows in CHW-flatten order. The one place this reordering is written (the converters
    and `benchmarks/peers.py` use it).

    >>> oihw_to_hwio(np.zeros((64, 3, 11, 11))).shape  # what each conv kernel goes through
    (11, 11, 3, 64)
    """
    pairs = zip(config.convs, convs, strict=True)
    out = {spec.name: [oihw_to_hwio(kernel), np.asarray(bias)] for spec, (kernel, bias) in pairs}
    side = config.spatial_sizes(config.default_size)[-1]
    channels = config.convs[-1].filters
    names = [f"fc{i + 6}" for i in range(len(config.dense_units))] + ["predictions"]
    for i, (name, (weight, bias)) in enumerate(zip(names, denses, strict=True)):
        kernel = np.asarray(weight).T
        if i == 0:
            kernel = chw_rows_to_hwc(kernel, channels, side, side)
        out[name] = [kernel, np.asarray(bias)]
    return out


def oihw_to_hwio(kernel: np.ndarray) -> np.ndarray:
    """A convolution kernel from `(out, in / groups, kh, kw)` (ONNX, PyTorch, Caffe) to Keras' `(kh, kw, in, out)`."""
    return np.transpose(kernel, (2, 3, 1, 0))


def chw_rows_to_hwc(kernel: np.ndarray, channels: int, height: int, width: int) -> np.ndarray:
    """Reorder the rows of a `(C*H*W, units)` dense kernel from CHW to HWC flattening order.

    >>> k = np.arange(2 * 3 * 3).reshape(2 * 3 * 3, 1)  # rows numbered in CHW order
    >>> chw_rows_to_hwc(k, 2, 3, 3)[:4, 0].tolist()  # HWC: (h0,w0,c0), (h0,w0,c1), (h0,w1,c0), ...
    [0, 9, 1, 10]
    """
    units = kernel.shape[1]
    return kernel.reshape(channels, height, width, units).transpose(1, 2, 0, 3).reshape(-1, units)


def expected_parameters(variant: str, classes: int) -> int:
    """Parameter count of `variant` with a `classes`-way classifier (`keras_alexnet.models.config.count_params`)."""
    return count_params(variant, classes)


def load_converted(directory, *, classifier_activation: str | None = "softmax") -> keras.Model:
    """The model of the checkpoint `directory` (as `AlexNet(weights=directory)` builds it), for the checks."""
    resolved = read_checkpoint_dir(directory)
    network = resolved.network
    config = get_variant(network.variant)
    model = build_alexnet(
        config,
        default_input(config),
        classes=network.classes,
        classifier_activation=classifier_activation,
        lrn=network.lrn,
        network=network,
        placeholder_init=True,
    )
    load_resolved_weights(model, resolved)
    return model


def check_metadata(model, network: NetworkRecord, source: str) -> None:
    """Raise ValueError unless `model` has the variant's parameter count and output shape."""
    expected = expected_parameters(network.variant, network.classes)
    count = model.count_params()
    shape = tuple(model.output_shape)
    if count != expected or shape != (None, network.classes):
        raise ValueError(
            f"The network converted from {source} has {count:,} parameters and output shape {shape}; "
            f"the {network.variant!r} AlexNet has {expected:,} and (None, {network.classes}). "
            f"Received: {source}"
        )


def _expect_shape(source: str, what: str, array, expected: tuple) -> None:
    shape = tuple(np.shape(array))
    if shape != tuple(expected):
        raise ValueError(f"{source}: {what} has shape {shape}, expected {tuple(expected)}. Received: shape {shape}")
