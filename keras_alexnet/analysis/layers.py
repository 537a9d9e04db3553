"""Looking layers up by name, with errors that list the valid names.

Example:

>>> import keras_alexnet
>>> from keras_alexnet.analysis.layers import spatial_layer_names
>>> spatial_layer_names(keras_alexnet.AlexNet(include_top=False))[:4]
['conv1', 'norm1', 'pool1', 'conv2']
"""

from __future__ import annotations

import keras


def layer_names(model: keras.Model) -> list[str]:
    """Names of every layer of `model` but its input, in order."""
    return [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def spatial_layer_names(model: keras.Model) -> list[str]:
    """Names of the layers with a 4D (feature-map) output, the ones `activations` can draw."""
    names = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer) or layer.name.endswith("_pad"):
            continue
        if len(layer.output.shape) == 4:
            names.append(layer.name)
    return names


def get_layer(model: keras.Model, name: str, valid: list[str] | None = None, what: str = "layer") -> keras.Layer:
    """`model.get_layer(name)`, raising a ValueError that lists the valid names."""
    valid = layer_names(model) if valid is None else valid
    if name not in valid:
        raise ValueError(
            f"Unknown {what} {name!r} for the model {model.name!r}. Valid names: {', '.join(valid)}. "
            f"Received: layer={name!r}"
        )
    return model.get_layer(name)
