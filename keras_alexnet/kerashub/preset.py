"""Write an AlexNet (a model or any `weights=` argument) as a KerasHub preset: a checkpoint directory.

Since checkpoint format 2 every checkpoint directory is a KerasHub preset (`keras_alexnet.weights.preset_files`),
so `save_preset` is `keras_alexnet.weights.checkpoint.save_checkpoint` of the model with its own record: staged,
published atomically, never replacing what the user made.

Example (needs keras_hub):

>>> import tempfile
>>> import keras_alexnet, keras_hub
>>> directory = save_preset(keras_alexnet.AlexNet(variant="torchvision"), tempfile.mkdtemp() + "/preset")
>>> keras_hub.models.Backbone.from_preset(str(directory)).count_params()  # KerasHub takes a str, not a Path
2469696
"""

from __future__ import annotations

import os
from pathlib import Path

import keras

from keras_alexnet.models.model import network_record
from keras_alexnet.weights.checkpoint import save_checkpoint


def save_preset(model_or_weights, directory: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write `model_or_weights` (an AlexNet with its top, or a `weights=` argument) as a KerasHub preset.

    Example: `save_preset("bvlc_imagenet1k", "alexnet_preset")`, then
    `keras_hub.models.ImageClassifier.from_preset("alexnet_preset")`.
    """
    from keras_alexnet.applications import AlexNet

    model = model_or_weights if isinstance(model_or_weights, keras.Model) else AlexNet(weights=model_or_weights)
    return save_checkpoint(model, directory, network_record(model), overwrite=overwrite)
