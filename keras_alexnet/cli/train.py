"""`keras-alexnet train`: train AlexNet with the paper's recipe (every hyper-parameter a flag).

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> args = build_parser().parse_args(["train", "--epochs", "1", "--learning-rate", "0.02"])
>>> args.epochs, args.learning_rate, args.momentum, args.dataset
(1, 0.02, 0.9, 'digits')
"""

from __future__ import annotations

from keras_alexnet.cli._options import DATA_HELPS
from keras_alexnet.cli.dataclass_options import add_dataclass_arguments, dataclass_from_args, given_fields

HELPS = {
    **DATA_HELPS,
    "val_split": "validation split (drives the learning-rate rule)",
    "image_size": "crop size; default: the variant's (227 original, 224 torchvision); >= 67 for other sizes",
    "resize": "shorter side and centre square before cropping (the paper: 256)",
    "mean": "subtract the training set's per-pixel mean 'image', per-'channel' mean, or 'none'",
    "pca_std": "std of the PCA colour augmentation's alpha (the paper: 0.1; 0 disables it)",
    "flip": "random horizontal flips",
    "stats": "pixel_stats.npz from `keras-alexnet stats` (default: computed into the run directory)",
    "shuffle_buffer": "shuffle buffer size (examples)",
    "cache": "keep the decoded uint8 256x256 squares in memory after the first epoch (197 KB per image; "
    "for datasets that fit, not ImageNet)",
    "variant": "'original' (two towers, LRN) or 'torchvision'",
    "dropout": "dropout rate of fc6/fc7",
    "init": "'paper' (weights N(0, 0.01), biases 1 in conv2/4/5 and fc6/7, else 0), 'bvlc' (BVLC's Caffe "
    "reference model: N(0, 0.01), fc6/fc7 N(0, 0.005), biases 0.1 in conv2/4/5 and fc6/7, else 0), 'lsuv' "
    "(He's N(0, 2/fan_in) scaled to unit activations on a training batch; the quickstart preset's) or 'keras' "
    "(the layers' own initializers)",
    "optimizer": "'sgd' (the paper's momentum SGD, weight decay through the momentum) or 'adam' (Adam with "
    "decoupled weight decay; the quickstart preset's)",
    "epochs": "epochs (the paper: ~90)",
    "batch_size": "batch size per replica (the paper: 128)",
    "learning_rate": "base learning rate for a global batch of 128 (the paper: 0.01)",
    "momentum": "momentum (the paper: 0.9)",
    "weight_decay": "weight decay through the momentum (the paper: 0.0005)",
    "bias_lr_mult": "biases learn at this multiple of the learning rate (the paper: 1; BVLC's Caffe solver, "
    "lr_mult: 2)",
    "bias_decay_mult": "biases' weight decay is this multiple of --weight-decay (the paper: 1; BVLC's Caffe "
    "solver, decay_mult: 0)",
    "lr_schedule": "'plateau' (the paper's: divide by --lr-factor when the validation error stalls) or 'cosine' "
    "(a half cosine from --learning-rate towards 0 over --epochs; the quickstart preset's)",
    "lr_factor": "learning-rate factor when validation error plateaus",
    "lr_patience": "epochs without a lower validation top-1 error before the rate is divided",
    "max_lr_reductions": "at most this many reductions (the paper: 3)",
    "lr_scaling": "'linear' (lr * global_batch / 128) or 'none'",
    "steps_per_epoch": "steps per epoch (default: training images // global batch)",
    "strategy": "'auto', 'none', 'mirrored' or 'multiworker' (TF_CONFIG)",
    "loop": "'fit', 'custom' (strategy.run loop, exact mid-epoch resume) or 'auto'",
    "checkpoint_every": "also checkpoint every N steps (0: only at each epoch end)",
    "backups": "write the resumable backup and model.keras at each epoch end (--no-backups: only the final "
    "model.keras and checkpoint/; a run that dies cannot be resumed; the quickstart preset's, 2 GB less disk)",
    "resume": "continue from the run directory's last checkpoint",
    "run_dir": "run directory (config.json, checkpoints, logs, curves.png)",
    "seed": "seed of the data order, augmentation and initialisation",
    "deterministic": "deterministic TensorFlow ops (slower; used by the resume tests)",
    "verbose": "0 silent, 1 progress bar, 2 one line per epoch",
}


def register(subparsers) -> None:
    from keras_alexnet.training.config import TrainConfig
    from keras_alexnet.training.presets import PRESETS

    parser = subparsers.add_parser(
        "train",
        help="train AlexNet from scratch with the paper's recipe",
        description="Train AlexNet with the recipe of Krizhevsky et al. (2012). Defaults are the paper's; the "
        "default dataset is the embedded digits set (offline). See docs/training.md.",
    )
    add_dataclass_arguments(parser, TrainConfig, HELPS)
    parser.add_argument("--config", help="config.json of an earlier run; the flags given here override it")
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="paper",
        help="a named set of defaults: 'paper' (the paper's recipe) or 'quickstart' (the quickstart's fast "
        "recipe on the digits; every departure listed in keras_alexnet/training/presets.py); flags set here win",
    )
    parser.set_defaults(func=run)


def run(args) -> int:
    import json
    from pathlib import Path

    from keras_alexnet.training import TrainConfig, train
    from keras_alexnet.training.presets import preset_values

    config = dataclass_from_args(TrainConfig, args)
    if args.config or args.preset != "paper":
        # An earlier run's options or a preset; the flags given here win.
        changed = {k: v for k, v in config.to_dict().items() if k in given_fields(args)}
        base = TrainConfig.from_json(args.config).to_dict() if args.config else {}
        config = TrainConfig.from_dict(base | preset_values(args.preset) | changed)
    result = train(config)
    final = result.final
    summary = {k: round(v, 4) for k, v in final.items() if k.startswith(("val_", "loss", "top"))}
    print(json.dumps({"run_dir": str(Path(config.run_dir)), "final": summary, "bad_records": result.bad_records}))
    if result.plot:
        print(f"curves: {result.plot}")
    return 0
