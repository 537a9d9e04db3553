"""Arrays as PNG data URIs for the page: images, feature-map grids (NaN gaps drawn blue), kernel mosaics.

Example:

>>> import numpy as np
>>> from keras_alexnet.explore.encode import png_data_uri
>>> png_data_uri(np.zeros((2, 2, 3), "uint8")).startswith("data:image/png;base64,")
True
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

#: The colour of the gaps between maps in a grid (as in `keras-alexnet activations`).
GAP_RGB = (48, 96, 192)


def to_uint8(array: np.ndarray) -> np.ndarray:
    """A float array in [0, 1] (or uint8 already) as uint8; NaN becomes `GAP_RGB` (2D input becomes RGB)."""
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return array
    gaps = np.isnan(array)
    scaled = np.round(np.clip(np.nan_to_num(array), 0.0, 1.0) * 255).astype(np.uint8)
    if array.ndim == 2 and gaps.any():
        scaled = np.repeat(scaled[..., None], 3, axis=2)
        scaled[gaps] = GAP_RGB
    return scaled


def png_bytes(array: np.ndarray, max_side: int | None = None) -> bytes:
    """PNG of an (H, W) or (H, W, 3) array (uint8, or floats in [0, 1]); shrunk to `max_side` if larger."""
    image = Image.fromarray(to_uint8(array))
    if max_side and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def png_data_uri(array: np.ndarray, max_side: int | None = None) -> str:
    """`png_bytes` as a `data:image/png;base64,...` URI."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(array, max_side)).decode("ascii")
