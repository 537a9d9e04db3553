"""KerasHub integration (the `keras-hub` extra): AlexNet as a KerasHub Backbone / ImageClassifier, and presets.

`import keras_alexnet.kerashub` registers the classes with Keras ("keras_alexnet>AlexNetBackbone", ...), so
`keras_hub.models.ImageClassifier.from_preset(PATH)` loads a preset written by `save_preset`. See docs/kerashub.md.
"""

from __future__ import annotations

from keras_alexnet.errors import require

require("keras_hub", "keras-hub", "the KerasHub integration")

from keras_alexnet.kerashub.models import (  # noqa: E402
    AlexNetBackbone,
    AlexNetImageClassifier,
    AlexNetImageClassifierPreprocessor,
    AlexNetImageConverter,
)
from keras_alexnet.kerashub.preset import save_preset  # noqa: E402

__all__ = [
    "AlexNetBackbone",
    "AlexNetImageClassifier",
    "AlexNetImageClassifierPreprocessor",
    "AlexNetImageConverter",
    "save_preset",
]
