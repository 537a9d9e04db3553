"""Depth ablation (Krizhevsky et al. 2012, Section 7): does removing one conv layer cost accuracy?

Trains the full AlexNet and the network with one conv layer removed
(`keras_alexnet.AlexNet(remove=(...))`, geometry kept, see docs/analysis.md)
with the same data, recipe and seeds, then prints each one's top-1 validation
error and the difference (ablated - full) with its mean and standard deviation
over the seeds. The paper reports that removing any middle layer costs about 2%
top-1 on ImageNet.

The default run is offline and takes minutes on a CPU: the embedded 'digits'
set (scikit-learn's 8x8 handwritten digits, 10 classes, upscaled to 67x67,
AlexNet's smallest input) with the paper's recipe from `keras_alexnet.training`
(`PaperSGD`: momentum 0.9, weight decay 5e-4; dropout 0.5; random crops and flips from
`keras_alexnet.data`; `--init paper` for the paper's N(0, 0.01) initialisation, which starts
too slowly for a few-epoch demo), trained with plain `model.fit`. Images are resized to 76 (the
paper's 256/227 ratio) before the 67x67 crops; fc6 is sized for the 67x67 input (2x2x256 after
pool5), as `keras_alexnet.training.build_training_model` does. Pass `--dataset` (a TFDS name or a folder) and
`--image-size 227` for a real run.

    python examples/depth_ablation.py --remove conv3 --seeds 3 --epochs 4
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def make_model_fn(remove: tuple[str, ...], variant: str, init: str, dropout: float, seed: int):
    """A `model_fn(num_classes, image_size)` for `keras_alexnet.training.train`: AlexNet without `remove`."""

    def model_fn(num_classes: int, image_size: int):
        from keras_alexnet.training.model import build_training_model

        return build_training_model(
            num_classes, image_size, variant=variant, dropout=dropout, init=init, seed=seed, remove=remove
        )

    return model_fn


def train_once(args, remove: tuple[str, ...], seed: int, sources) -> dict:
    """Train one network with plain `model.fit` on keras_alexnet.data's pipeline; returns its validation errors."""
    import keras

    from keras_alexnet.data import make_eval_dataset, make_train_dataset, predict_probabilities, top_k_error
    from keras_alexnet.models.variants import get_variant
    from keras_alexnet.training import PaperSGD

    train_source, val_source = sources
    name = "full" if not remove else "no_" + "_".join(remove)
    normalization = get_variant(args.variant).preprocessing  # the checkpoints' own mean subtraction
    keras.utils.set_random_seed(seed)
    model = make_model_fn(remove, args.variant, args.init, 0.5, seed)(train_source.num_classes, args.image_size)
    model.compile(
        optimizer=PaperSGD(args.learning_rate, momentum=0.9, weight_decay=0.0005),
        loss="sparse_categorical_crossentropy",
    )
    resize = round(args.image_size * 256 / 227)  # the paper's 256 -> 227 crop ratio
    started = time.time()
    for epoch in range(args.epochs):  # a new (seed, epoch) order and augmentation each epoch
        train = make_train_dataset(
            train_source,
            batch_size=args.batch_size,
            image_size=args.image_size,
            normalization=normalization,
            pca_std=0.0,
            seed=seed,
            epoch=epoch,
            resize=resize,
        )
        model.fit(train, epochs=1, verbose=0)
    val = make_eval_dataset(
        val_source, batch_size=64, image_size=args.image_size, normalization=normalization, resize=resize
    )
    probabilities, labels = predict_probabilities(model, val)
    return {
        "network": name,
        "seed": seed,
        "params": int(model.count_params()),
        "val_top1_error": top_k_error(probabilities, labels, 1),
        "val_top5_error": top_k_error(probabilities, labels, 5),
        "seconds": round(time.time() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--remove", nargs="+", default=["conv3"], help="conv layer(s) to remove (default: conv3)")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (default: 3)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--dataset", default="digits", help="'digits' (embedded), a TFDS name or folder:PATH")
    parser.add_argument("--image-size", type=int, default=67)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--init", choices=("paper", "keras", "bvlc"), default="keras")
    parser.add_argument("--variant", choices=("original", "torchvision"), default="original")
    parser.add_argument("--limit", type=int, default=None, help="training images to use")
    parser.add_argument("--val-limit", type=int, default=None, help="validation images to use")
    parser.add_argument("--json", default=None, help="write all results as JSON")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1. Received: {args.seeds}")
    remove = tuple(args.remove)
    from keras_alexnet.models.variants import get_variant

    get_variant(args.variant).ablation(remove)  # fails early on a bad layer name

    from keras_alexnet.data import load_source

    sources = (
        load_source(args.dataset, "train", limit=args.limit),
        load_source(args.dataset, "validation", limit=args.val_limit),
    )
    rows = []
    for seed in range(args.seeds):
        for removed in ((), remove):
            row = train_once(args, removed, seed, sources)
            rows.append(row)
            print(
                f"seed {seed}  {row['network']:<14} params {row['params']:>11,}  "
                f"val top-1 error {row['val_top1_error']:.4f}  ({row['seconds']:.0f} s)",
                flush=True,
            )
    full = np.array([r["val_top1_error"] for r in rows if r["network"] == "full"])
    ablated = np.array([r["val_top1_error"] for r in rows if r["network"] != "full"])
    difference = ablated - full
    spread = difference.std(ddof=1) if len(difference) > 1 else float("nan")
    print(
        f"\nfull: top-1 error {full.mean():.4f} ± {full.std(ddof=1) if len(full) > 1 else float('nan'):.4f}; "
        f"without {'+'.join(remove)}: {ablated.mean():.4f} ± "
        f"{ablated.std(ddof=1) if len(ablated) > 1 else float('nan'):.4f}"
    )
    print(
        f"top-1 error difference (ablated - full) over {args.seeds} seeds: "
        f"{difference.mean() * 100:+.2f} ± {spread * 100:.2f} percentage points (mean ± std)"
    )
    if args.json:
        summary = {"remove": list(remove), "runs": rows, "difference_mean": float(difference.mean())}
        summary["difference_std"] = float(spread)
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
