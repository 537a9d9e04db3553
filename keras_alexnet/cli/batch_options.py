"""Command-line options of the streaming commands (`predict`, `embed`): inputs, decoding, progress, runner.

Example:

>>> import argparse
>>> from keras_alexnet.cli.batch_options import add_input_arguments, add_runner_arguments
>>> parser = argparse.ArgumentParser()
>>> add_input_arguments(parser)
>>> add_runner_arguments(parser)
>>> args = parser.parse_args(["photos/", "@more.txt", "--runner", "beam", "--beam-options=--direct_num_workers=2"])
>>> args.inputs, args.runner, args.beam_options
(['photos/', '@more.txt'], 'beam', '--direct_num_workers=2')
"""

from __future__ import annotations

import argparse

from keras_alexnet.cli.arguments import positive_int

INPUTS_HELP = (
    "image files, folders (searched recursively), glob patterns ('photos/**/*.jpg', quoted), @LIST.txt (one "
    "path a line) or tfds:NAME:SPLIT (a prepared TFDS split, e.g. tfds:imagenette/320px-v2:validation)"
)


def add_input_arguments(parser: argparse.ArgumentParser, *, nargs: str = "+") -> None:
    """INPUT..., --workers, --data-dir, --no-progress."""
    parser.add_argument("inputs", nargs=nargs, metavar="INPUT", help=INPUTS_HELP)
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="threads decoding images in parallel with the network (default: the CPU count)",
    )
    parser.add_argument("--data-dir", default=None, help="TFDS data directory for tfds:NAME:SPLIT inputs")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (it is shown only when stderr is a terminal)"
    )


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """--runner local|beam and --beam-options."""
    parser.add_argument(
        "--runner",
        choices=("local", "beam"),
        default="local",
        help="'local' (default): this process; 'beam': an Apache Beam pipeline (DirectRunner on this machine with "
        "2 worker processes unless --beam-options says otherwise; needs the [beam] extra; see docs/batch.md)",
    )
    parser.add_argument(
        "--beam-options",
        default="",
        metavar="OPTIONS",
        help="Beam pipeline options as one string, e.g. --beam-options='--runner=FlinkRunner "
        "--flink_master=host:8081' (with --runner beam)",
    )
