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
