"""`keras_alexnet.AlexNet`: the Keras Applications entry point (validate -> resolve -> build -> load).

1. validate the arguments (nothing fetched, nothing built);
2. resolve `weights` once (`keras_alexnet.pretrained.resolve_weights`: the cache,
   the Hub copy, then an original converted here) into local files and their
   `NetworkRecord`;
3. build the network (`keras_alexnet.models.build.build_alexnet`), carrying its
   record in its config (`keras_alexnet.network_record`);
4. load the resolved weights (`keras_alexnet.weights.loading.load_resolved_weights`).

Example:

>>> import keras_alexnet
>>> keras_alexnet.network_record(keras_alexnet.AlexNet(remove=("conv4",))).removed
('conv4',)
"""

from __future__ import annotations

import contextlib
import numbers
import os

import keras

from keras_alexnet.models.build import build_alexnet, channels_axis, default_model_name, default_shape
from keras_alexnet.models.config import NETWORK_FILENAME, LRNConfig, NetworkRecord, get_variant
from keras_alexnet.models.model import AlexNetModel
from keras_alexnet.performance import dtype_policy_scope
from keras_alexnet.pretrained import resolve_weights
from keras_alexnet.weights.hub import parse_hf_uri
from keras_alexnet.weights.loading import load_resolved_weights
from keras_alexnet.weights.registry import get_weights_record, is_registered
from keras_alexnet.weights.resolve import HF_PREFIX, is_valid_weights_argument

POOLINGS = (None, "avg", "max")


def AlexNet(
    include_top: bool = True,
    weights: str | os.PathLike | None = None,
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int | None = None,
    classifier_activation: str | None = "softmax",
    variant: str | None = None,
    name: str | None = None,
    *,
    lrn: LRNConfig | dict | None = None,
    conv_implementation: str = "auto",
    remove: tuple[str, ...] | list[str] = (),
    dtype: str | None = None,
) -> AlexNetModel:
    """Instantiate AlexNet (Krizhevsky, Sutskever and Hinton, NeurIPS 2012).

    The model takes input already prepared by
    `keras_alexnet.preprocess_input` (there is no preprocessing inside the
    network), and returns class probabilities (or logits with
    `classifier_activation=None`).

    Args:
        include_top: whether to include the three dense layers (fc6, fc7 and
            the classifier `predictions`). With the top, the input must be the
            variant's default size (227 for "original", 224 for
            "torchvision"); without it, any size from the variant's minimum
            (67 and 63 pixels).
        weights: None (random initialisation as in Keras), "imagenet" (alias
            of "bvlc_imagenet1k"), a registered weights name (see
            `keras_alexnet.list_weights()`), an `hf://org/repo[@revision]`
            URI, a checkpoint directory, a `.weights.h5` file or a `.keras`
            file.
        input_tensor: optional Keras tensor to use as the model's input.
        input_shape: optional shape tuple, `(H, W, 3)` for channels-last.
        pooling: with `include_top=False`, None (the 4D `pool5` output),
            "avg" or "max" (global pooling to a 2D output).
        classes: number of classes, with `include_top=True`. None: the
            class count the checkpoint records (1000 for ImageNet, 10 for
            the quickstart's digits), else 1000. Pretrained weights require
            the checkpoint's class count.
        classifier_activation: activation of the `predictions` layer; with
            pretrained weights only None or "softmax".
        variant: "original" (the paper's two-tower network with LRN,
            60,965,224 parameters) or "torchvision" (single tower, no LRN,
            61,100,840 parameters). None means the checkpoint's variant when
            `weights` names one, else "original". Asking for a variant other
            than the checkpoint's is an error.
        name: model name; defaults to "alexnet" or "alexnet_torchvision".
        lrn: LRN constants (`LRNConfig` or its dict) for a randomly
            initialised network or a bare `.weights.h5` file; defaults to the
            paper's (k=2, n=5, alpha=1e-4, beta=0.75, summing). Checkpoints
            that record their LRN convention (BVLC: k=1, averaging) always
            use their own.
        conv_implementation: "auto", "fused" or "split", for the two-tower
            layers (see `keras_alexnet.layers.GroupedConv2D`).
        remove: conv layers to leave out, for the paper's depth ablation
            (Section 7), e.g. `("conv4",)`; the spatial geometry is kept, so
            fc6 keeps its input size (see `VariantConfig.ablation` and
            docs/analysis.md). Only with `weights=None`.
        dtype: a Keras dtype policy name for the whole model, e.g.
            "mixed_bfloat16" (bfloat16 compute, float32 variables: about 1.5x
            faster inference on CPUs with AVX512-BF16/AMX, see
            docs/performance.md); the classifier layer and its softmax stay
            float32. None uses the global policy (`keras.config.dtype_policy()`).

    Returns:
        A `keras.Model` (an `AlexNetModel`, whose config carries its `NetworkRecord`: see
        `keras_alexnet.network_record`).

    Example:

    >>> import numpy as np, keras_alexnet
    >>> model = keras_alexnet.AlexNet(weights=None)
    >>> model.count_params()
    60965224
    >>> model.predict(np.zeros((1, 227, 227, 3)), verbose=0).shape
    (1, 1000)
    """
    with dtype_policy_scope(dtype) if dtype is not None else contextlib.nullcontext():
        return _alexnet(
            include_top=include_top,
            weights=weights,
            input_tensor=input_tensor,
            input_shape=input_shape,
            pooling=pooling,
            classes=classes,
            classifier_activation=classifier_activation,
            variant=variant,
            name=name,
            lrn=lrn,
            conv_implementation=conv_implementation,
            remove=remove,
        )


def _alexnet(
    *,
    include_top,
    weights,
    input_tensor,
    input_shape,
    pooling,
    classes,
    classifier_activation,
    variant,
    name,
    lrn,
    conv_implementation,
    remove,
) -> AlexNetModel:
    """Validate -> resolve (once) -> build -> load, under the caller's dtype policy."""
    remove = _validate(weights, include_top, pooling, classes, classifier_activation, variant, remove)
    pretrained = weights is not None
    known = _known_network(weights) if pretrained else None  # from the registry or keras_alexnet.json: no fetch
    if classes is None and known is not None:
        classes = known.classes
    if known is not None:
        _check_against_network(known, os.fspath(weights), variant, include_top, classes, lrn)
    if input_shape is not None:  # fail on a bad shape before fetching any weights
        hint = get_variant(known.variant if known is not None else variant or "original")
        _check_input_shape(hint, include_top, pretrained, input_shape)

    resolved = resolve_weights(weights) if pretrained else None
    network = resolved.network if resolved is not None else None
    if classes is None:
        classes = network.classes if network is not None else 1000
    if network is not None and known is None:  # an hf:// URI: its record is known only now
        _check_against_network(network, resolved.description, variant, include_top, classes, lrn)
    if network is not None:
        variant, lrn = network.variant, network.lrn
    config = get_variant(variant or "original")
    lrn = _as_lrn(lrn) if lrn is not None else config.lrn

    record = NetworkRecord(
        variant=config.name,
        classes=classes if include_top else (network.classes if network else classes),
        lrn=lrn,
        input_size=network.input_size if network else config.default_size,
        preprocessing=network.preprocessing if network else config.preprocessing,
        categories=network.categories if network else "imagenet1k",
        # The weights' class names and pixel mean hold for their own top only.
        class_names=network.class_names if network and include_top and classes == network.classes else None,
        pixel_mean=network.pixel_mean if network else None,
        removed=remove,
    )
    model = build_alexnet(
        config,
        _make_inputs(config, include_top, pretrained, input_tensor, input_shape),
        include_top=include_top,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        lrn=lrn,
        conv_implementation=conv_implementation,
        name=name or default_model_name(config, remove),
        remove=remove,
        placeholder_init=resolved is not None,  # every weight is loaded below
        network=record,
    )
    if resolved is not None:
        load_resolved_weights(model, resolved)
    return model


def _validate(weights, include_top, pooling, classes, classifier_activation, variant, remove) -> tuple[str, ...]:
    """Every check that needs neither the weights nor a model; returns `remove` as a tuple of names."""
    if variant is not None:
        get_variant(variant)  # raises on an unknown name
    if not is_valid_weights_argument(weights):
        raise ValueError(
            "The `weights` argument should be either `None` (random initialization), "
            "'imagenet' (pre-training on ImageNet), a registered weights name (see "
            "`keras_alexnet.list_weights()`), an 'hf://org/repo' URI, or the path to a "
            f"checkpoint directory, '.weights.h5' or '.keras' file. Received: weights={weights!r}"
        )
    if not isinstance(include_top, bool):
        raise ValueError(f"`include_top` must be True or False. Received: include_top={include_top!r}")
    if not isinstance(pooling, str | None) or pooling not in POOLINGS:
        raise ValueError(f"`pooling` must be one of {POOLINGS}. Received: pooling={pooling!r}")
    if classes is not None and (not isinstance(classes, int) or isinstance(classes, bool) or classes < 1):
        raise ValueError(f"`classes` must be a positive integer or None. Received: classes={classes!r}")
    remove = _as_layer_names(remove)
    _check_classifier_activation(classifier_activation)
    if remove and weights is not None:
        raise ValueError(
            "`remove` builds a new architecture, which pretrained weights do not fit; use "
            "weights=None and train it (load your own ablated weights with `model.load_weights`). "
            f"Received: remove={remove!r}, weights={weights!r}"
        )
    if weights is not None and include_top:
        _validate_classifier_activation(classifier_activation)
    return remove


def from_hub(repo_id: str, revision: str | None = None, **kwargs) -> AlexNetModel:
    """Build an AlexNet with the weights of Hub repo `repo_id` (any `AlexNet` keyword argument works).

    Example (needs network access and a published repo):

    >>> import keras_alexnet  # doctest: +SKIP
    >>> model = keras_alexnet.from_hub("keras-alexnet/alexnet-bvlc-imagenet1k")  # doctest: +SKIP
    """
    if "weights" in kwargs:
        raise ValueError(
            f"from_hub sets `weights` itself; pass repo_id instead. Received: weights={kwargs['weights']!r}"
        )
    uri = f"{HF_PREFIX}{repo_id}" + (f"@{revision}" if revision else "")
    parse_hf_uri(uri)
    return AlexNet(weights=uri, **kwargs)


def _known_network(weights) -> NetworkRecord | None:
    """The NetworkRecord of registered weights or a local checkpoint directory, without fetching."""
    text = os.fspath(weights)
    if is_registered(text):
        return get_weights_record(text).network
    if os.path.isfile(os.path.join(text, NETWORK_FILENAME)):
        return NetworkRecord.read(text)
    return None


def _check_against_network(network, description, variant, include_top, classes, lrn) -> None:
    if variant is not None and variant != network.variant:
        raise ValueError(
            f"The weights {description!r} belong to the {network.variant!r} variant, not {variant!r}. "
            f"Pass variant={network.variant!r} (or leave it unset). Received: variant={variant!r}"
        )
    if include_top and classes != network.classes:
        raise ValueError(
            f"The weights {description!r} have a {network.classes}-class top; with include_top=True, "
            f"`classes` must be {network.classes} (or use include_top=False and add your own head). "
            f"Received: classes={classes}"
        )
    if lrn is not None and _as_lrn(lrn) != network.lrn:
        raise ValueError(
            f"The weights {description!r} were trained with LRN {network.lrn}; they cannot be used "
            f"with other LRN constants. Received: lrn={lrn!r}"
        )


def _validate_classifier_activation(activation) -> None:
    if activation not in (None, "softmax"):
        raise ValueError(
            "Only None and 'softmax' are allowed for `classifier_activation` with pretrained "
            f"weights and include_top=True. Received: classifier_activation={activation!r}"
        )


def _as_layer_names(remove) -> tuple[str, ...]:
    if isinstance(remove, str):
        return (remove,)
    if not isinstance(remove, tuple | list) or not all(isinstance(name, str) for name in remove):
        raise ValueError(
            f"`remove` must be a conv layer name or a tuple of them, e.g. ('conv3',). Received: remove={remove!r}"
        )
    return tuple(remove)


def _check_classifier_activation(activation) -> None:
    """Any activation Keras knows (a name or a callable), or None; ValueError otherwise, before building."""
    if activation is None or callable(activation):
        return
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError) as error:
        raise ValueError(
            "`classifier_activation` must be None, a Keras activation name such as 'softmax', or a callable. "
            f"Received: classifier_activation={activation!r}"
        ) from error


def _as_lrn(lrn) -> LRNConfig:
    if isinstance(lrn, LRNConfig):
        return lrn
    if isinstance(lrn, dict):
        return LRNConfig.from_dict(lrn)
    raise ValueError(f"`lrn` must be an LRNConfig or a dict of its fields. Received: lrn={lrn!r}")


def _make_inputs(config, include_top, pretrained, input_tensor, input_shape):
    if input_shape is None and input_tensor is not None:
        input_shape = tuple(input_tensor.shape[1:])
    shape = _check_input_shape(config, include_top, pretrained, input_shape)
    if input_tensor is None:
        return keras.Input(shape=shape, name="input")
    if not keras.backend.is_keras_tensor(input_tensor):
        return keras.Input(tensor=input_tensor, shape=shape, name="input")
    return input_tensor


def _entries(shape) -> tuple | None:
    """The entries of a shape (tuple, list, TensorShape, ...); None for a string, a number or a mapping."""
    if isinstance(shape, str | bytes | dict):
        return None
    try:
        return tuple(shape)
    except TypeError:
        return None


def _check_input_shape(config, include_top, pretrained, input_shape) -> tuple:
    default = default_shape(config)
    if input_shape is None:
        return default if include_top else ((None, None, 3) if channels_axis() == -1 else (3, None, None))
    entries = _entries(input_shape)
    if entries is None or len(entries) != 3:
        raise ValueError(
            f"`input_shape` must have three entries, e.g. {default}. Received: input_shape={input_shape!r}"
        )
    for entry in entries:
        if entry is not None and (not isinstance(entry, numbers.Integral) or isinstance(entry, bool) or entry < 1):
            raise ValueError(
                f"`input_shape` entries must be positive integers (or None for a free spatial size), e.g. "
                f"{default}. Received: input_shape={entries!r}"
            )
    input_shape = tuple(None if entry is None else int(entry) for entry in entries)
    channel_axis = channels_axis()
    channels = input_shape[channel_axis]
    spatial = [s for i, s in enumerate(input_shape) if i != channel_axis % 3]
    if pretrained and channels != 3:
        raise ValueError(
            "Pretrained weights need 3-channel (colour) input; convert grayscale images to "
            f"RGB first. Received: input_shape={input_shape}"
        )
    if include_top:
        if tuple(spatial) != (config.default_size, config.default_size):
            raise ValueError(
                f"With include_top=True the {config.name!r} variant takes input of shape {default} "
                "(its fc6 layer expects a fixed size); use include_top=False for other sizes. "
                f"Received: input_shape={input_shape}"
            )
        return input_shape
    minimum = config.min_size()
    if any(s is not None and s < minimum for s in spatial):
        raise ValueError(
            f"The {config.name!r} variant needs input of at least {minimum}x{minimum} pixels. "
            f"Received: input_shape={input_shape}"
        )
    return input_shape
