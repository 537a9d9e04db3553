"""Write an AlexNet (a model or any `weights=` argument) as a KerasHub preset directory, atomically.

Files: config.json (AlexNetBackbone), model.weights.h5 (the backbone: conv1..conv5), task.json + task.weights.h5
(AlexNetImageClassifier: fc6, fc7, predictions), preprocessor.json, metadata.json, and keras_alexnet.json (the
NetworkRecord). Staged and published through `keras_alexnet.outputs` (never replaces what the user made).
"""

from __future__ import annotations

import os
from pathlib import Path

import keras

from keras_alexnet.kerashub.layout import is_preset_dir
from keras_alexnet.kerashub.models import (
    AlexNetBackbone,
    AlexNetImageClassifier,
    AlexNetImageClassifierPreprocessor,
    AlexNetImageConverter,
)
from keras_alexnet.outputs import check_output, publish, staging_directory

PRESET_KIND = "KerasHub preset directory (with keras_alexnet.json)"


def classifier_from_model(model: keras.Model, network) -> AlexNetImageClassifier:
    """An `AlexNetImageClassifier` holding the weights of `model` (an AlexNet with its top), with its preprocessor."""
    size = network.input_size
    backbone = AlexNetBackbone(
        variant=network.variant, lrn=network.lrn.to_dict() if network.lrn else None, image_shape=(size, size, 3)
    )
    converter = AlexNetImageConverter(
        preprocessing=network.preprocessing, pixel_mean=network.pixel_mean, image_size=(size, size)
    )
    classifier = AlexNetImageClassifier(
        backbone,
        num_classes=network.classes,
        preprocessor=AlexNetImageClassifierPreprocessor(image_converter=converter),
        activation=model.get_layer("predictions").get_config()["activation"],
    )
    source = {layer.name: layer for layer in model.layers if layer.weights}
    for target in [*backbone.layers, *classifier.layers]:
        if target.weights and target is not backbone:
            target.set_weights(source[target.name].get_weights())
    return classifier


def save_preset(model_or_weights, directory: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write `model_or_weights` (an AlexNet with its top, or a `weights=` argument) as a KerasHub preset.

    Example: `save_preset("bvlc_imagenet1k", "alexnet_preset")`, then
    `keras_hub.models.ImageClassifier.from_preset("alexnet_preset")`.
    """
    from keras_alexnet.applications import AlexNet
    from keras_alexnet.models.model import network_record

    model = model_or_weights if isinstance(model_or_weights, keras.Model) else AlexNet(weights=model_or_weights)
    network = network_record(model)
    directory = Path(directory)
    check_output(directory, is_preset_dir, PRESET_KIND, overwrite=overwrite)
    classifier = classifier_from_model(model, network)
    with staging_directory(directory.parent, directory.name, "save", what="a KerasHub preset") as staging:
        classifier.save_to_preset(os.fspath(staging / "preset"))
        network.write(staging / "preset")
        publish(staging / "preset", directory, is_preset_dir, PRESET_KIND, overwrite=overwrite)
    return directory
