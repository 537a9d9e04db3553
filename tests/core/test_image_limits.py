"""Bounded memory whatever a file claims: pixel limit from the header, long strips, decompression bombs."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from keras_alexnet import image_io
from keras_alexnet.image_io import ImageReadError, center_crop, load_image, open_rgb, resize_shorter_side


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_header_only(path, width: int, height: int) -> None:
    """A ~60-byte grey PNG that claims `width` x `height` pixels (no pixel data at all)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IEND", b""))


def _png_zeros(path, width: int, height: int, bit_depth: int = 1) -> None:
    """A complete, valid grey PNG of zeros, compressed row by row (the file is small, the image is not)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    compressor, row = zlib.compressobj(9), b"\x00" * ((width * bit_depth + 7) // 8 + 1)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))


def _bmp_header_only(path, width: int, height: int) -> None:
    """A 54-byte 24-bit BMP that claims `width` x `height` pixels."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    path.write_bytes(b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + info)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any image is decoded: the limit must be enforced from the header alone."""

    def load(self):
        raise AssertionError(f"decoded a {self.size} image that should have been refused from its header")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


@pytest.mark.parametrize("write", [_png_header_only, _bmp_header_only])
def test_over_the_limit_is_refused_from_the_header(tmp_path, write, no_decoding):
    # 20000 x 20000 = 400 M pixels: under Pillow's own (raised) guard, over MAX_IMAGE_PIXELS.
    path = tmp_path / "huge.img"
    write(path, 20000, 20000)
    assert path.stat().st_size < 100
    with pytest.raises(ImageReadError) as caught:
        load_image(path)
    message = str(caught.value)
    assert str(path) in message and "20000 x 20000" in message and f"{image_io.MAX_IMAGE_PIXELS:,}" in message
    assert "MAX_IMAGE_PIXELS" in message and "downscale" in message and message.endswith("Received: 20000x20000 pixels")


def test_decompression_bomb_error_is_an_image_read_error(tmp_path):
    # 60000 x 60000 = 3.6 G pixels: Pillow itself raises DecompressionBombError, which is no OSError.
    assert not issubclass(Image.DecompressionBombError, OSError)
    path = tmp_path / "bomb.png"
    _png_header_only(path, 60000, 60000)
    with pytest.raises(ImageReadError, match="bomb.png: too many pixels") as caught:
        load_image(path)
    assert "3600000000 pixels" in str(caught.value) and "MAX_IMAGE_PIXELS" in str(caught.value)
    assert isinstance(caught.value.__cause__, Image.DecompressionBombError)


def test_a_real_small_file_of_a_huge_image_is_refused(tmp_path):
    # A valid 1-bit PNG of 12000 x 12000 zeros: 144 M pixels (> 2**27) in a file of ~20 kB.
    path = tmp_path / "zeros.png"
    _png_zeros(path, 12000, 12000)
    assert path.stat().st_size < 100_000
    with pytest.raises(ImageReadError, match=r"zeros.png: the image is 12000 x 12000 = 144,000,000 pixels"):
        load_image(path)


def test_the_limit_is_on_pixels_and_can_be_changed(tmp_path, monkeypatch):
    monkeypatch.setattr(image_io, "MAX_IMAGE_PIXELS", 100 * 100)
    at_limit, over = tmp_path / "at.png", tmp_path / "over.png"
    Image.new("L", (100, 100), 50).save(at_limit)
    Image.new("L", (101, 100), 50).save(over)
    assert load_image(at_limit, size=64, resize=100).shape == (64, 64, 3)
    with pytest.raises(ImageReadError, match=r"101 x 100 = 10,100 pixels, more than the 10,000"):
        load_image(over, size=64, resize=100)


def test_a_jpeg_counts_the_pixels_it_decodes_after_draft(tmp_path, monkeypatch):
    # 2000 x 1600 = 3.2 M pixels in the header; decoded at 1/4 scale (500 x 400) for a 256 resize.
    path = tmp_path / "big.jpg"
    Image.new("RGB", (2000, 1600), (200, 100, 50)).save(path, quality=90)
    monkeypatch.setattr(image_io, "MAX_IMAGE_PIXELS", 1_000_000)
    out = load_image(path, size=227, resize=256)
    assert out.shape == (227, 227, 3) and abs(int(out[100, 100, 0]) - 200) <= 3
    with pytest.raises(ImageReadError, match="2000 x 1600"):
        open_rgb(path)  # no min_side: no draft, the full 3.2 M pixels would be decoded


@pytest.fixture
def resize_sizes(monkeypatch):
    """The sizes every Pillow resize produces; refuses (before allocating) any above 16 x 256 x 256 pixels."""
    sizes = []
    original = Image.Image.resize

    def resize(self, size, *args, **kwargs):
        sizes.append(tuple(size))
        assert size[0] * size[1] <= 16 * 256 * 256, f"resize to {size} from {self.size}"
        return original(self, size, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", resize)
    return sizes


@pytest.mark.parametrize("shape", [(100000, 1), (1, 100000), (3, 40000)])
def test_a_long_strip_is_resampled_only_where_the_crop_is(tmp_path, shape, resize_sizes):
    # A 1 x 100000 strip with its shorter side resized to 256 would be 256 x 25,600,000 pixels (26 GB).
    height, width = shape
    line = np.linspace(0, 255, max(shape)).astype(np.uint8)  # 0 -> 255 along the long side
    ramp = np.repeat(line[None, :], height, 0) if width > height else np.repeat(line[:, None], width, 1)
    path = tmp_path / "strip.png"
    Image.fromarray(ramp).save(path)
    assert path.stat().st_size < 200_000
    out = load_image(path, size=227, resize=256)
    assert out.shape == (227, 227, 3)
    assert max(w * h for w, h in resize_sizes) <= 227 * 227
    # The crop is the middle 227/25600 of the ramp: about 127.5 everywhere.
    assert np.abs(out.astype(int) - 127).max() <= 2


@pytest.mark.parametrize(("width", "height"), [(1600, 256), (300, 2100), (9000, 1700)])
def test_centre_resampling_equals_the_full_resize(tmp_path, width, height):
    # Longer than MAX_FULL_RESIZE_RATIO: only the centre is resampled; the full resize then crop is the reference.
    assert max(width, height) > image_io.MAX_FULL_RESIZE_RATIO * min(width, height)
    yy, xx = np.mgrid[0:height, 0:width]
    grey = ((np.sin(xx / 37.0) + np.cos(yy / 23.0)) * 60 + 128).astype(np.uint8)
    image = Image.fromarray(np.stack([grey, grey[::-1], 255 - grey], axis=-1))
    path = tmp_path / "long.png"
    image.save(path)
    expected = center_crop(np.asarray(resize_shorter_side(image, 256)), 227).astype(int)
    assert np.abs(load_image(path, size=227, resize=256).astype(int) - expected).max() <= 2


def test_ordinary_images_are_resized_in_full_exactly_as_before(tmp_path):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (300, 1000, 3), dtype=np.uint8))  # 10:3, under the ratio
    path = tmp_path / "wide.png"
    image.save(path)
    expected = center_crop(np.asarray(resize_shorter_side(image, 256)), 227)
    np.testing.assert_array_equal(load_image(path, size=227, resize=256), expected)
