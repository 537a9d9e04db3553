"""Draw a run's curves (loss, top-1 error, top-5 error, learning rate) from its `log.csv` to a PNG.

Example:

>>> import tempfile, pathlib
>>> from keras_alexnet.training.plot import plot_run
>>> run = pathlib.Path(tempfile.mkdtemp())
>>> _ = (run / "log.csv").write_text("epoch,loss,top1_error,learning_rate\\n0,2.3,0.9,0.01\\n1,2.0,0.8,0.01\\n")
>>> plot_run(run).name
'curves.png'
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from keras_alexnet.errors import require

LOG_FILENAME = "log.csv"
PLOT_FILENAME = "curves.png"
PANELS = (
    ("loss", "loss"),
    ("top1_error", "top-1 error"),
    ("top5_error", "top-5 error"),
    ("learning_rate", "learning rate"),
)


def read_log(path: str | os.PathLike) -> dict[str, list[float]]:
    """Columns of a CSV log as lists of floats (empty cells become NaN)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"No training log at {path}; pass the run directory of `keras-alexnet train`. Received: {path}"
        )
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"The training log {path} has no rows yet. Received: {path}")
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            try:
                number = float(value) if value not in ("", None) else math.nan
            except ValueError:
                number = math.nan
            columns.setdefault(key, []).append(number)
    return columns


def _passes_per_row(run_dir: Path) -> tuple[float, str]:
    """Passes over the training images per log row: 1, unless `--steps-per-epoch` made rows shorter."""
    import json

    try:
        derived = json.loads((run_dir / "config.json").read_text())["derived"]
        fraction = derived["steps_per_epoch"] * derived["global_batch_size"] / derived["train_images"]
    except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError):
        return 1.0, "epoch"
    if abs(fraction - 1.0) < 0.05:
        return 1.0, "epoch"
    return fraction, "epochs (passes over the training images)"


def plot_run(run_dir: str | os.PathLike, output: str | os.PathLike | None = None) -> Path:
    """Plot `run_dir/log.csv` to `output` (default `run_dir/curves.png`); returns the PNG path."""
    matplotlib = require("matplotlib", "analysis", "Plotting a run's curves")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    columns = read_log(run_dir / LOG_FILENAME)
    epochs = [int(e) + 1 for e in columns.get("epoch", range(len(next(iter(columns.values())))))]
    per_row, x_label = _passes_per_row(run_dir)
    epochs = [e * per_row for e in epochs]
    figure, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for axis, (key, title) in zip(axes, PANELS, strict=True):
        for prefix, label in (("", "train"), ("val_", "validation")):
            values = columns.get(prefix + key)
            if values and not all(math.isnan(v) for v in values):
                if key == "learning_rate" and prefix:
                    continue
                axis.plot(epochs, values, marker="o", label=label if key != "learning_rate" else None)
        axis.set_title(title)
        axis.set_xlabel(x_label)
        if not axis.lines:
            axis.text(0.5, 0.5, "not logged", ha="center", va="center", transform=axis.transAxes, color="gray")
        elif key == "learning_rate":
            axis.set_yscale("log")
        elif axis.lines:
            axis.legend()
        axis.grid(alpha=0.3)
    figure.suptitle(f"keras-alexnet: {run_dir.name}")
    figure.tight_layout()
    output = Path(output) if output else run_dir / PLOT_FILENAME
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=80)
    plt.close(figure)
    return output
