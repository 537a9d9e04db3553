"""Input pipelines: sources, bad records, the paper's crops, PCA statistics, ten-crop evaluation."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from keras_alexnet.data import (
    PixelStatistics,
    average_crops,
    evaluate_top_k,
    load_eval_dataset,
    load_source,
    make_epochs_dataset,
    make_eval_dataset,
    make_train_dataset,
    top_k_error,
    transforms,
)


def _write(path, array, fmt):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)


@pytest.fixture
def image_folder(tmp_path, rng):
    root = tmp_path / "images"
    for c, name in enumerate(["cat", "dog"]):
        for i in range(3):
            _write(root / name / f"{i}.jpg", rng.integers(0, 256, (40 + i, 50, 3), dtype=np.uint8), "JPEG")
        _write(root / name / "gray.png", np.full((30, 30), 100 + c, np.uint8), "PNG")
    # Bad records: a truncated JPEG, a text file named .jpg, and an RGBA (4-channel) PNG.
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    (root / "cat" / "truncated.jpg").write_bytes(buffer.getvalue()[:200])
    (root / "dog" / "text.jpg").write_bytes(b"this is not an image")
    _write(root / "dog" / "rgba.png", rng.integers(0, 256, (20, 20, 4), dtype=np.uint8), "PNG")
    return root


def test_folder_source_skips_and_counts_bad_records(image_folder):
    source = load_source(f"folder:{image_folder}")
    assert source.class_names == ["cat", "dog"]
    examples = [(image.numpy(), int(label)) for image, label in source.dataset]
    assert len(examples) == 8  # 2 x (3 JPEG + 1 grayscale PNG)
    assert all(image.ndim == 3 and image.shape[-1] == 3 and image.dtype == np.uint8 for image, _ in examples)
    assert sorted(label for _, label in examples) == [0] * 4 + [1] * 4
    gray = [image for image, _ in examples if image.shape[:2] == (30, 30)]
    assert len(gray) == 2 and all((g[..., 0] == g[..., 1]).all() and (g[..., 1] == g[..., 2]).all() for g in gray)
    assert source.bad_records.count == 3
    assert "4 channels" in source.bad_records.report() and "rgba.png" in source.bad_records.report()
    assert sum(1 for _ in source.dataset) == 8  # a second pass (next epoch) counts the same files once
    assert source.bad_records.count == 3


def test_folder_with_split_subfolders(tmp_path, rng):
    for split, n in (("train", 3), ("validation", 2)):
        for name in ("a", "b"):
            for i in range(n):
                _write(tmp_path / split / name / f"{i}.png", rng.integers(0, 256, (9, 9, 3), dtype=np.uint8), "PNG")
    assert sum(1 for _ in load_source(str(tmp_path), "train").dataset) == 6
    assert sum(1 for _ in load_source(str(tmp_path), "validation").dataset) == 4


def test_digits_embedded_source():
    train, val = load_source("digits", "train"), load_source("digits", "validation")
    assert train.num_examples + val.num_examples == 1797
    image, label = next(iter(train.dataset))
    assert image.shape == (8, 8, 3) and image.dtype.name == "uint8" and int(image.numpy().max()) <= 255
    with pytest.raises(ValueError, match="Received: split="):
        load_source("digits", "nope")


def test_bad_arguments_raise_value_error():
    source = load_source("digits", limit=4)
    with pytest.raises(ValueError, match="Received: image_size=300"):
        make_train_dataset(source, image_size=300)
    with pytest.raises(ValueError, match="Received: crops="):
        make_eval_dataset(source, crops="five")
    with pytest.raises(ValueError, match="Received: limit=0"):
        load_source("digits", limit=0)


def test_resize_and_center_crop_matches_pil_geometry(rng):
    image = rng.integers(0, 256, (300, 500, 3), dtype=np.uint8)
    square = transforms.resize_and_center_crop(image, 256).numpy()
    assert square.shape == (256, 256, 3)
    reference = np.asarray(Image.fromarray(image).resize((427, 256), Image.Resampling.BILINEAR), np.float32)
    reference = reference[:, (427 - 256) // 2 :][:, :256]
    assert np.abs(square - reference).mean() < 6.0  # same geometry; antialias kernels differ slightly


@pytest.mark.parametrize("shape", [(300, 500), (500, 300), (40, 50), (256, 256), (257, 900), (1200, 1000)])
def test_resize_and_center_crop_equals_full_resize_then_crop(rng, shape):
    """The windowed resize gives the pixels of TF's public antialiased resize of the whole image, then cropped."""
    import tensorflow as tf

    image = rng.integers(0, 256, shape + (3,), dtype=np.uint8)
    h, w = shape
    scale = 256 / min(h, w)
    new_h, new_w = max(256, round(h * scale)), max(256, round(w * scale))
    full = tf.image.resize(image.astype(np.float32), (new_h, new_w), method="bilinear", antialias=True).numpy()
    top, left = (new_h - 256) // 2, (new_w - 256) // 2
    square = transforms.resize_and_center_crop(image, 256).numpy()
    assert square.dtype == np.float32
    np.testing.assert_allclose(square, full[top : top + 256, left : left + 256], atol=0.05)


def test_ten_crop_matches_numpy_reference(rng):
    from keras_alexnet.image_io import ten_crop as numpy_ten_crop

    image = rng.integers(0, 256, (12, 15, 3), dtype=np.uint8)
    np.testing.assert_array_equal(transforms.ten_crop(image, 7).numpy(), numpy_ten_crop(image, 7))


def test_random_crops_are_windows_of_the_square_and_flip(rng):
    image = rng.normal(size=(10, 10, 3)).astype(np.float32)
    windows = {(np.asarray(image[t : t + 4, s : s + 4]).tobytes()) for t in range(7) for s in range(7)} | {
        np.ascontiguousarray(image[t : t + 4, s : s + 4][:, ::-1]).tobytes() for t in range(7) for s in range(7)
    }
    flips = 0
    for i in range(40):
        patch = transforms.random_crop_and_flip(image, 4, seed=np.array([i, 1])).numpy()
        assert np.ascontiguousarray(patch).tobytes() in windows
        flips += patch.tobytes() not in {image[t : t + 4, s : s + 4].tobytes() for t in range(7) for s in range(7)}
    assert 5 < flips < 35


def test_pca_statistics_on_known_image_set(rng):
    # Pixels = mean + 30 * z1 * u1 + 5 * z2 * u2 (z ~ N(0,1)): the covariance (0-255 units) has eigenvalues
    # 900, 25, 0 along the orthonormal u1, u2, u3 (the image set is built so the answer is known);
    # the statistics are of RGB in [0, 1], i.e. divided by 255**2.
    u, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    z = rng.normal(size=(20, 16, 16, 2))
    pixels = 120 + 30 * z[..., :1] * u[:, 0] + 5 * z[..., 1:] * u[:, 1]
    stats = PixelStatistics.from_images([pixels[:7], pixels[7:]])
    flat = pixels.reshape(-1, 3)
    np.testing.assert_allclose(stats.channel_mean, flat.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(stats.covariance * 255**2, np.cov(flat.T, bias=True), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(stats.mean_image, pixels.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(
        stats.eigenvalues * 255**2, np.sort(np.linalg.eigvalsh(np.cov(flat.T, bias=True)))[::-1], rtol=1e-4, atol=1e-3
    )
    ev = stats.eigenvalues * 255**2
    assert abs(ev[0] - 900) < 60 and abs(ev[1] - 25) < 3 and ev[2] < 1e-3
    assert abs(abs(stats.eigenvectors[:, 0] @ u[:, 0]) - 1) < 1e-3
    assert abs(abs(stats.eigenvectors[:, 1] @ u[:, 1]) - 1) < 1e-3


def test_statistics_save_load_roundtrip(tmp_path, rng):
    stats = PixelStatistics.from_images(rng.integers(0, 256, (3, 5, 5, 3)), source="x")
    stats.save(tmp_path)
    loaded = PixelStatistics.load(tmp_path)
    np.testing.assert_allclose(loaded.eigenvectors, stats.eigenvectors)
    assert loaded.num_images == 3 and loaded.source == "x"
    assert (tmp_path / "pixel_stats.json").is_file()
    with pytest.raises(ValueError, match="keras-alexnet stats"):
        PixelStatistics.load(tmp_path / "missing")


def test_pca_lighting_adds_the_paper_formula(rng):
    import tensorflow as tf

    eigenvalues = np.array([0.2175, 0.0188, 0.0045], np.float32)  # ImageNet's
    eigenvectors = np.linalg.qr(rng.normal(size=(3, 3)))[0].astype(np.float32)
    image = rng.uniform(0, 255, (6, 5, 3)).astype(np.float32)
    seed = np.array([3, 4])
    out = transforms.pca_lighting(image, eigenvalues, eigenvectors, std=0.1, seed=seed).numpy()
    alpha = tf.random.stateless_normal((3,), seed=seed, stddev=0.1).numpy()
    expected_shift = 255 * sum(alpha[i] * eigenvalues[i] * eigenvectors[:, i] for i in range(3))
    np.testing.assert_allclose(out - image, np.broadcast_to(expected_shift, image.shape), rtol=1e-4, atol=1e-3)
    # alpha ~ N(0, 0.1): over many draws the standard deviation of the shift along p_1 is 255 * 0.1 * lambda_1.
    shifts = (
        np.stack(
            [
                transforms.pca_lighting(image[:1, :1], eigenvalues, eigenvectors, seed=np.array([i, 0])).numpy()[0, 0]
                for i in range(400)
            ]
        )
        - image[0, 0]
    )
    along = shifts @ eigenvectors[:, 0]
    assert abs(along.std() - 5.546) < 0.6 and abs(along.mean()) < 0.7


def test_train_pipeline_is_reproducible_and_normalised(rng):
    source = load_source("digits", limit=16)
    stats = PixelStatistics.from_images(
        np.stack([transforms.resize_and_center_crop(x, 256).numpy() for x, _ in source.dataset])
    )
    kwargs = dict(batch_size=8, image_size=224, normalization=stats, mean="image", seed=7, shuffle_buffer=16)
    first = [x.numpy() for x, _ in make_train_dataset(source, **kwargs)]
    second = [x.numpy() for x, _ in make_train_dataset(source, **kwargs)]
    assert len(first) == 2 and first[0].shape == (8, 224, 224, 3)
    np.testing.assert_array_equal(first[0], second[0])
    assert abs(float(np.mean(np.concatenate(first)))) < 20  # mean subtracted (0-255 scale)


@pytest.mark.parametrize("mean", ["image", "channel"])
def test_train_pipeline_output_is_a_crop_of_the_normalised_square_plus_one_colour_shift(rng, mean):
    """Each training example = crop/flip(uint8 square - mean) + one per-image RGB shift, in whatever order."""
    source = load_source("digits", limit=6)
    squares = np.stack([transforms.resize_and_center_crop(x, 32).numpy() for x, _ in source.dataset])
    stats = PixelStatistics.from_images(squares)
    kwargs = dict(batch_size=6, image_size=24, resize=32, normalization=stats, mean=mean, shuffle_buffer=0, seed=3)
    ((batch, _),) = list(make_train_dataset(source, **kwargs))
    stored = np.clip(np.round(squares), 0, 255)  # the pipeline keeps the squares as uint8, like the paper
    normalised = stored - (stats.mean_image if mean == "image" else stats.channel_mean)
    shifts = []
    for out, square in zip(batch.numpy(), normalised, strict=True):
        matches = []
        for top in range(9):
            for left in range(9):
                for flip in (False, True):
                    window = square[top : top + 24, left : left + 24]
                    residual = out - (window[:, ::-1] if flip else window)
                    if np.ptp(residual.reshape(-1, 3), axis=0).max() < 1e-3:
                        matches.append(residual[0, 0])
        assert matches, "no crop/flip of the normalised square explains this example"
        shifts.append(matches[0])
    shifts = np.array(shifts)
    assert np.abs(shifts).max() > 1e-3 and np.ptp(shifts, axis=0).max() > 1e-3  # PCA noise, drawn per image


@pytest.mark.parametrize("cache", [False, True])
def test_epochs_share_one_cache_of_the_squares(cache):
    """With cache=True the images are decoded and resized once for all epochs; without, once per epoch."""
    import tensorflow as tf

    from keras_alexnet.data.sources import ImageSource

    source = load_source("digits", limit=8)
    reads = []

    def count(image):
        reads.append(1)
        return image

    counted = source.dataset.map(lambda x, y: (tf.ensure_shape(tf.py_function(count, [x], tf.uint8), x.shape), y))
    counted_source = ImageSource(counted, source.class_names, 8, "digits", "train", source.bad_records)
    epochs = make_epochs_dataset(counted_source, end_epoch=3, batch_size=4, image_size=24, resize=32, cache=cache)
    batches = [x.numpy() for x, _ in epochs]
    assert len(batches) == 6 and batches[0].dtype == np.float32
    assert len(reads) == (8 if cache else 24)
    assert not np.array_equal(batches[0], batches[2])  # each epoch has its own order and crops


def test_ten_crop_evaluation_averages_softmax():
    import keras

    _, source = load_eval_dataset("digits", "validation", limit=6, image_size=16, resize=32)
    ds = make_eval_dataset(source, batch_size=4, image_size=16, crops="ten", resize=32)
    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")])
    result = evaluate_top_k(model, ds)
    # Independent computation: predict each view, average by hand.
    views, labels = [], []
    for x, y in ds:
        views.append(np.asarray(model(np.reshape(x, (-1, 16, 16, 3)))).reshape(-1, 10, 10).mean(axis=1))
        labels.append(np.asarray(y))
    probs, labels = np.concatenate(views), np.concatenate(labels)
    assert result.crops == "ten" and result.num_examples == 6
    assert result.top1_error == pytest.approx(np.mean(probs.argmax(1) != labels))
    assert result.top5_error == pytest.approx(top_k_error(probs, labels, 5))


def test_top_k_error_and_average_crops():
    probs = np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4]])
    assert top_k_error(probs, [2, 0], 1) == 1.0
    assert top_k_error(probs, [2, 0], 2) == 0.0
    assert top_k_error(probs, [2, 1], 2) == 0.5  # ties go to the lower class index
    np.testing.assert_allclose(average_crops(np.arange(12.0).reshape(4, 3), 2), [[1.5, 2.5, 3.5], [7.5, 8.5, 9.5]])


def test_tfds_builder_source_with_a_local_image_folder_builder(tmp_path, rng):
    """The TFDS path (SkipDecoding + our decoder, record ids, class names) on a real, local TFDS builder."""
    import tensorflow_datasets as tfds

    from keras_alexnet.data.sources import tfds_builder_source

    for split, count in (("train", 3), ("test", 2)):
        for name in ("ant", "bee"):
            for i in range(count):
                _write(tmp_path / split / name / f"{i}.jpg", rng.integers(0, 256, (20, 30, 3), dtype=np.uint8), "JPEG")
    (tmp_path / "train" / "bee" / "bad.jpg").write_bytes(b"\xff\xd8\xffbroken")
    builder = tfds.ImageFolder(str(tmp_path))
    source = tfds_builder_source(builder, "train")
    examples = [(image.numpy(), int(label)) for image, label in source.dataset]
    assert source.class_names == ["ant", "bee"] and source.num_examples == 7
    assert len(examples) == 6 and all(image.shape == (20, 30, 3) for image, _ in examples)
    assert sorted(label for _, label in examples) == [0, 0, 0, 1, 1, 1]
    assert source.bad_records.count == 1
    assert sum(1 for _ in tfds_builder_source(builder, "validation").dataset) == 4  # alias of "test"
