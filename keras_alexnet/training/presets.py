"""Named sets of `TrainConfig` values: the paper's recipe (the default) and the quickstart's.

`train` uses the paper's recipe unless `--preset` names another; flags set on the
command line win over a preset. Every departure of a preset from the paper is
listed here, with its reason:

`quickstart` (what `keras-alexnet quickstart` trains: the full "original" AlexNet,
227x227, LRN, two towers, every layer trainable from random weights, on the
embedded digits, to >= 90 % validation top-1 accuracy in a few minutes on 2 CPU
cores):

- `init="lsuv"`: He's N(0, 2/fan_in) scaled so that every layer's output has unit
  RMS on one training batch (Mishkin and Matas 2016). With the paper's N(0, 0.01)
  and biases 1 the loss stays flat for the few hundred steps there is time for
  (BVLC's readme: biases 1 "gave flat loss"; the first `train --epochs 1` ended at
  chance).
- `optimizer="adam"`, `learning_rate=1e-4`, `weight_decay=0`: Adam adapts each
  weight's step to its gradient's scale; with the paper's 0-255 inputs and unit
  activations, momentum SGD diverged at every learning rate tried from 0.001 up.
- `batch_size=32`, `lr_scaling="none"`: more steps in the same number of images.
- `flip=False`: a mirrored digit is another symbol (the paper's ImageNet objects
  are mirror-symmetric classes; digits are not).
- `steps_per_epoch=11`, `epochs=12`: validation and a log row every quarter of the
  1,438 training images (44 steps), 3 passes in all, so the curves have points
  (2.5 passes ended at 93.6-96.7 % in three runs; 3 passes at 96.1-97.5 % in four).
- `lr_schedule="cosine"`: the rate falls from 1e-4 towards 0 over those 12 periods
  (at a constant rate the validation error still moved by +-2 points between
  quarters at the end; the plateau rule needs more epochs than there are).
- `cache=True`, `backups=False`: the 8x8 digits decoded once; no resumable backup
  (1.3 GB with Adam's state) nor model.keras written after every period: a
  four-minute run that dies is run again; the final model and checkpoint remain.

Kept from the paper: the architecture, dropout 0.5 in fc6/fc7, random 227x227
crops of the 256x256 images, the PCA colour augmentation, the training-set mean
subtraction.

Example:

>>> from keras_alexnet.training.presets import preset_config
>>> config = preset_config("quickstart", run_dir="runs/q", seed=1)
>>> config.init, config.optimizer, config.learning_rate, config.seed
('lsuv', 'adam', 0.0001, 1)
>>> preset_config("paper").learning_rate
0.01
"""

from __future__ import annotations

from keras_alexnet.training.config import TrainConfig

#: Each preset's values; fields it does not name keep `TrainConfig`'s defaults (the paper's).
PRESETS: dict[str, dict] = {
    "paper": {},
    "quickstart": {
        "dataset": "digits",
        "variant": "original",
        "init": "lsuv",
        "optimizer": "adam",
        "learning_rate": 1e-4,
        "weight_decay": 0.0,
        "lr_scaling": "none",
        "batch_size": 32,
        "flip": False,
        "steps_per_epoch": 11,
        "epochs": 12,
        "lr_schedule": "cosine",
        "cache": True,
        "checkpoint_every": 0,
        "backups": False,
        "shuffle_buffer": 2000,
    },
}


def preset_values(name: str) -> dict:
    """The values of the preset `name`; ValueError naming the presets for an unknown one."""
    if name not in PRESETS:
        raise ValueError(f"Unknown training preset; use one of {sorted(PRESETS)}. Received: preset={name!r}")
    return dict(PRESETS[name])


def preset_config(name: str, **overrides) -> TrainConfig:
    """A validated `TrainConfig` of the preset `name`, with `overrides` (any `TrainConfig` field) on top."""
    return TrainConfig.from_dict(preset_values(name) | overrides).validate()
