"""The preset layout `save_preset` writes, and the planned joint layout (format 2): which file holds which layers.

Format 1 (today's `convert` / `push` / `release`): config.json + model.weights.h5 = Keras' full functional model;
notop.weights.h5 = the conv stack. Planned format 2 (a KerasHub preset that `AlexNet(weights=dir)` also reads; today
`save_preset` writes this layout and only KerasHub reads it; checkpoints stay format 1):

    config.json          AlexNetBackbone (registered "keras_alexnet>AlexNetBackbone")
    model.weights.h5     the backbone: conv1..conv5 (what notop.weights.h5 held)
    task.json            AlexNetImageClassifier; task.weights.h5: fc6, fc7, predictions
    preprocessor.json    AlexNetImageClassifierPreprocessor (the checkpoint's preprocessing)
    metadata.json        KerasHub's metadata (a superset of Keras')
    keras_alexnet.json   the NetworkRecord (format_version 1 today; 2 once our loader reads this layout)

Example:

>>> BACKBONE_LAYERS[:2], TASK_LAYERS
(('conv1', 'conv2'), ('fc6', 'fc7', 'predictions'))
"""

from __future__ import annotations

import os
from pathlib import Path

NETWORK_FILENAME = "keras_alexnet.json"
BACKBONE_WEIGHTS_FILENAME = "model.weights.h5"
TASK_WEIGHTS_FILENAME = "task.weights.h5"
TASK_CONFIG_FILENAME = "task.json"
PRESET_FILES = ("config.json", BACKBONE_WEIGHTS_FILENAME, TASK_CONFIG_FILENAME, "preprocessor.json", "metadata.json")
BACKBONE_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5")
TASK_LAYERS = ("fc6", "fc7", "predictions")


def is_preset_dir(path: str | os.PathLike) -> bool:
    """Whether `path` is a preset `save_preset` wrote (keras_alexnet.json beside task.json): what a new one may replace.

    A checkpoint directory (keras_alexnet.json, no task.json) is not a preset: a preset never silently replaces one.
    """
    path = Path(path)
    return (path / NETWORK_FILENAME).is_file() and (path / TASK_CONFIG_FILENAME).is_file()


def layout_version(path: str | os.PathLike) -> int:
    """2 for a directory in the joint KerasHub layout (task.json beside keras_alexnet.json), else 1."""
    path = Path(path)
    return 2 if (path / TASK_CONFIG_FILENAME).is_file() and is_preset_dir(path) else 1
