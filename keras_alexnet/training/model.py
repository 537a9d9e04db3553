"""The network a training run builds: AlexNet with the paper's (or BVLC's) initialisation and dropout.

Example:

>>> from keras_alexnet.training.model import build_training_model
>>> model = build_training_model(num_classes=10, image_size=67)
>>> model.output_shape, model.get_layer("drop6").rate
((None, 10), 0.5)
"""

from __future__ import annotations

import keras

from keras_alexnet.applications import AlexNet
from keras_alexnet.models.build import build_alexnet, default_model_name
from keras_alexnet.models.variants import get_variant
from keras_alexnet.training.initialization import (
    INIT_CHOICES,
    LSUV,
    SCHEMES,
    apply_he_initialization,
    apply_initialization,
)


def build_training_model(
    num_classes: int,
    image_size: int | None = None,
    variant: str = "original",
    dropout: float = 0.5,
    init: str = "paper",
    seed: int = 0,
    remove: tuple[str, ...] = (),
) -> keras.Model:
    """AlexNet (`variant`) for `num_classes` at `image_size` (default: the variant's), softmax output.

    At the variant's own size this is exactly `keras_alexnet.AlexNet(weights=None, classes=...)`; at
    another size (at least the variant's minimum, 67 for "original") it is the same layers with fc6
    sized for that input. `remove` leaves conv stages out (the paper's depth ablation, see `AlexNet`).
    `init`: "paper" (the default), "bvlc" (BVLC's Caffe reference model), "lsuv" (He's N(0, 2/fan_in), to be
    scaled on a training batch by `scale_to_unit_activations`) or "keras" (the layers' defaults).
    """
    config = get_variant(variant)
    image_size = image_size or config.default_size
    if image_size == config.default_size:
        model = AlexNet(weights=None, classes=num_classes, variant=variant, remove=remove)
    else:
        if image_size < config.min_size():
            raise ValueError(
                f"The {variant!r} variant needs images of at least {config.min_size()} pixels. "
                f"Received: image_size={image_size}"
            )
        model = build_alexnet(
            config,
            keras.Input((image_size, image_size, 3), name="input"),
            include_top=True,
            pooling=None,
            classes=num_classes,
            classifier_activation="softmax",
            lrn=config.lrn,
            conv_implementation="auto",
            name=default_model_name(config, tuple(remove)),
            remove=tuple(remove),
        )
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = dropout
    if init in SCHEMES:
        apply_initialization(model, init, seed=seed)
    elif init == LSUV:
        apply_he_initialization(model, seed=seed)  # the trainer then scales it on a batch (LSUV)
    elif init != "keras":
        raise ValueError(f"`init` must be one of {INIT_CHOICES}. Received: init={init!r}")
    return model
