"""Fine-tune AlexNet on the embedded digits set (offline) and report top-1 / top-5 error.

Usage:
    python examples/finetune_digits.py                      # from a randomly initialised AlexNet checkpoint
    python examples/finetune_digits.py --weights imagenet   # from the registry's ImageNet weights (downloads)
    python examples/finetune_digits.py --weights run/model.keras --epochs 3 --limit 512

Steps: (1) without --weights, save a random AlexNet as a keras_alexnet checkpoint (the same format as the
registry's); (2) replace its 1000-way classifier with a 10-way one and freeze conv1-conv5; (3) train with
`model.fit`; (4) evaluate centre-crop and ten-crop top-1/top-5; (5) save finetuned.keras, finetuned.weights.h5
and a checkpoint directory, and reload them with `keras_alexnet.AlexNet(weights=...)`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=None, help="starting weights (default: a random AlexNet checkpoint)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=512, help="training images (the split has 1438)")
    parser.add_argument("--learning-rate", type=float, default=0.001)
    parser.add_argument("--freeze", default="conv", choices=["conv", "all", "none"])
    parser.add_argument("--run-dir", default="runs/finetune_digits")
    args = parser.parse_args()

    import keras

    import keras_alexnet
    from keras_alexnet.training.finetune import FinetuneConfig, finetune

    weights = args.weights
    if weights is None:
        from keras_alexnet.weights.checkpoint import save_checkpoint
        from keras_alexnet.weights.network import NetworkRecord

        keras.utils.set_random_seed(0)
        weights = str(
            save_checkpoint(keras_alexnet.AlexNet(weights=None), Path(args.run_dir) / "start", NetworkRecord())
        )
        print(f"starting from a randomly initialised AlexNet saved at {weights}")

    results = finetune(
        FinetuneConfig(
            weights=weights,
            dataset="digits",
            limit=args.limit,
            epochs=args.epochs,
            learning_rate=args.learning_rate,
            freeze=args.freeze,
            run_dir=args.run_dir,
        )
    )
    for crops in ("center_crop", "ten_crop"):
        r = results[crops]
        print(
            f"{crops}: top-1 error {r['top1_error']:.3f}, top-5 error {r['top5_error']:.3f} "
            f"({r['num_examples']} images)"
        )

    model = keras_alexnet.AlexNet(weights=results["outputs"]["checkpoint"], classes=results["classes"])
    print("reloaded:", model.name, model.output_shape)
    print(json.dumps({k: results[k] for k in ("classes", "bad_records", "seconds")}))


if __name__ == "__main__":
    main()
