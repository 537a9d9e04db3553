"""`build_alexnet`: the layers of a variant on an input, as a pure function (no I/O, no weights).

`keras_alexnet.AlexNet` validates its arguments, resolves the weights, calls
`build_alexnet`, then loads the weights; training and the converters call it
directly.

Example:

>>> from keras_alexnet.models.build import build_alexnet, default_input
>>> from keras_alexnet.models.config import PAPER_LRN, get_variant
>>> config = get_variant("original")
>>> build_alexnet(config, default_input(config), lrn=PAPER_LRN).count_params()
60965224
"""

from __future__ import annotations

import keras

from keras_alexnet.layers import GroupedConv2D, LocalResponseNormalization
from keras_alexnet.models.config import LRNConfig, NetworkRecord, VariantConfig
from keras_alexnet.models.model import AlexNetModel
from keras_alexnet.performance import output_layer_dtype


def build_alexnet(
    config: VariantConfig,
    inputs,
    *,
    include_top: bool = True,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation="softmax",
    lrn: LRNConfig | None,
    conv_implementation: str = "auto",
    name: str | None = None,
    remove: tuple[str, ...] = (),
    placeholder_init: bool = False,
    network: NetworkRecord | None = None,
) -> AlexNetModel:
    """Build the layers of `config` on `inputs` (no argument checks but `remove`'s; no I/O, no weights).

    `placeholder_init=True` creates the variables as zeros instead of drawing random values, for a model
    whose every weight is loaded next: drawing 61M random numbers costs about 330 MB of peak memory. The
    layers keep their usual initializers in their configs. `network` is the record the model carries
    (`keras_alexnet.models.network_record`); by default the one these arguments describe.

    Example:

    >>> from keras_alexnet.models.config import get_variant
    >>> config = get_variant("torchvision")
    >>> model = build_alexnet(config, default_input(config), include_top=False, lrn=None)
    >>> model.count_params(), model.network.variant
    (2469696, 'torchvision')
    """

    def apply(layer, tensor):
        if not placeholder_init:
            return layer(tensor)
        saved = layer.kernel_initializer, layer.bias_initializer
        layer.kernel_initializer = layer.bias_initializer = keras.initializers.Zeros()
        try:
            return layer(tensor)
        finally:
            layer.kernel_initializer, layer.bias_initializer = saved

    remove = tuple(remove)
    if network is None:
        network = NetworkRecord(variant=config.name, classes=classes if include_top else 1000, lrn=lrn, removed=remove)
    x = inputs
    for stage in config.ablation(remove):
        spec = stage.spec
        index = spec.name.removeprefix("conv")
        if stage.removed:
            if not stage.keeps_geometry_without_layer:
                if spec.padding:
                    x = keras.layers.ZeroPadding2D(spec.padding, name=f"{spec.name}_pad")(x)
                x = keras.layers.AveragePooling2D(spec.kernel_size, spec.strides, name=f"{spec.name}_removed")(x)
            if spec.pool:
                x = keras.layers.MaxPooling2D(config.pool_size, config.pool_strides, name=f"pool{index}")(x)
            continue
        conv_padding = "valid"
        if spec.strides == 1 and 2 * spec.padding == spec.kernel_size - 1:
            conv_padding = "same"
        elif spec.padding:
            x = keras.layers.ZeroPadding2D(spec.padding, name=f"{spec.name}_pad")(x)
        conv_kwargs = dict(strides=spec.strides, padding=conv_padding, activation="relu", name=spec.name)
        if spec.groups > 1:
            conv = GroupedConv2D(
                spec.filters,
                spec.kernel_size,
                groups=spec.groups,
                implementation=conv_implementation,
                **conv_kwargs,
            )
        else:
            conv = keras.layers.Conv2D(spec.filters, spec.kernel_size, **conv_kwargs)
        x = apply(conv, x)
        if spec.norm and lrn is not None:
            x = LocalResponseNormalization(**lrn.to_dict(), name=f"norm{index}")(x)
        if spec.pool:
            x = keras.layers.MaxPooling2D(config.pool_size, config.pool_strides, name=f"pool{index}")(x)

    if include_top:
        x = keras.layers.Flatten(name="flatten")(x)
        for i, units in enumerate(config.dense_units, start=6):
            if config.dropout_position == "before_dense":
                x = keras.layers.Dropout(config.dropout_rate, name=f"drop{i}")(x)
            x = apply(keras.layers.Dense(units, activation="relu", name=f"fc{i}"), x)
            if config.dropout_position == "after_relu":
                x = keras.layers.Dropout(config.dropout_rate, name=f"drop{i}")(x)
        classifier = keras.layers.Dense(
            classes, activation=classifier_activation, name="predictions", dtype=output_layer_dtype()
        )
        x = apply(classifier, x)
    elif pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = keras.layers.GlobalMaxPooling2D(name="max_pool")(x)

    sources = keras.utils.get_source_inputs(inputs)
    name = name or default_model_name(config, remove)
    return AlexNetModel(sources[0] if len(sources) == 1 else sources, x, name=name, network=network)


def default_model_name(config: VariantConfig, remove: tuple[str, ...] = ()) -> str:
    """ "alexnet" for the original, "alexnet_<variant>" otherwise, with "_no_<layer>" per removed stage."""
    base = "alexnet" if config.name == "original" else f"alexnet_{config.name}"
    return base + "".join(f"_no_{layer}" for layer in remove)


def has_top(model) -> bool:
    """Whether `model` has AlexNet's classifier (a `predictions` layer), i.e. was built with `include_top=True`."""
    return any(layer.name == "predictions" for layer in getattr(model, "layers", ()))


def channels_axis() -> int:
    """-1 for channels-last (the Keras default), 0 for channels-first, of a single image's shape."""
    return -1 if keras.config.image_data_format() == "channels_last" else 0


def default_shape(config: VariantConfig) -> tuple:
    """The shape of one image at the variant's default size, in the image data format."""
    size = config.default_size
    return (size, size, 3) if channels_axis() == -1 else (3, size, size)


def default_input(config: VariantConfig, name: str = "input"):
    """A `keras.Input` of the variant's default shape."""
    return keras.Input(shape=default_shape(config), name=name)
