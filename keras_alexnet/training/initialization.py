"""Initialisations of a training run: the paper's (Section 5) and BVLC's (the Caffe reference model).

`paper`: "We initialized the weights in each layer from a zero-mean Gaussian distribution
with standard deviation 0.01. We initialized the neuron biases in the second,
fourth, and fifth convolutional layers, as well as in the fully-connected hidden
layers, with the constant 1 ... We initialized the neuron biases in the remaining
layers with the constant 0."

`bvlc`: how BVLC's `models/bvlc_alexnet/train_val.prototxt` trained the reference
CaffeNet-style AlexNet (the `imagenet` weights' original): weights N(0, 0.01),
except fc6 and fc7 N(0, 0.005); biases 0.1 in conv2, conv4, conv5, fc6 and fc7, 0
in conv1, conv3 and fc8 (BVLC's readme: initialising them to 1 "gave flat loss").

`lsuv`: not the paper's: a data-dependent initialisation for short runs (the
quickstart preset, `keras_alexnet.training.presets`). Kernels ~ N(0, 2 / fan_in)
(He et al. 2015), biases 0, then each layer's kernel is rescaled, in order, so
that its output on one training batch has a root mean square of 1 (the logits:
a standard deviation of 1), "layer-sequential unit variance" (Mishkin and Matas,
ICLR 2016; Kraehenbuehl et al., ICLR 2016 did the same for AlexNet). The paper's
N(0, 0.01) keeps the signal small through eight layers, so SGD needs thousands
of steps before the loss moves; unit activations let a few hundred suffice.

Layers are mapped by *role*, the paper's and Caffe's layer names, which are the
Keras layer names of both variants: conv1..conv5, fc6, fc7 and `predictions`
(Caffe's fc8). torchvision's PyTorch modules have other names; their roles are
`TORCHVISION_ROLES` (features.0/3/6/8/10 = conv1..conv5, classifier.1/4/6 = fc6,
fc7, fc8), and `bvlc` on the "torchvision" variant gives each of its layers its
role's BVLC init (the widths differ, the per-role std and bias do not). A layer
with a kernel but no role (a renamed or added layer) is refused by `bvlc` (the
prototxt says nothing about it); `paper` gives it N(0, 0.01) and bias 0 (the
paper's "remaining layers").

Example:

>>> import keras_alexnet
>>> from keras_alexnet.training.initialization import apply_initialization, apply_paper_initialization
>>> model = apply_paper_initialization(keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3)))
>>> float(model.get_layer("conv2").bias.numpy().min()), float(model.get_layer("conv3").bias.numpy().max())
(1.0, 0.0)
>>> model = apply_initialization(model, "bvlc", seed=1)
>>> round(float(model.get_layer("conv2").bias.numpy().max()), 6), float(model.get_layer("conv1").bias.numpy().max())
(0.1, 0.0)
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class LayerInit:
    """A layer's initialisation: kernel ~ N(0, std), bias = the constant `bias`."""

    std: float
    bias: float


#: The roles (Caffe's and the Keras models' layer names; `predictions` is Caffe's fc8).
ROLES = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "predictions")
#: torchvision's module names -> role.
TORCHVISION_ROLES = {
    "features.0": "conv1",
    "features.3": "conv2",
    "features.6": "conv3",
    "features.8": "conv4",
    "features.10": "conv5",
    "classifier.1": "fc6",
    "classifier.4": "fc7",
    "classifier.6": "predictions",
}
#: Layers whose biases start at 1 (paper) or 0.1 (BVLC): conv2, conv4, conv5 and the hidden dense layers fc6, fc7.
ONE_BIAS_LAYERS = ("conv2", "conv4", "conv5", "fc6", "fc7")


@dataclasses.dataclass(frozen=True)
class InitScheme:
    """Per-role `LayerInit`s; `default` for a layer with a kernel and no role (None: such a layer is refused)."""

    name: str
    layers: dict[str, LayerInit]
    default: LayerInit | None
    source: str

    def for_layer(self, name: str) -> LayerInit:
        if name in self.layers:
            return self.layers[name]
        if self.default is not None:
            return self.default
        raise ValueError(
            f"The {self.name!r} initialisation ({self.source}) covers the layers {sorted(self.layers)}; layer "
            f"{name!r} has a kernel and none of those roles. Rename it to its role, or use --init paper or "
            f"--init keras. Received: layer {name!r}"
        )


PAPER = InitScheme(
    "paper",
    {role: LayerInit(0.01, 1.0 if role in ONE_BIAS_LAYERS else 0.0) for role in ROLES},
    default=LayerInit(0.01, 0.0),
    source="Krizhevsky et al. 2012, Section 5",
)
BVLC = InitScheme(
    "bvlc",
    {
        role: LayerInit(0.005 if role in ("fc6", "fc7") else 0.01, 0.1 if role in ONE_BIAS_LAYERS else 0.0)
        for role in ROLES
    },
    default=None,
    source="BVLC's models/bvlc_alexnet/train_val.prototxt",
)
#: `--init` values that re-draw the weights (`keras` keeps the layers' own initializers).
SCHEMES = {scheme.name: scheme for scheme in (PAPER, BVLC)}
#: The data-dependent initialisation (`scale_to_unit_activations` on a training batch).
LSUV = "lsuv"
#: Every `--init` value: the paper's (the default), BVLC's, LSUV, or the Keras layers' own initializers.
INIT_CHOICES = (*SCHEMES, LSUV, "keras")


def apply_initialization(model, scheme: str | InitScheme, seed: int = 0):
    """Re-initialise every layer with a `kernel` as `scheme` ("paper", "bvlc" or an `InitScheme`) says; returns `model`.

    Draws in layer order from `numpy.random.default_rng(seed)`. Raises ValueError for an unknown scheme
    or, before anything is assigned, for a layer that the scheme does not cover.
    """
    if isinstance(scheme, str):
        if scheme not in SCHEMES:
            raise ValueError(f"Unknown initialisation; expected one of {sorted(SCHEMES)}. Received: {scheme!r}")
        scheme = SCHEMES[scheme]
    layers = [layer for layer in model.layers if getattr(layer, "kernel", None) is not None]
    plan = [(layer, scheme.for_layer(layer.name)) for layer in layers]
    rng = np.random.default_rng(seed)
    for layer, init in plan:
        kernel = layer.kernel
        kernel.assign(rng.normal(0.0, init.std, size=tuple(kernel.shape)).astype(kernel.dtype))
        bias = getattr(layer, "bias", None)
        if bias is not None:
            bias.assign(np.full(tuple(bias.shape), init.bias, bias.dtype))
    return model


def apply_paper_initialization(
    model, seed: int = 0, std: float = 0.01, one_bias_layers: tuple[str, ...] = ONE_BIAS_LAYERS
):
    """Re-initialise every layer with a `kernel`: weights ~ N(0, std), biases 1 in `one_bias_layers`, else 0."""
    scheme = InitScheme(
        "paper",
        {role: LayerInit(std, 1.0 if role in one_bias_layers else 0.0) for role in (*ROLES, *one_bias_layers)},
        default=LayerInit(std, 0.0),
        source=PAPER.source,
    )
    return apply_initialization(model, scheme, seed)


def apply_he_initialization(model, seed: int = 0):
    """Kernels ~ N(0, 2 / fan_in) (He et al. 2015; fan_in per group for the two-tower layers), biases 0."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        fan_in = int(np.prod(kernel.shape[:-1]))
        kernel.assign(rng.normal(0.0, np.sqrt(2.0 / fan_in), size=tuple(kernel.shape)).astype(kernel.dtype))
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(np.zeros(tuple(layer.bias.shape), layer.bias.dtype))
    return model


def scale_to_unit_activations(model, batch) -> dict[str, float]:
    """Rescale each kernel, in layer order, so its layer's output on `batch` has RMS 1 (logits: std 1).

    The layers' biases must be 0 (`apply_he_initialization`), so that an output scales with its kernel
    (ReLU is positively homogeneous). Dropout is off while measuring. Returns each layer's factor.

    Example:

    >>> import keras, numpy as np
    >>> from keras_alexnet.training.model import build_training_model
    >>> model = build_training_model(10, 67, init="lsuv")
    >>> x = np.random.default_rng(0).normal(0, 50, (4, 67, 67, 3)).astype("float32")
    >>> factors = scale_to_unit_activations(model, x)
    >>> conv1 = keras.Model(model.input, model.get_layer("conv1").output)(x, training=False)
    >>> round(float(np.sqrt(np.mean(np.square(conv1)))), 3)
    1.0
    """
    import keras

    factors = {}
    for layer in [layer for layer in model.layers if getattr(layer, "kernel", None) is not None]:
        if getattr(layer, "activation", None) is keras.activations.softmax:
            features = keras.Model(model.input, layer.input)(batch, training=False)
            logits = keras.ops.matmul(features, layer.kernel)
            scale = float(keras.ops.std(logits))
        else:
            output = keras.Model(model.input, layer.output)(batch, training=False)
            scale = float(keras.ops.sqrt(keras.ops.mean(keras.ops.square(keras.ops.cast(output, "float32")))))
        if not np.isfinite(scale) or scale <= 0:
            raise ValueError(
                f"Layer {layer.name!r} gives no signal on the initialisation batch (RMS {scale}); check the input "
                f"preprocessing. Received: RMS {scale}"
            )
        layer.kernel.assign(layer.kernel / scale)
        factors[layer.name] = 1.0 / scale
    return factors
