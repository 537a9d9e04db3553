"""The KerasHub preset files of a checkpoint (format 2), written from a built AlexNet, without keras_hub.

A checkpoint directory is a KerasHub preset, so `keras_hub.models.ImageClassifier.from_preset(directory)` and
`keras_hub.models.Backbone.from_preset(directory)` load it (after `import keras_alexnet`):

    config.json            the backbone: "keras_alexnet>AlexNetBackbone" (variant, LRN, input shape, removed stages)
    model.weights.h5       its weights: conv1..conv5, what `AlexNet(include_top=False)` holds
    task.json              "keras_alexnet>AlexNetImageClassifier": classes, activation, dropout, and the two above
    task.weights.h5        the task's own weights: fc6, fc7, predictions
    preprocessor.json      "keras_alexnet>AlexNetImageClassifierPreprocessor" around
    image_converter.json   "keras_alexnet>AlexNetImageConverter": the checkpoint's preprocessing and input size
    metadata.json          Keras' and KerasHub's metadata (versions, parameter count, date)

The JSON is what `keras_alexnet.kerashub`'s classes serialize to (tests/kerashub compares it with KerasHub's own
`save_to_preset`); the weights files are Keras' own `keras.saving.save_weights` of the two halves of the model.

Example:

>>> from keras_alexnet.models.config import NetworkRecord
>>> task_config(NetworkRecord(variant="torchvision"), "softmax")["config"]["num_classes"]
1000
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
from pathlib import Path

import keras

from keras_alexnet.models.backbone import BACKBONE_CLASS_NAME, PACKAGE
from keras_alexnet.models.config import NetworkRecord, get_variant

CONFIG_FILENAME = "config.json"
BACKBONE_WEIGHTS_FILENAME = "model.weights.h5"
TASK_CONFIG_FILENAME = "task.json"
TASK_WEIGHTS_FILENAME = "task.weights.h5"
PREPROCESSOR_CONFIG_FILENAME = "preprocessor.json"
IMAGE_CONVERTER_CONFIG_FILENAME = "image_converter.json"
METADATA_FILENAME = "metadata.json"
#: The module KerasHub's loader would import the classes from (it finds them by registered name first).
CLASSES_MODULE = "keras_alexnet.kerashub.models"
TASK_CLASS_NAME = "AlexNetImageClassifier"
PREPROCESSOR_CLASS_NAME = "AlexNetImageClassifierPreprocessor"
IMAGE_CONVERTER_CLASS_NAME = "AlexNetImageConverter"
#: The first layer of the task's own part; every layer before it belongs to the backbone.
FIRST_TASK_LAYER = "flatten"


def serialized(class_name: str, config: dict) -> dict:
    """A Keras serialized object naming one of our registered classes."""
    return {
        "module": CLASSES_MODULE,
        "class_name": class_name,
        "config": config,
        "registered_name": f"{PACKAGE}>{class_name}",
    }


def _input_size(network: NetworkRecord) -> int:
    return network.input_size or get_variant(network.variant).default_size


def backbone_config(network: NetworkRecord) -> dict:
    """config.json: the `AlexNetBackbone` of `network`."""
    size = _input_size(network)
    return serialized(
        BACKBONE_CLASS_NAME,
        {
            "name": "alex_net_backbone",
            "trainable": True,
            "variant": network.variant,
            "lrn": network.lrn.to_dict() if network.lrn else None,
            "image_shape": [size, size, 3],
            "conv_implementation": "auto",
            "remove": list(network.removed),
        },
    )


def image_converter_config(network: NetworkRecord) -> dict:
    """image_converter.json: resize to the input size (KerasHub's), then the checkpoint's preprocessing."""
    size = _input_size(network)
    return serialized(
        IMAGE_CONVERTER_CLASS_NAME,
        {
            "name": "alex_net_image_converter",
            "trainable": True,
            "image_size": [size, size],
            "interpolation": "bilinear",
            "crop_to_aspect_ratio": True,
            "preprocessing": network.preprocessing,
            "pixel_mean": list(network.pixel_mean) if network.pixel_mean is not None else None,
        },
    )


def preprocessor_config(network: NetworkRecord) -> dict:
    """preprocessor.json: KerasHub's image classifier preprocessor around `image_converter_config`."""
    return serialized(
        PREPROCESSOR_CLASS_NAME,
        {
            "name": "alex_net_image_classifier_preprocessor",
            "trainable": True,
            "image_converter": image_converter_config(network),
            "config_file": PREPROCESSOR_CONFIG_FILENAME,
        },
    )


def task_config(network: NetworkRecord, activation) -> dict:
    """task.json: the `AlexNetImageClassifier` (fc6, fc7, predictions) on `backbone_config`."""
    return serialized(
        TASK_CLASS_NAME,
        {
            "backbone": backbone_config(network),
            "preprocessor": preprocessor_config(network),
            "name": "alex_net_image_classifier",
            "num_classes": network.classes,
            "activation": activation,
            "dropout": get_variant(network.variant).dropout_rate,
        },
    )


def metadata(parameter_count: int) -> dict:
    """metadata.json: what Keras (`keras_version`, `date_saved`) and KerasHub (`parameter_count`, `tasks`) write."""
    try:
        keras_hub_version = {"keras_hub_version": importlib.metadata.version("keras-hub")}
    except importlib.metadata.PackageNotFoundError:
        keras_hub_version = {}
    return {
        "keras_version": keras.__version__,
        **keras_hub_version,
        "parameter_count": parameter_count,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "tasks": ["ImageClassifier"],
    }


def split_layers(model: keras.Model) -> tuple[list, list]:
    """`model`'s layers (an AlexNet with its top) as (backbone layers, task layers), at `FIRST_TASK_LAYER`."""
    names = [layer.name for layer in model.layers]
    if FIRST_TASK_LAYER not in names:
        raise ValueError(
            f"A checkpoint needs the full model (include_top=True, with its {FIRST_TASK_LAYER!r} layer). "
            f"Received: a model with layers {names}"
        )
    first = names.index(FIRST_TASK_LAYER)
    return model.layers[:first], model.layers[first:]


def write_preset_files(model: keras.Model, directory: str | os.PathLike, network: NetworkRecord) -> None:
    """Write the preset files of `model` (an AlexNet with its top, matching `network`) into `directory`."""
    directory = Path(directory)
    backbone_layers, task_layers = split_layers(model)
    keras.saving.save_weights(model, directory / BACKBONE_WEIGHTS_FILENAME, objects_to_skip=task_layers)
    keras.saving.save_weights(model, directory / TASK_WEIGHTS_FILENAME, objects_to_skip=backbone_layers)
    activation = model.get_layer("predictions").get_config()["activation"]
    files = {
        CONFIG_FILENAME: backbone_config(network),
        TASK_CONFIG_FILENAME: task_config(network, activation),
        PREPROCESSOR_CONFIG_FILENAME: preprocessor_config(network),
        IMAGE_CONVERTER_CONFIG_FILENAME: image_converter_config(network),
        METADATA_FILENAME: metadata(sum(layer.count_params() for layer in backbone_layers)),
    }
    for name, content in files.items():
        (directory / name).write_text(json.dumps(content, indent=4) + "\n", encoding="utf-8")
