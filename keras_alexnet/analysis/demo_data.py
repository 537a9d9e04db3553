"""A small offline image folder for demos and tests: views of the sample photographs.

`write_sample_views` crops, mirrors and recolours the two photographs that
scikit-learn ships (`keras_alexnet.samples`) into a folder of JPEGs, named
`<photo>_<view>.jpg`, so that `embed`/`neighbours` can be tried without any
download: a good feature space puts views of the same photo next to each other.

Example:

>>> import tempfile
>>> from keras_alexnet.analysis.demo_data import write_sample_views
>>> len(write_sample_views(tempfile.mkdtemp(), views=3))
6
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps


def sample_views(image: Image.Image, views: int, seed: int = 0) -> list[Image.Image]:
    """`views` deterministic variations of `image`: random crops, mirrors, brightness/colour changes."""
    rng = np.random.default_rng(seed)
    width, height = image.size
    out = []
    for i in range(views):
        scale = rng.uniform(0.55, 0.9)
        w, h = int(width * scale), int(height * scale)
        left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
        view = image.crop((left, top, left + w, top + h))
        if i % 2:
            view = ImageOps.mirror(view)
        view = ImageEnhance.Brightness(view).enhance(rng.uniform(0.7, 1.3))
        view = ImageEnhance.Color(view).enhance(rng.uniform(0.5, 1.5))
        out.append(view)
    return out


def write_sample_views(directory: str | os.PathLike, views: int = 8, seed: int = 0) -> list[Path]:
    """Write `views` JPEG views of each sample photograph into `directory`; returns their paths."""
    from keras_alexnet.samples import sample_image_paths

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for number, source in enumerate(sample_image_paths()):
        with Image.open(source) as photo:
            for i, view in enumerate(sample_views(photo.convert("RGB"), views, seed + number)):
                path = directory / f"{source.stem}_{i:02d}.jpg"
                view.save(path, quality=90)
                written.append(path)
    return written
