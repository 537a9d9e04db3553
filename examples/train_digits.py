"""Train AlexNet from scratch with the paper's recipe, from Python, on the embedded digits set.

Usage:
    python examples/train_digits.py                     # real AlexNet (227x227), 1 epoch on 256 images
    python examples/train_digits.py --image-size 67 --epochs 5 --limit 0

The same run as `keras-alexnet train --dataset digits --epochs 1 --limit 256`: the paper's initialisation,
PaperSGD (momentum 0.9, weight decay 0.0005 through the momentum), learning rate 0.01 divided by 10 on
validation plateaus, dropout 0.5, random crops + flips + PCA colour augmentation, mean subtraction.
Every option of `TrainConfig` can be changed here; the effective configuration lands in RUN_DIR/config.json.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--limit", type=int, default=256, help="training images; 0 for all 1438")
    parser.add_argument("--image-size", type=int, default=None, help="default: 227 (the real AlexNet)")
    parser.add_argument("--run-dir", default="runs/train_digits")
    args = parser.parse_args()

    from keras_alexnet.training import TrainConfig, train

    config = TrainConfig(
        dataset="digits",
        epochs=args.epochs,
        limit=args.limit or None,
        val_limit=128 if args.limit else None,
        image_size=args.image_size,
        run_dir=args.run_dir,
        verbose=2,
    )
    result = train(config)
    print("final:", {k: round(v, 4) for k, v in result.final.items()})
    print("curves:", result.plot)


if __name__ == "__main__":
    main()
