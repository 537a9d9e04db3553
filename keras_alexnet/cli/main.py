"""Entry point of the `keras-alexnet` command line.

Every module in `keras_alexnet.cli` that defines `register(subparsers)` adds
its subcommand(s); a subcommand's parser sets `func(args) -> int`. Heavy
imports (TensorFlow) happen inside `func`, so `--help` is fast.

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> "info" in build_parser().format_help()
True
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

import keras_alexnet.cli as cli_package
from keras_alexnet.version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keras-alexnet",
        description="AlexNet (Krizhevsky, Sutskever and Hinton, 2012) for Keras 3.",
    )
    parser.add_argument("--version", action="version", version=f"keras-alexnet {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(cli_package.__path__), key=lambda m: m.name):
        if module_info.name in ("main",) or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{cli_package.__name__}.{module_info.name}")
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"keras-alexnet {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
