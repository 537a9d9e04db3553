"""argparse `type=` converters that refuse out-of-range numbers with one line, before any work starts.

`--batch-size 0` or `--top -1` would otherwise reach Keras or NumPy and fail
there with an IndexError or a traceback; with these types argparse prints
`keras-alexnet COMMAND: error: argument --batch-size: ...` and exits 2.

Example:

>>> import argparse
>>> from keras_alexnet.cli.arguments import positive_int, non_negative_float
>>> parser = argparse.ArgumentParser()
>>> _ = parser.add_argument("--batch-size", type=positive_int, default=32)
>>> _ = parser.add_argument("--atol", type=non_negative_float, default=0.0)
>>> parser.parse_args(["--batch-size", "8", "--atol", "1e-4"])
Namespace(batch_size=8, atol=0.0001)
>>> positive_int("0")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: must be a whole number >= 1. Received: '0'
"""

from __future__ import annotations

import argparse
import math

__all__ = ["non_negative_float", "non_negative_int", "positive_float", "positive_int", "probability"]


def _integer(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise argparse.ArgumentTypeError(f"must be a whole number >= {minimum}. Received: {text!r}")
    return value


def _real(text: str, ok, rule: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not ok(value):
        raise argparse.ArgumentTypeError(f"must be a finite number {rule}. Received: {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (batch sizes, epochs, counts, `--top`)."""
    return _integer(text, 1)


def non_negative_int(text: str) -> int:
    """An integer >= 0 (seeds, optional limits where 0 means none)."""
    return _integer(text, 0)


def positive_float(text: str) -> float:
    """A finite number > 0 (learning rates, scales)."""
    return _real(text, lambda v: v > 0, "> 0")


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (tolerances, weight decay)."""
    return _real(text, lambda v: v >= 0, ">= 0")


def probability(text: str) -> float:
    """A finite number in [0, 1) (dropout rates)."""
    return _real(text, lambda v: 0 <= v < 1, "in [0, 1)")
