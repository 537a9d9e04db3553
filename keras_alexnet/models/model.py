"""`AlexNetModel`: a functional Keras model whose config carries its `NetworkRecord`.

The record (variant, classes, LRN constants, input size, preprocessing, removed
stages, class names, pixel mean) is part of `get_config()` under "network" and
comes back in `from_config`, so it survives `model.save` /
`keras.saving.load_model` (as KerasHub's backbones keep their arguments in their
configs). `network_record(model)` reads it. As for the package's layers, the
class is registered with Keras when this module is imported (`import keras_alexnet`
does), so import keras_alexnet before `keras.saving.load_model` of such a file.

Example:

>>> import keras
>>> from keras_alexnet.models.config import NetworkRecord
>>> inputs = keras.Input((4,))
>>> model = AlexNetModel(inputs, keras.layers.Dense(2)(inputs), network=NetworkRecord(classes=2))
>>> AlexNetModel.from_config(model.get_config()).network.classes
2
"""

from __future__ import annotations

import keras

from keras_alexnet.models.config import LRNConfig, NetworkRecord

#: The key of the record in the model's config.
CONFIG_KEY = "network"


@keras.saving.register_keras_serializable(package="keras_alexnet")
class AlexNetModel(keras.Model):
    """A functional AlexNet (built by `keras_alexnet.models.build.build_alexnet`) that knows its network."""

    def __init__(self, inputs, outputs, name=None, *, network: NetworkRecord | dict | None = None, **kwargs):
        super().__init__(inputs, outputs, name=name, **kwargs)
        if isinstance(network, dict):
            network = NetworkRecord.from_dict(network)
        if network is not None and not isinstance(network, NetworkRecord):
            raise ValueError(f"`network` must be a NetworkRecord, its dict or None. Received: network={network!r}")
        self._network = network

    @property
    def network(self) -> NetworkRecord | None:
        """The network record this model was built with (or was given since, e.g. by a training run)."""
        return self._network

    @network.setter
    def network(self, network: NetworkRecord) -> None:
        if not isinstance(network, NetworkRecord):
            raise ValueError(f"`network` must be a NetworkRecord. Received: network={network!r}")
        self._network = network

    def export(self, filepath, format: str = "tf_saved_model", verbose=None, input_signature=None, **kwargs):
        """Keras' `Model.export`; an input signature defaults to the model's input, also for a model never called.

        Keras' ONNX export refuses a functional model that was built but never called ("The model provided has
        never called"), although its input is known: `AlexNet().export("m.onnx", format="onnx")` works here.
        """
        if input_signature is None and len(self.inputs) == 1:
            spec = self.inputs[0]
            input_signature = [keras.InputSpec(shape=tuple(spec.shape), dtype=spec.dtype, name=spec.name)]
        return super().export(filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        if self._network is not None:
            config[CONFIG_KEY] = self._network.to_dict()
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> AlexNetModel:
        config = dict(config)
        network = config.pop(CONFIG_KEY, None)
        model = super().from_config(config, custom_objects=custom_objects)
        model._network = NetworkRecord.from_dict(network) if network is not None else None
        return model


def network_record(model: keras.Model) -> NetworkRecord:
    """The `NetworkRecord` (variant, classes, LRN, input size, preprocessing, removed stages, ...) of an AlexNet.

    Models built by `keras_alexnet.AlexNet` carry it in their config, also after `model.save` and
    `keras.saving.load_model`. A plain functional model saved by keras_alexnet 0.x (before the record was
    part of the config) has none; for those old files only, it is inferred from the layers (conv1's width
    gives the variant, norm1 the LRN constants, the preprocessing is the variant's default).

    Example:

    >>> import keras_alexnet
    >>> keras_alexnet.network_record(keras_alexnet.AlexNet(variant="torchvision")).preprocessing
    'torch'
    """
    record = getattr(model, "network", None)
    if isinstance(record, NetworkRecord):
        return record
    return _infer_from_layers(model)


def _infer_from_layers(model: keras.Model) -> NetworkRecord:
    """The record of a model saved before AlexNetModel existed (a plain Functional model), from its layers."""
    layers = {layer.name: layer for layer in getattr(model, "layers", ())}
    if "conv1" not in layers or not hasattr(layers["conv1"], "filters"):
        name = getattr(model, "name", type(model).__name__)
        raise ValueError(
            f"{name!r} is not an AlexNet built by keras_alexnet: it carries no network record and has no conv "
            f"layer 'conv1'. Build it with `keras_alexnet.AlexNet(...)`. Received: model={name!r}"
        )
    variant = "torchvision" if layers["conv1"].filters == 64 else "original"
    lrn = None
    if "norm1" in layers:
        config = layers["norm1"].get_config()
        lrn = LRNConfig(**{key: config[key] for key in ("size", "k", "alpha", "beta", "average")})
    classes = layers["predictions"].units if "predictions" in layers else 1000
    return NetworkRecord(variant=variant, classes=classes, lrn=lrn)
