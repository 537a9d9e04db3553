"""Image loading on awkward real-world files: grayscale, CMYK, wrong extension, EXIF rotation, huge, broken."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from keras_alexnet.image_io import ImageReadError, center_crop, load_image, load_image_square, open_rgb, ten_crop


def _gradient_image(width=64, height=48) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], axis=-1))


def test_real_photographs(sample_image_paths):
    for path in sample_image_paths:
        image = load_image(path, size=227)
        assert image.shape == (227, 227, 3) and image.dtype == np.uint8
        assert image.std() > 10  # a real picture, not a blank


def test_resize_then_centre_crop(tmp_path):
    path = tmp_path / "wide.png"
    _gradient_image(512, 256).save(path)
    out = load_image(path, size=224, resize=256)
    assert out.shape == (224, 224, 3)
    # Shorter side 256 -> 512x256 stays; centre crop columns 144..367: red channel increases left to right.
    assert out[0, 0, 0] < out[0, -1, 0]
    assert abs(int(out[0, 112, 0]) - 127) <= 3


def test_grayscale_becomes_rgb(tmp_path):
    path = tmp_path / "gray.jpg"
    _gradient_image().convert("L").save(path)
    out = load_image(path, size=32, resize=40)
    assert out.shape == (32, 32, 3)
    np.testing.assert_array_equal(out[..., 0], out[..., 1])


def test_cmyk_jpeg(tmp_path):
    path = tmp_path / "cmyk.jpg"
    _gradient_image().convert("CMYK").save(path, "JPEG")
    assert Image.open(path).mode == "CMYK"
    out = load_image(path, size=32, resize=40)
    assert out.shape == (32, 32, 3)


def test_png_with_jpg_name_and_alpha(tmp_path):
    path = tmp_path / "actually_png.jpg"
    rgba = _gradient_image().convert("RGBA")
    rgba.putalpha(128)
    rgba.save(path, "PNG")
    out = load_image(path, size=32, resize=40)
    assert out.shape == (32, 32, 3)


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    image = _gradient_image(80, 40)  # landscape pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image.save(path, "JPEG", exif=exif.tobytes(), quality=95)
    upright = open_rgb(path)
    assert upright.size == (40, 80)  # displayed as portrait


def test_very_large_image(tmp_path):
    path = tmp_path / "large.jpg"
    Image.new("RGB", (12000, 9000), (200, 100, 50)).save(path, "JPEG", quality=80)
    out = load_image(path, size=227)
    assert out.shape == (227, 227, 3)
    assert abs(int(out[100, 100, 0]) - 200) <= 3


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 20])
def test_unreadable_files_raise_naming_the_file(tmp_path, content):
    path = tmp_path / "broken.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match="broken.jpg"):
        load_image(path)


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        load_image("/no/such/image.jpg")


def test_paper_test_view_and_ten_crop():
    image = np.arange(256 * 256 * 3, dtype=np.int64).reshape(256, 256, 3)
    crops = ten_crop(image, 224)
    assert crops.shape == (10, 224, 224, 3)
    np.testing.assert_array_equal(crops[0], image[:224, :224])
    np.testing.assert_array_equal(crops[3], image[32:, 32:])
    np.testing.assert_array_equal(crops[4], center_crop(image, 224))
    np.testing.assert_array_equal(crops[5:], crops[:5, :, ::-1])


def test_square_view(tmp_path):
    path = tmp_path / "tall.png"
    _gradient_image(100, 300).save(path)
    assert load_image_square(path).shape == (256, 256, 3)


def test_crop_larger_than_image_raises():
    with pytest.raises(ValueError, match="Received: size=300"):
        ten_crop(np.zeros((256, 256, 3)), 300)
    with pytest.raises(ValueError, match="Received: size=300"):
        load_image("unused.jpg", size=300, resize=256)


# --- Samples wider than 8 bits: scaled to 0-255 by their depth, never clipped (a 16-bit PNG was all white). ---


def _png16(path, samples: np.ndarray) -> None:
    """Write a 16-bit PNG (grey, grey+alpha, RGB or RGBA by the last axis) with zlib: Pillow cannot write 16-bit RGB."""
    import struct
    import zlib

    channels = 1 if samples.ndim == 2 else samples.shape[-1]
    height, width = samples.shape[:2]
    rows = samples.astype(">u2").reshape(height, width * channels)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    header = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)


_RAMP16 = np.linspace(0, 65535, 256).round().astype(np.uint16)[None, :].repeat(8, 0)  # 8 x 256, 0 -> 65535


def _assert_levels(image, expected: np.ndarray) -> None:
    """`image` (RGB) equals `expected` ((H, W) grey or (H, W, 3)) within one level."""
    actual = np.asarray(image).astype(int)
    expected = np.rint(expected).astype(int)
    if expected.ndim == 2:
        expected = np.repeat(expected[..., None], 3, axis=-1)
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= 1, np.abs(actual - expected).max()


@pytest.mark.parametrize("mode", ["I;16", "I;16B"])
def test_16_bit_grey_scaled_by_its_depth(tmp_path, mode):
    path = tmp_path / "grey16.tif"
    Image.frombytes(mode, (256, 8), _RAMP16.astype("<u2" if mode == "I;16" else ">u2").tobytes()).save(path)
    assert Image.open(path).mode == mode
    _assert_levels(open_rgb(path), _RAMP16 / 257)


def test_16_bit_grey_png(tmp_path):
    path = tmp_path / "grey16.png"
    Image.fromarray(_RAMP16).save(path)
    assert Image.open(path).mode in ("I;16", "I")  # Pillow < 10.3 opens 16-bit grey PNGs as I
    _assert_levels(open_rgb(path), _RAMP16 / 257)
    # Through the whole pipeline: shorter side 8 -> 8 (no resampling), centre crop 8 x 8 of columns 124..131.
    _assert_levels(load_image(path, size=8, resize=8), _RAMP16[:, 124:132] / 257)


def test_16_bit_pgm_opens_as_mode_i(tmp_path):
    path = tmp_path / "grey16.pgm"
    path.write_bytes(b"P5\n256 8\n65535\n" + _RAMP16.astype(">u2").tobytes())
    assert Image.open(path).mode == "I"
    _assert_levels(open_rgb(path), _RAMP16 / 257)


def test_32_bit_integer_tiff_scaled_by_its_depth(tmp_path):
    ramp = np.linspace(-(2**20), 2**31 - 1, 256).astype(np.int32)[None, :].repeat(8, 0)
    path = tmp_path / "grey32.tif"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode == "I"
    _assert_levels(open_rgb(path), np.clip(ramp.astype(np.float64), 0, None) * 255 / (2**31 - 1))


def test_float_tiff_is_taken_as_0_to_1_and_clipped(tmp_path):
    ramp = np.linspace(0, 1, 256, dtype=np.float32)[None, :].repeat(8, 0)
    ramp[:, :4] = [-0.5, 1.5, np.nan, np.inf]  # out of range: clipped to 0, 255, and NaN becomes 0
    path = tmp_path / "float.tif"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode == "F"
    expected = np.clip(np.nan_to_num(ramp, nan=0.0, posinf=1.0), 0, 1) * 255
    _assert_levels(open_rgb(path), expected)


@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_rgb_and_rgba_png(tmp_path, channels):
    # Pillow reads 16-bit colour PNGs at 8 bits itself (the high byte); this guards that they are not clipped.
    planes = [_RAMP16, 65535 - _RAMP16, np.full_like(_RAMP16, 40000), np.full_like(_RAMP16, 65535)][:channels]
    path = tmp_path / "colour16.png"
    _png16(path, np.stack(planes, axis=-1))
    _assert_levels(open_rgb(path), np.stack(planes[:3], axis=-1) / 257)


def test_16_bit_grey_alpha_png_composited_on_white(tmp_path):
    alpha = np.zeros_like(_RAMP16)
    alpha[:, 128:] = 65535  # the left half transparent (white), the right half opaque
    path = tmp_path / "grey_alpha16.png"
    _png16(path, np.stack([_RAMP16, alpha], axis=-1))
    expected = np.where(alpha > 0, _RAMP16 / 257, 255.0)
    _assert_levels(open_rgb(path), expected)


def test_warp_keeps_the_image_limits(tmp_path, monkeypatch):
    """`resize_mode="warp"` goes through the same header check: too many pixels is refused before decoding."""
    import keras_alexnet.image_io as image_io

    path = tmp_path / "big.png"
    _gradient_image(64, 48).save(path)
    monkeypatch.setattr(image_io, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageReadError, match="more than the 1,000"):
        load_image(path, resize_mode="warp")


def test_warp_of_a_long_strip_is_bounded(tmp_path):
    """A 3 x 6000 strip warps straight to 256 x 256 (never 256 x 512,000), its whole length across the crop."""
    path = tmp_path / "strip.png"
    _gradient_image(6000, 3).save(path)
    out = load_image(path, size=227, resize=256, resize_mode="warp")
    assert out.shape == (227, 227, 3)
    assert out[0, 0, 0] < 20 and out[0, -1, 0] > 235  # red ramp 0..255 along the full width
    assert out[0, 113, 1] < 100 < 160 < out[-1, 113, 1]  # its 3 rows (green 0, 127, 255) stretched to 256
