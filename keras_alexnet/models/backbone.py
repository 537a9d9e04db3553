"""AlexNet's conv stack as a Keras class of its own: what a checkpoint's config.json describes (format 2).

A checkpoint directory is a KerasHub preset, so its config.json names "keras_alexnet>AlexNetBackbone" (the
conv stack, conv1..pool5) and `keras.saving.load_model(directory)` rebuilds that class. With keras-hub installed,
`keras_alexnet.kerashub.AlexNetBackbone` (a `keras_hub.models.Backbone`) owns the name; without it,
`AlexNetBackboneModel` (a plain Keras model with the same arguments and layers) does, so the directory loads
everywhere. Both build their layers through `backbone_graph`; the full classifier is `keras_alexnet.AlexNet(weights=
directory)` or KerasHub's `ImageClassifier.from_preset(directory)`.

Example:

>>> AlexNetBackboneModel(variant="torchvision").count_params()
2469696
"""

from __future__ import annotations

import keras

from keras_alexnet.models.build import build_alexnet
from keras_alexnet.models.config import LRNConfig, get_variant

PACKAGE = "keras_alexnet"
BACKBONE_CLASS_NAME = "AlexNetBackbone"
BACKBONE_REGISTERED_NAME = f"{PACKAGE}>{BACKBONE_CLASS_NAME}"


def backbone_graph(
    variant: str = "original",
    lrn: LRNConfig | dict | None = None,
    image_shape=None,
    conv_implementation: str = "auto",
    remove=(),
) -> tuple[keras.KerasTensor, keras.KerasTensor, dict]:
    """The conv stack's input and output tensors, and its arguments as they go into `get_config()`."""
    config = get_variant(variant)
    lrn_config = LRNConfig.from_dict(lrn) if isinstance(lrn, dict) else (lrn or config.lrn)
    if image_shape is None:
        image_shape = (config.default_size, config.default_size, 3)
    inputs = keras.Input(shape=tuple(image_shape), name="input")
    stack = build_alexnet(
        config,
        inputs,
        include_top=False,
        lrn=lrn_config,
        conv_implementation=conv_implementation,
        remove=tuple(remove or ()),
    )
    arguments = {
        "variant": variant,
        "lrn": lrn_config.to_dict() if lrn_config is not None else None,
        "image_shape": list(image_shape),
        "conv_implementation": conv_implementation,
        "remove": list(remove or ()),
    }
    return inputs, stack.outputs[0], arguments


class AlexNetBackboneModel(keras.Model):
    """The conv stack (conv1..pool5) as a plain Keras model: the "keras_alexnet>AlexNetBackbone" of a core install.

    Args: those of `keras_alexnet.kerashub.AlexNetBackbone` (`variant`, `lrn`, `image_shape`,
    `conv_implementation`, `remove`), and Keras' `name` / `trainable`; a saved `dtype` policy is applied to the
    variables by Keras' loader as for any model.
    """

    def __init__(self, variant="original", lrn=None, image_shape=None, conv_implementation="auto", remove=(), **kwargs):
        kwargs.pop("dtype", None)
        inputs, outputs, self._arguments = backbone_graph(variant, lrn, image_shape, conv_implementation, remove)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable, **self._arguments}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def register_core_backbone() -> None:
    """Register `AlexNetBackboneModel` as "keras_alexnet>AlexNetBackbone" unless KerasHub's class already is."""
    if keras.saving.get_registered_object(BACKBONE_REGISTERED_NAME) is None:
        keras.saving.register_keras_serializable(package=PACKAGE, name=BACKBONE_CLASS_NAME)(AlexNetBackboneModel)


register_core_backbone()
