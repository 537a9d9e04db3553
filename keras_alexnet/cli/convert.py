"""`keras-alexnet convert`: a public original (ONNX, torchvision, Caffe) to a checkpoint directory.

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> args = build_parser().parse_args(["convert", "--from", "onnx", "bvlcalexnet-12.onnx", "-o", "out"])
>>> args.source_format, args.output
('onnx', 'out')
"""

from __future__ import annotations

import argparse

FORMATS = ("onnx", "torchvision", "caffe")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="convert a public original (ONNX, torchvision .pth, Caffe .caffemodel) to a checkpoint",
        description=(
            "Convert a public AlexNet original to a keras_alexnet checkpoint directory, after comparing its "
            "checksum with the known originals (a mismatch is a warning). Prints one line saying what was "
            "converted, the checksum verdict and how long it took."
        ),
    )
    parser.add_argument("src", help="the original file (.onnx, .pth/.pt, .caffemodel)")
    parser.add_argument(
        "--from",
        dest="source_format",
        choices=FORMATS,
        default=None,
        help="the source format (default: from the file extension)",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help="checkpoint directory to write: absent, empty, or an earlier checkpoint (replaced atomically)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace OUTPUT even if it is not an earlier checkpoint"
    )
    parser.add_argument(
        "--name",
        default=None,
        help="registered weights name SRC is the original of (e.g. bvlc_imagenet1k); default: found by checksum",
    )
    parser.add_argument("--no-checksum", action="store_true", help="skip the checksum comparison")
    parser.add_argument(
        "--require-original",
        action="store_true",
        help="fail unless SRC's checksum matches a known original (use this before publishing)",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="before writing OUT_DIR, compare the checkpoint's logits on two real photographs with an "
        "independent run of SRC (ONNX Runtime / PyTorch); refuse to write it if they differ",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging
    import warnings

    from keras_alexnet.convert import UnverifiedOriginalWarning, convert

    # The verdict is part of the summary line; do not print it twice (warning and log line).
    logger = logging.getLogger("keras_alexnet.convert")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnverifiedOriginalWarning)
            result = convert(
                args.src,
                args.output,
                source_format=args.source_format,
                record=args.name,
                verify_checksum=not args.no_checksum,
                verify=args.verify,
                require_original=args.require_original,
                overwrite=args.overwrite,
            )
    finally:
        logger.setLevel(level)
    print(result.summary())
    return 0
