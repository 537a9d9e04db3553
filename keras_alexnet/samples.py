"""Real photographs available offline: the two sample images that scikit-learn ships.

`china.jpg` (a temple) and `flower.jpg` (a flower), 427x640 RGB JPEGs, shipped in
`sklearn/datasets/images/` under their original licenses (see scikit-learn's
`README.txt` there). Used by examples, the README and parity tests as "real images".

Example:

>>> from keras_alexnet.samples import sample_image_paths
>>> sorted(p.name for p in sample_image_paths())
['china.jpg', 'flower.jpg']
"""

from __future__ import annotations

from pathlib import Path

from keras_alexnet.errors import require


def sample_image_paths() -> list[Path]:
    """Paths of the sample JPEGs shipped by scikit-learn."""
    sklearn = require("sklearn", "convert", "The sample photographs (scikit-learn's china.jpg and flower.jpg)")
    folder = Path(sklearn.__file__).parent / "datasets" / "images"
    paths = sorted(folder.glob("*.jpg"))
    if not paths:
        raise FileNotFoundError(f"scikit-learn's sample images are missing from {folder}")
    return paths
