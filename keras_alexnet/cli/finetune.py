"""`keras-alexnet finetune`: new classifier for N classes on top of any AlexNet weights, trained with fit.

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> args = build_parser().parse_args(["finetune", "--weights", "imagenet", "--epochs", "2"])
>>> args.weights, args.freeze, args.epochs
('imagenet', 'conv', 2)
"""

from __future__ import annotations

from keras_alexnet.cli._options import DATA_HELPS
from keras_alexnet.cli.dataclass_options import add_dataclass_arguments, dataclass_from_args

HELPS = {
    **DATA_HELPS,
    "weights": "starting weights: a registered name ('imagenet', ...), hf://org/repo, a checkpoint directory, "
    "a .keras file or a .weights.h5 file (with --variant)",
    "freeze": "'conv' (freeze conv1-conv5), 'all' (train only the new classifier) or 'none'",
    "variant": "variant of a bare .weights.h5 / .keras file",
    "learning_rate": "learning rate of PaperSGD",
    "ten_crop": "also report the paper's ten-crop top-1/top-5",
    "run_dir": "output directory (finetuned.keras, finetuned.weights.h5, checkpoint/, results.json, log.csv)",
}


def register(subparsers) -> None:
    from keras_alexnet.training.config import FinetuneConfig

    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune AlexNet weights on a new dataset (new N-way classifier)",
        description="Replace the classifier of AlexNet weights with an N-way one (N = the dataset's classes), "
        "optionally freeze the convolutional trunk, train with model.fit, report top-1/top-5 error and save "
        "a .keras model, a .weights.h5 file and a checkpoint directory. See docs/training.md.",
    )
    add_dataclass_arguments(parser, FinetuneConfig, HELPS)
    parser.set_defaults(func=run)


def run(args) -> int:
    import json

    from keras_alexnet.training.finetune import FinetuneConfig, finetune

    if not args.weights:
        raise ValueError("--weights is required (e.g. 'imagenet' or a checkpoint path). Received: --weights None")
    results = finetune(dataclass_from_args(FinetuneConfig, args))
    report = {k: results[k] for k in ("center_crop", "ten_crop", "bad_records", "outputs") if k in results}
    print(json.dumps(report, indent=2))
    return 0
