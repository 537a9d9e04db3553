"""Image loading the way the checkpoints expect it, robust to real-world files.

`load_image` opens any image Pillow reads (JPEG, PNG, GIF, BMP, TIFF, WebP),
whatever its extension says; applies the EXIF orientation; converts
grayscale, palette, CMYK and alpha images to RGB; scales 16-bit, 32-bit and
floating-point images to 0-255 (see `open_rgb`); decodes large JPEGs at a
reduced scale first (`draft`) so very large photos load quickly; then resizes
the shorter side to `resize` (or, `resize_mode="warp"`, both sides: Caffe's
way) and crops the centre `size` x `size` square. `load_image(path,
weights=NAME)` prepares it as that checkpoint was evaluated
(`keras_alexnet.eval_preprocessing`).
`ten_crop` gives the paper's ten views (four corners and centre, and their
horizontal mirrors).

Memory and time are bounded whatever the file claims: an image that would
decode to more than `MAX_IMAGE_PIXELS` pixels is refused from its header,
before anything is decoded, with an `ImageReadError`; and an image much
longer than it is wide (or the reverse) is resampled only in the centre
region that the crop keeps, never at its full resized length.

Example:

>>> from keras_alexnet.image_io import load_image
>>> from keras_alexnet.samples import sample_image_paths
>>> load_image(sample_image_paths()[0], size=227).shape
(227, 227, 3)
>>> load_image(sample_image_paths()[0], weights="torchvision_imagenet1k").shape
(224, 224, 3)
"""

from __future__ import annotations

import os
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from keras_alexnet.eval_preprocessing import check_resize_mode

#: The most pixels `open_rgb` decodes at full resolution (after a JPEG's reduced-scale `draft`, which decodes
#: 1/4 to 1/64 of the pixels). 2**27 (134 M) holds a 100-megapixel sensor's TIFF or PNG (11648 x 8736) and a
#: 16000 x 8000 panorama; decoding and converting take up to ~8 bytes a pixel (a 4-byte decoded image and its
#: 4-byte RGB copy; measured at the limit: 0.3 to 1.0 GB above the process's own, RGB PNG to 32-bit TIFF), so one
#: image stays near 1 GB whatever a (possibly tiny) file claims. Raise it
#: (`keras_alexnet.image_io.MAX_IMAGE_PIXELS = ...`) for bigger files you trust.
MAX_IMAGE_PIXELS = 2**27

#: An image whose longer side, after resizing its shorter side, is more than this many times the shorter side
#: is resampled only in the centre square that `load_image` keeps (equal to the full resize within 2 levels):
#: a 1 x 100000 strip would otherwise become 256 x 25,600,000 pixels (26 GB) before the crop.
MAX_FULL_RESIZE_RATIO = 4

# Pillow's own decompression-bomb guard (default 89 M pixels, an error above twice that) is raised to this,
# so that a large JPEG, decoded at a reduced scale, still opens; `MAX_IMAGE_PIXELS` is the real bound.
_PILLOW_MAX_IMAGE_PIXELS = 400_000_000

# Pillow modes whose samples do not fit in 8 bits; `_to_8bit` scales them to 0-255.
_HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")

# What Pillow raises for a file it cannot identify or decode (UnidentifiedImageError, "image file is truncated",
# IsADirectoryError and PermissionError are OSErrors; SyntaxError and ValueError come from malformed headers;
# DecompressionBombError is not an OSError).
_DECODE_ERRORS = (Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError)


class ImageReadError(ValueError):
    """A file is not a readable image, or is larger than `MAX_IMAGE_PIXELS`; the message names the file."""


def open_rgb(path: str | os.PathLike | BinaryIO, min_side: int | None = None) -> Image.Image:
    """Open `path` (a file name, or a binary file object: its `name`, if any, names it in errors) as upright RGB.

    With `min_side`, a JPEG may be decoded at a reduced scale whose shorter side
    is still at least `min_side` (much faster for very large photos).

    Samples wider than 8 bits are scaled, not clipped: 16-bit images (modes
    `I;16*`) by 255 / 65535; 32-bit integer images (mode `I`) by their declared
    depth (a TIFF's BitsPerSample and SampleFormat; other formats Pillow opens
    as `I`, such as PGM/PPM and older Pillows' PNGs, hold 16-bit samples), with
    negative values clipped to 0; floating-point images (mode `F`) are taken
    to be in [0, 1]: multiplied by 255 and clipped to 0-255 (NaN becomes 0).
    16-bit RGB(A) PNGs are read by Pillow at 8 bits (the high byte).

    Raises `ImageReadError` (a `ValueError`) naming the file when it is not a
    readable image or would decode to more than `MAX_IMAGE_PIXELS` pixels, and
    `FileNotFoundError` when it does not exist.
    """
    _raise_pillow_guard()
    name = os.fspath(path) if isinstance(path, str | os.PathLike) else str(getattr(path, "name", "<image bytes>"))
    try:
        image = Image.open(path)
        if min_side and image.format == "JPEG":
            width, height = image.size
            scale = min_side / min(width, height)
            if scale < 0.5:
                image.draft("RGB", (int(width * scale) + 1, int(height * scale) + 1))
        _check_pixels(image, name)  # the header's size, before anything is decoded
        ImageOps.exif_transpose(image, in_place=True)
        if image.mode in _HIGH_DEPTH_MODES:
            image = _to_8bit(image)  # rebinding frees the wide decoded image before the RGB copy is made
        return _to_rgb(image)
    except (FileNotFoundError, ImageReadError):
        raise
    except (IsADirectoryError, PermissionError) as error:
        raise ImageReadError(
            f"{name}: cannot read it ({error.strerror}); pass an image file that you may read. Received: {name}"
        ) from error
    except Image.DecompressionBombError as error:
        raise ImageReadError(
            f"{name}: too many pixels to decode ({error}); downscale the file first, or raise "
            f"PIL.Image.MAX_IMAGE_PIXELS and keras_alexnet.image_io.MAX_IMAGE_PIXELS if you trust it. Received: {name}"
        ) from error
    except _DECODE_ERRORS as error:
        raise ImageReadError(
            f"{name}: not a readable image ({error}); check that it is an image file Pillow can open "
            f"(JPEG, PNG, GIF, BMP, TIFF, WebP, ...). Received: {name}"
        ) from error


def _raise_pillow_guard() -> None:
    """Raise Pillow's decompression-bomb guard to `_PILLOW_MAX_IMAGE_PIXELS` (never lower it, never re-enable it)."""
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < _PILLOW_MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = _PILLOW_MAX_IMAGE_PIXELS


def _check_pixels(image: Image.Image, name: str) -> None:
    """Refuse an image that would decode to more than `MAX_IMAGE_PIXELS` pixels (known from the header)."""
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageReadError(
            f"{name}: the image is {width} x {height} = {width * height:,} pixels, more than the "
            f"{MAX_IMAGE_PIXELS:,} that keras_alexnet decodes (keras_alexnet.image_io.MAX_IMAGE_PIXELS, which bounds "
            f"memory); downscale the file first, or raise that limit if you trust the file. "
            f"Received: {width}x{height} pixels"
        )


def _to_rgb(image: Image.Image) -> Image.Image:
    """An 8-bit RGB copy of an 8-bit `image` (or `image` itself, decoded, when it is RGB already).

    Transparent pixels are composited onto white.
    """
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        background.paste(rgba, mask=rgba)  # an RGBA mask: its alpha band, without a copy of it
        return background
    if image.mode == "RGB":
        image.load()  # no copy: halves the peak memory of a large RGB image
        return image
    return image.convert("RGB")


def _to_8bit(image: Image.Image) -> Image.Image:
    """A grey (`L`) image of a 16-bit, 32-bit or float image, scaled as `open_rgb` describes."""
    scale = 255.0 if image.mode == "F" else 255.0 / _integer_maximum(image)
    # point() runs x * scale + offset in C on I;16, I and F images (Pillow >= 10), not on I;16B/L/N.
    samples = image if image.mode in ("I;16", "I", "F") else image.convert("I")
    # point() with x * scale + offset runs in C; converting to L clips to 0-255 (the + 0.5 rounds).
    return samples.point(lambda x: x * scale + 0.5).convert("L")


def _integer_maximum(image: Image.Image) -> int:
    """The largest value of an integer image's samples, from its mode or (TIFF) its declared sample format."""
    if image.mode.startswith("I;16"):
        return 65535
    tags = getattr(image, "tag_v2", None)
    bits = _first(tags.get(258)) if tags else None  # BitsPerSample
    if not bits:
        return 65535
    signed = (_first(tags.get(339)) or 1) == 2  # SampleFormat 2: two's complement
    return 2 ** (bits - 1) - 1 if signed else 2**bits - 1


def _first(value) -> int | None:
    """A TIFF tag's first value (tags hold a number or a tuple of numbers)."""
    if isinstance(value, tuple):
        return int(value[0]) if value else None
    return None if value is None else int(value)


def resize_shorter_side(image: Image.Image, side: int) -> Image.Image:
    """Resize so that the shorter side is `side` pixels, keeping the aspect ratio."""
    return image.resize(_shorter_side_size(image.size, side), Image.Resampling.BILINEAR, reducing_gap=3.0)


def _shorter_side_size(size: tuple[int, int], side: int) -> tuple[int, int]:
    width, height = size
    scale = side / min(width, height)
    return max(side, round(width * scale)), max(side, round(height * scale))


def _resize_and_crop(image: Image.Image, resize: int, size: int) -> np.ndarray:
    """The centre `size` x `size` square of `image` with its shorter side resized to `resize`, as uint8 RGB.

    When the resized image would be more than `MAX_FULL_RESIZE_RATIO` times longer than wide, only the centre
    square is resampled (Pillow's `box`: the same sampling grid as the full resize), so memory stays bounded.
    """
    new_width, new_height = _shorter_side_size(image.size, resize)
    if max(new_width, new_height) <= MAX_FULL_RESIZE_RATIO * min(new_width, new_height):
        resized = image.resize((new_width, new_height), Image.Resampling.BILINEAR, reducing_gap=3.0)
        return center_crop(np.asarray(resized, dtype=np.uint8), size)
    left, top = (new_width - size) // 2, (new_height - size) // 2
    scale_x, scale_y = image.width / new_width, image.height / new_height
    box = (left * scale_x, top * scale_y, (left + size) * scale_x, (top + size) * scale_y)
    cropped = image.resize((size, size), Image.Resampling.BILINEAR, box=box, reducing_gap=3.0)
    return np.asarray(cropped, dtype=np.uint8)


def center_crop(array: np.ndarray, size: int) -> np.ndarray:
    """The centre `size` x `size` square of an (H, W, C) array."""
    height, width = array.shape[:2]
    if height < size or width < size:
        raise ValueError(f"Cannot crop {size}x{size} from an image of {height}x{width}. Received: size={size}")
    top, left = (height - size) // 2, (width - size) // 2
    return array[top : top + size, left : left + size]


def load_image(
    path: str | os.PathLike | BinaryIO,
    size: int | None = None,
    resize: int | None = None,
    resize_mode: str | None = None,
    *,
    weights=None,
) -> np.ndarray:
    """Load `path` as uint8 RGB (size, size, 3): resized to `resize`, then the centre `size` x `size` crop.

    `resize_mode` "shorter_side" resizes the shorter side to `resize` (aspect ratio kept, torchvision's way);
    "warp" resizes both sides to `resize` (aspect ratio not kept, as Caffe stored ImageNet for BVLC's model).
    With `weights` (a registered name, a checkpoint directory or a `NetworkRecord`), the defaults are that
    checkpoint's evaluation preprocessing (`keras_alexnet.eval_preprocessing`: warp 256, crop 227 for BVLC's
    weights; shorter side 256, crop 224 for torchvision's); without it, they are what they always were:
    shorter side to 256, crop 227. Explicit arguments win either way.

    `path` may also be a binary file object (`io.BytesIO(encoded)`, a TFDS record's bytes); its `name`
    attribute, if set, names it in errors.

    Raises `ImageReadError` (a `ValueError` naming the file) for a file that is not a readable image or is
    larger than `MAX_IMAGE_PIXELS`, and `FileNotFoundError` for a missing file.
    """
    if weights is not None:
        from keras_alexnet.eval_preprocessing import eval_preprocessing

        spec = eval_preprocessing(weights, resize_mode=resize_mode, resize=resize, crop=size)
        size, resize, resize_mode = spec.crop, spec.resize, spec.resize_mode
    size = 227 if size is None else size
    resize = 256 if resize is None else resize
    resize_mode = "shorter_side" if resize_mode is None else resize_mode
    check_resize_mode(resize_mode)
    if size > resize:
        raise ValueError(f"`size` must not exceed `resize`. Received: size={size}, resize={resize}")
    image = open_rgb(path, min_side=resize)  # a JPEG draft keeps both sides >= resize: enough for a warp too
    if resize_mode == "warp":
        return _warp_and_crop(image, resize, size)
    return _resize_and_crop(image, resize, size)


def _warp_and_crop(image: Image.Image, side: int, size: int) -> np.ndarray:
    """The centre `size` x `size` square of `image` resized to `side` x `side` (aspect ratio not kept), uint8 RGB.

    The warped image is at most `side` x `side`, so memory is bounded whatever the aspect ratio.
    """
    warped = image.resize((side, side), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return center_crop(np.asarray(warped, dtype=np.uint8), size)


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
