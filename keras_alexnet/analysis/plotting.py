"""Small matplotlib helpers shared by the analysis figures (Agg backend, no global pyplot state).

Example:

>>> import numpy as np, tempfile
>>> from keras_alexnet.analysis.plotting import image_grid
>>> path = image_grid([[(np.zeros((8, 8, 3)), "a"), (np.ones((8, 8, 3)), "b")]], tempfile.mktemp(suffix=".png"))
>>> path.suffix
'.png'
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from keras_alexnet.errors import require
from keras_alexnet.outputs import write_file_atomic

#: Images are drawn at this many inches per grid cell.
CELL_INCHES = 1.6
#: Why matplotlib is needed, in the one-line error of an install without the `[analysis]` extra.
PURPOSE = "Drawing a figure (kernels, activations, neighbours, evaluate's plot)"


def matplotlib_module():
    """`matplotlib`, or `MissingDependencyError` naming the `[analysis]` extra where it is not installed."""
    return require("matplotlib", "analysis", PURPOSE)


def new_figure(width: float, height: float):
    """A matplotlib Figure not registered with pyplot (thread-safe, never shown)."""
    matplotlib_module()
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def save_figure(figure, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Save `figure` as PNG to `path` (creating the folder), written atomically."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"The output must be a .png file. Received: {os.fspath(path)!r}")
    write_file_atomic(path, lambda file: figure.savefig(file, dpi=dpi, format="png", metadata={"Software": None}))
    return path


def image_grid(
    rows: list[list[tuple[np.ndarray, str]]],
    path: str | os.PathLike,
    title: str | None = None,
    cell_inches: float = CELL_INCHES,
) -> Path:
    """Draw rows of (image, caption) pairs, images as HxWx3 uint8 or floats in [0, 1]."""
    if not rows or not any(rows):
        raise ValueError("Nothing to draw: the grid has no images. Received: rows=[]")
    columns = max(len(row) for row in rows)
    figure = new_figure(columns * cell_inches, len(rows) * (cell_inches + 0.25) + (0.4 if title else 0))
    axes = figure.subplots(len(rows), columns, squeeze=False)
    for r, row in enumerate(rows):
        for c in range(columns):
            axis = axes[r][c]
            axis.set_axis_off()
            if c < len(row):
                image, caption = row[c]
                axis.imshow(image, interpolation="nearest")
                axis.set_title(caption, fontsize=7)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return save_figure(figure, path)


def thumbnail(image: np.ndarray, side: int = 128) -> np.ndarray:
    """Downscale a uint8 HxWx3 image so that its longer side is `side` pixels."""
    from PIL import Image

    pil = Image.fromarray(np.asarray(image, dtype=np.uint8))
    pil.thumbnail((side, side), Image.Resampling.BILINEAR)
    return np.asarray(pil)
