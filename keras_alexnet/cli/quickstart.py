"""`keras-alexnet quickstart`: train the full AlexNet on the embedded digits (offline, ~4 min), then use it.

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> args = build_parser().parse_args(["quickstart", "--seed", "2"])
>>> args.seed, args.run_dir
(2, None)
"""

from __future__ import annotations

import argparse

from keras_alexnet.cli.arguments import non_negative_int


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "quickstart",
        help="train the full AlexNet on the embedded digits in minutes, then classify, draw kernels and curves",
        description="The first run: trains the paper's two-tower AlexNet (227x227, LRN) from random weights on "
        "the embedded handwritten digits with the quickstart preset (keras_alexnet/training/presets.py; "
        "~4 minutes on 2 CPU cores, offline), then classifies held-out digits with the checkpoint it wrote, draws "
        "conv1's kernels per tower and the training curves. Everything goes into the run directory.",
    )
    parser.add_argument(
        "--run-dir",
        default=None,
        help="a new or empty directory (default: runs/quickstart, or runs/quickstart-2, ... if that is taken)",
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the initialisation and data order")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2, help="training output (default 2)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from keras_alexnet.quickstart import run_quickstart

    results = run_quickstart(args.run_dir, seed=args.seed, verbose=args.verbose)
    print_summary(results)
    return 0


def print_summary(results: dict) -> None:
    """What the run shows and where it is, then the commands a user would type next."""
    quick = results["quickstart"]
    outputs = quick["outputs"]
    accuracy = results["val_top1_accuracy"]
    print()
    print(
        f"AlexNet trained from random weights on the digits in {quick['training_seconds']:.0f} s: "
        f"validation top-1 accuracy {accuracy:.1%} (359 held-out images)"
    )
    print(f"\nHeld-out digits classified with {outputs['checkpoint']} (as `keras-alexnet predict` does):")
    for sample in quick["samples"]:
        best = sample["top"][0]
        mark = "ok" if best["label"] == sample["true"] else "WRONG"
        others = ", ".join(f"{t['label']} {t['score']:.1%}" for t in sample["top"][1:])
        print(
            f"  {sample['image']}: true {sample['true']}, predicted {best['label']} {best['score']:.1%} "
            f"(then {others}) {mark}"
        )
    towers = ", ".join(f"{name} {fraction:.2f}" for name, fraction in quick["kernels"].items())
    print(f"\nconv1 colour fraction per tower: {towers} (the paper's Figure 3 on ImageNet; grey digits here)")
    print("\nOutputs:")
    for name, path in outputs.items():
        print(f"  {name:<11} {path}")
    checkpoint = outputs["checkpoint"]
    print("\nNext:")
    print(f"  keras-alexnet predict {outputs['samples']}/*.png --weights {checkpoint}")
    print(f"  keras-alexnet evaluate --weights {checkpoint} --dataset digits --split validation")
    print(f"  keras-alexnet explore --weights {checkpoint}")
    print("  keras-alexnet predict photo.jpg --weights imagenet      # real photos: the BVLC weights (online, once)")
    print("  keras-alexnet train --help                             # the paper's recipe, on your data or ImageNet")
