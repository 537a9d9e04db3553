"""`--resize-mode` and `--resize` for the commands that prepare images (`predict`, `evaluate`, `embed`).

By default the images are prepared as the checkpoint was evaluated (`keras_alexnet.eval_preprocessing`:
warp to 256 x 256 and crop 227 for BVLC's weights, shorter side to 256 and crop 224 for torchvision's);
these flags override it. The crop is always the network's input size.

Example:

>>> import argparse
>>> from keras_alexnet.cli.preprocessing_options import add_preprocessing_arguments, eval_preprocessing_from
>>> from keras_alexnet.weights.network import NetworkRecord
>>> parser = argparse.ArgumentParser()
>>> add_preprocessing_arguments(parser)
>>> eval_preprocessing_from(parser.parse_args([]), NetworkRecord()).resize_mode
'warp'
>>> eval_preprocessing_from(parser.parse_args(["--resize-mode", "shorter_side"]), NetworkRecord()).resize_mode
'shorter_side'
"""

from __future__ import annotations

import argparse

from keras_alexnet.cli.arguments import positive_int
from keras_alexnet.eval_preprocessing import RESIZE_MODES, EvalPreprocessing, eval_preprocessing


def add_preprocessing_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --resize-mode and --resize (both default to the checkpoint's evaluation preprocessing)."""
    parser.add_argument(
        "--resize-mode",
        default=None,
        choices=RESIZE_MODES,
        help="how images are resized before the centre crop: 'warp' (both sides, aspect ratio not kept, as BVLC's "
        "Caffe data) or 'shorter_side' (aspect ratio kept, as torchvision); default: as the checkpoint was "
        "evaluated (warp for BVLC's weights, shorter_side for torchvision's)",
    )
    parser.add_argument(
        "--resize",
        type=positive_int,
        default=None,
        help="the side (warp) or shorter side images are resized to before the centre crop (default: the "
        "checkpoint's, 256)",
    )


def eval_preprocessing_from(args: argparse.Namespace, network) -> EvalPreprocessing:
    """The checkpoint's (`network`'s) evaluation preprocessing with the command line's overrides."""
    return eval_preprocessing(
        network, resize_mode=getattr(args, "resize_mode", None), resize=getattr(args, "resize", None)
    )
