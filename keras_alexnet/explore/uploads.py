"""Turning an uploaded file into the network's input crop, with the limits of `keras_alexnet.image_io`.

An upload is refused, with a message the page shows, when it is empty, larger than `MAX_UPLOAD_BYTES`
(counted while it arrives, so a huge upload is never held in memory), not an image Pillow reads, or an
image of more than `keras_alexnet.image_io.MAX_IMAGE_PIXELS` pixels (checked from its header before it is
decoded). The bytes go to a temporary file that is removed at once, then through `load_image`.

Example:

>>> from keras_alexnet.explore.uploads import UploadError, check_upload_size
>>> try:
...     check_upload_size(b"", "empty.jpg")
... except UploadError as error:
...     print(error.status, str(error)[:29])
400 empty.jpg: the file is empty;
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

#: The largest upload accepted, in bytes (a 100-megapixel JPEG is about 30-60 MB).
MAX_UPLOAD_BYTES = 64 * 2**20


class UploadError(ValueError):
    """An upload that cannot be shown; `.status` is the HTTP status to answer with (400, 413, 415)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def too_large(name: str, limit: int) -> UploadError:
    return UploadError(
        f"{name}: the file is larger than the {limit / 2**20:.0f} MiB that the explore page accepts; "
        f"downscale it first. Received: more than {limit:,} bytes",
        status=413,
    )


def check_upload_size(data: bytes, name: str, limit: int = MAX_UPLOAD_BYTES) -> None:
    """Raise `UploadError` for an empty upload or one over `limit` bytes."""
    if not data:
        raise UploadError(f"{name}: the file is empty; choose an image file. Received: 0 bytes")
    if len(data) > limit:
        raise too_large(name, limit)


def safe_name(name: str | None) -> str:
    """The last part of an uploaded file name, for messages ("upload" when there is none)."""
    text = Path(str(name or "")).name.strip()
    return text[:120] or "upload"


def decode_upload(data: bytes, name: str, load: Callable[[str], np.ndarray], limit: int = MAX_UPLOAD_BYTES):
    """`load(path)` of the uploaded bytes written to a temporary file; `UploadError` naming `name` if unreadable."""
    from keras_alexnet.image_io import ImageReadError

    check_upload_size(data, name, limit)
    suffix = Path(name).suffix if len(Path(name).suffix) <= 8 else ""
    with tempfile.NamedTemporaryFile(prefix="keras-alexnet-upload-", suffix=suffix) as file:
        file.write(data)
        file.flush()
        try:
            return load(file.name)
        except ImageReadError as error:
            message = str(error).replace(file.name, name).replace(os.path.basename(file.name), name)
            status = 413 if "pixels" in message else 415  # too many pixels (ours or Pillow's guard)
            raise UploadError(message, status=status) from None
