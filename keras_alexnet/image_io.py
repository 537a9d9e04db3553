"""Image loading the way the checkpoints expect it, robust to real-world files.

`load_image` opens any image Pillow reads (JPEG, PNG, GIF, BMP, TIFF, WebP),
whatever its extension says; applies the EXIF orientation; converts
grayscale, palette, CMYK and alpha images to RGB; decodes large JPEGs at a
reduced scale first (`draft`) so very large photos load quickly; then resizes
the shorter side to `resize` and crops the centre `size` x `size` square.
`ten_crop` gives the paper's ten views (four corners and centre, and their
horizontal mirrors).

Example:

>>> from keras_alexnet.image_io import load_image
>>> from keras_alexnet.samples import sample_image_paths
>>> load_image(sample_image_paths()[0], size=227).shape
(227, 227, 3)
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Pillow refuses images above this many pixels (decompression-bomb guard);
#: raised so that large real photographs (e.g. 20000 x 15000) still load.
MAX_IMAGE_PIXELS = 400_000_000


class ImageReadError(ValueError):
    """A file is not a readable image."""


def open_rgb(path: str | os.PathLike, min_side: int | None = None) -> Image.Image:
    """Open `path` as an upright RGB Pillow image.

    With `min_side`, a JPEG may be decoded at a reduced scale whose shorter side
    is still at least `min_side` (much faster for very large photos).
    """
    Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, MAX_IMAGE_PIXELS)
    try:
        image = Image.open(path)
        if min_side and image.format == "JPEG":
            width, height = image.size
            scale = min_side / min(width, height)
            if scale < 0.5:
                image.draft("RGB", (int(width * scale) + 1, int(height * scale) + 1))
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            background = Image.new("RGB", image.size, (255, 255, 255))
            rgba = image.convert("RGBA")
            background.paste(rgba, mask=rgba.getchannel("A"))
            return background
        return image.convert("RGB")
    except FileNotFoundError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageReadError(f"{os.fspath(path)}: not a readable image ({error})") from error


def resize_shorter_side(image: Image.Image, side: int) -> Image.Image:
    """Resize so that the shorter side is `side` pixels, keeping the aspect ratio."""
    width, height = image.size
    scale = side / min(width, height)
    new_size = (max(side, round(width * scale)), max(side, round(height * scale)))
    return image.resize(new_size, Image.Resampling.BILINEAR, reducing_gap=3.0)


def center_crop(array: np.ndarray, size: int) -> np.ndarray:
    """The centre `size` x `size` square of an (H, W, C) array."""
    height, width = array.shape[:2]
    if height < size or width < size:
        raise ValueError(f"Cannot crop {size}x{size} from an image of {height}x{width}. Received: size={size}")
    top, left = (height - size) // 2, (width - size) // 2
    return array[top : top + size, left : left + size]


def load_image(path: str | os.PathLike, size: int = 227, resize: int = 256) -> np.ndarray:
    """Load `path` as uint8 RGB (size, size, 3): shorter side to `resize`, centre crop."""
    if size > resize:
        raise ValueError(f"`size` must not exceed `resize`. Received: size={size}, resize={resize}")
    image = resize_shorter_side(open_rgb(path, min_side=resize), resize)
    return center_crop(np.asarray(image, dtype=np.uint8), size)


def load_image_square(path: str | os.PathLike, side: int = 256) -> np.ndarray:
    """The paper's test-time image: shorter side to `side`, centre `side` x `side` square."""
    return load_image(path, size=side, resize=side)


def ten_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The paper's ten views of an (H, W, C) image: 4 corners + centre, and their mirrors."""
    height, width = image.shape[:2]
    if height < size or width < size:
        raise ValueError(f"Cannot crop {size}x{size} from an image of {height}x{width}. Received: size={size}")
    corners = [(0, 0), (0, width - size), (height - size, 0), (height - size, width - size)]
    crops = [image[t : t + size, left : left + size] for t, left in corners]
    crops.append(center_crop(image, size))
    crops += [crop[:, ::-1] for crop in crops]
    return np.stack(crops)
