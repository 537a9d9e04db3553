"""`keras-alexnet plot RUN_DIR`: draw loss / top-1 / top-5 / learning-rate curves of a run to PNG.

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> build_parser().parse_args(["plot", "runs/x"]).run_dir
'runs/x'
"""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser("plot", help="plot a training run's curves (loss, top-1, top-5, lr) to PNG")
    parser.add_argument("run_dir", help="run directory of `keras-alexnet train` or `finetune` (with log.csv)")
    parser.add_argument("--output", default=None, help="PNG path (default: RUN_DIR/curves.png)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from keras_alexnet.training.plot import plot_run

    print(plot_run(args.run_dir, args.output))
    return 0
