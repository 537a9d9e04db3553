"""Command-line options shared by the analysis subcommands (`kernels`, `embed`, `neighbours`, ...).

Example:

>>> import argparse
>>> from keras_alexnet.analysis.cli_options import add_model_options
>>> parser = argparse.ArgumentParser()
>>> add_model_options(parser)
>>> parser.parse_args([]).seed
0
"""

from __future__ import annotations

import argparse


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--weights, --variant and --seed (the seed of random weights when --weights is not given)."""
    parser.add_argument(
        "--weights",
        default=None,
        help="checkpoint directory, registered name, hf:// URI, .keras or .weights.h5 file "
        "(default: random weights, seeded by --seed)",
    )
    parser.add_argument(
        "--variant",
        default=None,
        choices=("original", "torchvision"),
        help="architecture (default: the checkpoint's, else 'original')",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights (default: 0)")


def describe_weights(weights: str | None, seed: int | None) -> str:
    """A short description of the weights for figure titles."""
    return str(weights) if weights is not None else f"random weights (seed {seed})"
