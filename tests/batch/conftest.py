"""Fixtures for the batch tests: an awkward-file set (real photos and every kind of file `load_image` must handle)."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image


def png_header(path, width: int, height: int) -> None:
    """A PNG that claims width x height pixels and holds none (over MAX_IMAGE_PIXELS for 20000 x 20000)."""
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture(scope="session")
def awkward_dir(tmp_path_factory, sample_image_paths):
    """A folder (with a sub-folder) of readable awkward images and of files that are not readable images.

    Returns (folder, readable file names, unreadable file names), names relative to the folder.
    """
    folder = tmp_path_factory.mktemp("awkward")
    (folder / "nested" / "deeper").mkdir(parents=True)
    gradient = np.linspace(0, 255, 120 * 90, dtype=np.float64).reshape(90, 120)
    rgb = np.stack([gradient, gradient[::-1], np.full_like(gradient, 80)], axis=-1).astype(np.uint8)
    Image.open(sample_image_paths[0]).save(folder / "photo.jpg")
    Image.open(sample_image_paths[1]).resize((300, 200)).save(folder / "nested" / "flower.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(rgb).save(folder / "rotated.jpg", "JPEG", exif=exif.tobytes(), quality=95)
    Image.fromarray(np.linspace(0, 65535, 90 * 120).astype(np.uint16).reshape(90, 120)).save(folder / "deep16.png")
    Image.fromarray(gradient.astype(np.uint8)).save(folder / "nested" / "gray.png")
    Image.fromarray(rgb).convert("CMYK").save(folder / "nested" / "deeper" / "cmyk.jpg", "JPEG")
    data = (folder / "photo.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (folder / "broken.jpg").write_text("this is not a jpeg\n")
    png_header(folder / "huge.png", 20000, 20000)
    readable = [
        "deep16.png",
        "nested/deeper/cmyk.jpg",
        "nested/flower.jpg",
        "nested/gray.png",
        "photo.jpg",
        "rotated.jpg",
    ]
    unreadable = ["broken.jpg", "huge.png", "truncated.jpg"]
    return folder, readable, unreadable


@pytest.fixture(scope="session")
def tiny_images(tmp_path_factory):
    """60 small random PNGs (for runs that must be killed mid-way)."""
    folder = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    for i in range(60):
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(folder / f"img_{i:03d}.png")
    return folder
