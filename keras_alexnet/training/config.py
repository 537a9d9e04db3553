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


def option(default, help: str):
    """A config field with its `--flag` help text (read by `keras_alexnet.cli.dataclass_options`), written once."""
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass(kw_only=True)
class TrainConfig(DataOptions):
    # Data: the fields of `DataOptions` (dataset, splits, data_dir, manual_dir, download, limits)
    # Preprocessing and augmentation (Sections 2 and 4.1)
    image_size: int | None = option(
        None, "crop size; default: the variant's (227 original, 224 torchvision); >= 67 for other sizes"
    )
    resize: int = option(256, "shorter side and centre square before cropping (the paper: 256)")
    mean: str = option("channel", "subtract the training set's per-pixel mean 'image', per-'channel' mean, or 'none'")
    pca_std: float = option(0.1, "std of the PCA colour augmentation's alpha (the paper: 0.1; 0 disables it)")
    flip: bool = option(True, "random horizontal flips")
    stats: str | None = option(
        None, "pixel_stats.npz from `keras-alexnet stats` (or its directory; default: computed into the run directory)"
    )
    shuffle_buffer: int = option(10_000, "shuffle buffer size (examples)")
    cache: bool = option(
        False,
        "keep the decoded uint8 256x256 squares in memory after the first epoch (197 KB per image; for "
        "datasets that fit, not ImageNet)",
    )
    # Model
    variant: str = option("original", "'original' (two towers, LRN) or 'torchvision'")
    dropout: float = option(0.5, "dropout rate of fc6/fc7")
    init: str = option(
        "paper",
        "'paper' (weights N(0, 0.01), biases 1 in conv2/4/5 and fc6/7, else 0), 'bvlc' (BVLC's Caffe "
        "reference model: N(0, 0.01), fc6/fc7 N(0, 0.005), biases 0.1 in conv2/4/5 and fc6/7, else 0), "
        "'lsuv' (He's N(0, 2/fan_in) scaled to unit activations on a training batch; the quickstart "
        "preset's) or 'keras' (the layers' own initializers)",
    )
    # Optimisation (Section 5)
    optimizer: str = option(
        "sgd",
        "'sgd' (the paper's momentum SGD, weight decay through the momentum) or 'adam' (Adam with "
        "decoupled weight decay; the quickstart preset's)",
    )
    epochs: int = option(90, "epochs (the paper: ~90)")
    batch_size: int = option(128, "batch size per replica (the paper: 128)")
    learning_rate: float = option(0.01, "base learning rate for a global batch of 128 (the paper: 0.01)")
    momentum: float = option(0.9, "momentum (the paper: 0.9)")
    weight_decay: float = option(0.0005, "weight decay through the momentum (the paper: 0.0005)")
    bias_lr_mult: float = option(
        1.0, "biases learn at this multiple of the learning rate (the paper: 1; BVLC's Caffe solver, lr_mult: 2)"
    )
    bias_decay_mult: float = option(
        1.0,
        "biases' weight decay is this multiple of --weight-decay (the paper: 1; BVLC's Caffe solver, decay_mult: 0)",
    )
    lr_schedule: str = option(
        "plateau",
        "'plateau' (the paper's: divide by --lr-factor when the validation error stalls) or 'cosine' (a "
        "half cosine from --learning-rate towards 0 over --epochs; the quickstart preset's)",
    )
    lr_factor: float = option(0.1, "learning-rate factor when validation error plateaus")
    lr_patience: int = option(5, "epochs without a lower validation top-1 error before the rate is divided")
    max_lr_reductions: int = option(3, "at most this many reductions (the paper: 3)")
    lr_scaling: str = option("linear", "'linear' (lr * global_batch / 128) or 'none'")
    steps_per_epoch: int | None = option(None, "steps per epoch (default: training images // global batch)")
    # Distribution and fault tolerance
    strategy: str = option("auto", "'auto', 'none', 'mirrored' or 'multiworker' (TF_CONFIG)")
    loop: str = option(
        "auto",
        "'fit', 'custom' (strategy.run loop, exact mid-epoch resume) or 'auto' (custom for multiworker, else fit)",
    )
    checkpoint_every: int = option(500, "also checkpoint every N steps (0: only at each epoch end)")
    resume: bool = option(False, "continue from the run directory's last checkpoint")
    backups: bool = option(
        True,
        "write the resumable backup and model.keras at each epoch end (--no-backups: only the final "
        "model.keras and checkpoint/; a run that dies cannot be resumed; the quickstart preset's, 2 GB "
        "less disk)",
    )
    run_dir: str = option("runs/alexnet", "run directory (config.json, checkpoints, logs, curves.png)")
    seed: int = option(0, "seed of the data order, augmentation and initialisation")
    deterministic: bool = option(False, "deterministic TensorFlow ops (slower; used by the resume tests)")
    verbose: int = option(1, "0 silent, 1 progress bar, 2 one line per epoch")

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
