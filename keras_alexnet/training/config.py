"""Every hyper-parameter of a training run, with the paper's values as defaults.

`TrainConfig` is what `keras-alexnet train` fills from its flags and what
`keras_alexnet.training.train` takes; the effective configuration (with the
derived values: replicas, global batch, scaled learning rate, image size) is
saved as `config.json` in the run directory, next to the checkpoints.

Example:

>>> from keras_alexnet.training.config import TrainConfig
>>> c = TrainConfig(epochs=1)
>>> c.learning_rate, c.momentum, c.weight_decay, c.batch_size
(0.01, 0.9, 0.0005, 128)
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from keras_alexnet.data.options import DataOptions
from keras_alexnet.training.initialization import INIT_CHOICES

CONFIG_FILENAME = "config.json"
#: `optimizer` values: the paper's momentum SGD with coupled weight decay, or AdamW (decoupled decay).
OPTIMIZERS = ("sgd", "adam")


@dataclasses.dataclass(kw_only=True)
class TrainConfig(DataOptions):
    # Data: the fields of `DataOptions` (dataset, splits, data_dir, manual_dir, download, limits)
    # Preprocessing and augmentation (Sections 2 and 4.1)
    image_size: int | None = None  # None: the variant's (227 "original", 224 "torchvision")
    resize: int = 256
    mean: str = "channel"  # "channel", "image" or "none"
    pca_std: float = 0.1
    flip: bool = True
    stats: str | None = None  # pixel_stats.npz (or its directory); None: computed into the run directory
    shuffle_buffer: int = 10_000
    cache: bool = False  # keep the uint8 256x256 squares in memory after the first epoch
    # Model
    variant: str = "original"
    dropout: float = 0.5
    init: str = "paper"  # "paper" (N(0, 0.01), biases 1/0), "bvlc" (BVLC's Caffe model), "lsuv" or "keras"
    # Optimisation (Section 5)
    optimizer: str = "sgd"  # "sgd" (the paper's momentum SGD, `PaperSGD`) or "adam" (AdamW; the quickstart preset)
    epochs: int = 90
    batch_size: int = 128  # per replica
    learning_rate: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0005
    bias_lr_mult: float = 1.0  # biases' learning rate = bias_lr_mult * lr (BVLC's Caffe solver: 2)
    bias_decay_mult: float = 1.0  # biases' weight decay = bias_decay_mult * weight_decay (BVLC's Caffe solver: 0)
    lr_schedule: str = "plateau"  # "plateau" (the paper's rule below) or "cosine" (to 0 over `epochs`; quickstart)
    lr_factor: float = 0.1
    lr_patience: int = 5
    max_lr_reductions: int = 3
    lr_scaling: str = "linear"
    steps_per_epoch: int | None = None
    # Distribution and fault tolerance
    strategy: str = "auto"
    loop: str = "auto"  # "fit", "custom", or "auto" (custom for multiworker, else fit)
    checkpoint_every: int = 500  # steps; 0: only at the end of each epoch
    resume: bool = False
    backups: bool = True  # the resumable backup and model.keras at each epoch end (False: only at the end)
    run_dir: str = "runs/alexnet"
    seed: int = 0
    deterministic: bool = False
    verbose: int = 1

    def validate(self) -> TrainConfig:
        """Raise ValueError naming the bad field; returns self."""
        checks = [
            ("mean", self.mean in ("channel", "image", "none"), "'channel', 'image' or 'none'"),
            ("init", self.init in INIT_CHOICES, "'paper', 'bvlc', 'lsuv' or 'keras'"),
            ("optimizer", self.optimizer in OPTIMIZERS, "'sgd' (the paper's) or 'adam'"),
            ("lr_schedule", self.lr_schedule in ("plateau", "cosine"), "'plateau' (the paper's) or 'cosine'"),
            (
                "bias_lr_mult",
                self.optimizer == "sgd" or (self.bias_lr_mult == 1 and self.bias_decay_mult == 1),
                "1 with --optimizer adam (the biases' multipliers are the momentum SGD's)",
            ),
            ("loop", self.loop in ("auto", "fit", "custom"), "'auto', 'fit' or 'custom'"),
            ("epochs", isinstance(self.epochs, int) and self.epochs >= 1, "a positive integer"),
            ("batch_size", isinstance(self.batch_size, int) and self.batch_size >= 1, "a positive integer"),
            ("learning_rate", self.learning_rate > 0, "a positive float"),
            ("bias_lr_mult", self.bias_lr_mult > 0, "a positive float (BVLC's solver: 2)"),
            ("bias_decay_mult", self.bias_decay_mult >= 0, "a float >= 0 (BVLC's solver: 0)"),
            ("dropout", 0 <= self.dropout < 1, "a float in [0, 1)"),
            ("lr_factor", 0 < self.lr_factor < 1, "a float in (0, 1)"),
            ("checkpoint_every", self.checkpoint_every >= 0, "an integer >= 0"),
            ("pca_std", self.pca_std >= 0, "a float >= 0"),
            ("resume", not (self.resume and not self.backups), "False with --no-backups (there is nothing to resume)"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(f"`{name}` must be {expected}. Received: {name}={getattr(self, name)!r}")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"Unknown training options {unknown}. Received: {unknown}")
        return cls(**values)

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> TrainConfig:
        values = json.loads(Path(path).read_text())
        return cls.from_dict(values.get("config", values))


def save_json_atomic(path: str | os.PathLike, data: dict) -> Path:
    """Write `data` as JSON to `path` through a temporary file and a rename."""
    from keras_alexnet.outputs import write_text_atomic

    return write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str))


FREEZE_OPTIONS = ("conv", "all", "none")


@dataclasses.dataclass(kw_only=True)
class FinetuneConfig(DataOptions):
    """What `finetune` does; the dataset fields come from `DataOptions`."""

    weights: str
    variant: str | None = None
    freeze: str = "conv"
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 0.0005
    seed: int = 0
    run_dir: str = "runs/finetune"
    ten_crop: bool = True
    verbose: int = 1
