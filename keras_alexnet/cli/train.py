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

#: The data flags' help texts; every other flag's help is its `TrainConfig` field's (`training.config.option`).
HELPS = {
    **DATA_HELPS,
    "val_split": "validation split (drives the learning-rate rule)",
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
