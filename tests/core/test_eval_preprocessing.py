"""Each checkpoint is evaluated as its source evaluated it: BVLC warp 256 + crop 227, torchvision shorter side + 224.

The pixels fed to the model by `predict`, `evaluate` and `embed` are compared with an independent NumPy
reference of the resize (an antialiased triangle filter, written here), not with our own earlier output.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from keras_alexnet.eval_preprocessing import EVAL_PREPROCESSING, eval_preprocessing
from keras_alexnet.preprocessing import preprocess_input
from keras_alexnet.weights.network import NETWORK_FILENAME, NetworkRecord

SHAPE = (200, 300)  # height, width: a non-square image, so warp and shorter side differ


def _triangle_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of an antialiased bilinear (triangle) resize, Pillow's and TF's filter."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale
    weights = np.clip(1 - np.abs(np.arange(n_in)[None, :] + 0.5 - centres[:, None]) / support, 0, None)
    return weights / weights.sum(axis=1, keepdims=True)


def _resize_reference(array: np.ndarray, height: int, width: int) -> np.ndarray:
    rows, cols = _triangle_weights(array.shape[0], height), _triangle_weights(array.shape[1], width)
    return np.einsum("owc,pw->opc", np.einsum("oh,hwc->owc", rows, array.astype(np.float64)), cols)


def _crop(array: np.ndarray, size: int) -> np.ndarray:
    top, left = (array.shape[0] - size) // 2, (array.shape[1] - size) // 2
    return array[top : top + size, left : left + size]


def warp_reference(array: np.ndarray, side: int, size: int) -> np.ndarray:
    return _crop(_resize_reference(array, side, side), size)


def shorter_side_reference(array: np.ndarray, side: int, size: int) -> np.ndarray:
    h, w = array.shape[:2]
    scale = side / min(h, w)
    return _crop(_resize_reference(array, max(side, round(h * scale)), max(side, round(w * scale))), size)


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """A smooth non-square RGB image (PNG: PIL and TF decode it identically) and its pixels."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    base = np.stack([255 * x / SHAPE[1], 255 * y / SHAPE[0], 127 + 100 * np.sin(x / 9.0 + y / 13.0)], axis=-1)
    array = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.fromarray(array).save(path)
    return path, array


# --- the facts -----------------------------------------------------------------------------------------------


def test_registered_checkpoints_name_their_evaluation_preprocessing():
    bvlc, torch = eval_preprocessing("bvlc_imagenet1k"), eval_preprocessing("torchvision_imagenet1k")
    assert (bvlc.resize_mode, bvlc.resize, bvlc.crop) == ("warp", 256, 227)
    assert (torch.resize_mode, torch.resize, torch.crop) == ("shorter_side", 256, 224)
    assert "104.007" in bvlc.mean and "mean image" in bvlc.differences  # the one difference, said
    assert eval_preprocessing("imagenet") == bvlc  # the alias


def test_weights_json_lists_the_evaluation_preprocessing(capsys):
    from keras_alexnet.cli.main import main

    assert main(["weights", "--json"]) == 0
    records = {record["name"]: record for record in json.loads(capsys.readouterr().out)}
    bvlc = records["bvlc_imagenet1k"]["evaluation_preprocessing"]
    torch = records["torchvision_imagenet1k"]["evaluation_preprocessing"]
    assert (bvlc["resize_mode"], bvlc["resize"], bvlc["crop"]) == ("warp", 256, 227)
    assert (torch["resize_mode"], torch["resize"], torch["crop"]) == ("shorter_side", 256, 224)
    assert bvlc["description"].startswith("warp to 256x256, centre 227x227 crop")


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"variant": "original", "classes": 1000}, ("warp", 227)),  # no preprocessing key: the variant's
        ({"variant": "torchvision", "classes": 1000}, ("shorter_side", 224)),
        ({"format_version": 1, "variant": "original", "classes": 10, "preprocessing": "torch"}, ("shorter_side", 227)),
    ],
)
def test_old_checkpoint_json_without_the_field(tmp_path, record, expected):
    """keras_alexnet.json files written before this field existed: derived from `preprocessing`."""
    (tmp_path / NETWORK_FILENAME).write_text(json.dumps(record))
    spec = eval_preprocessing(tmp_path)
    assert (spec.resize_mode, spec.crop) == expected
    assert eval_preprocessing(NetworkRecord.read(tmp_path)) == spec


def test_overrides_and_bad_values():
    spec = eval_preprocessing("bvlc_imagenet1k", resize_mode="shorter_side", resize=300)
    assert (spec.resize_mode, spec.resize, spec.crop, spec.convention) == ("shorter_side", 300, 227, "caffe")
    with pytest.raises(ValueError, match=r"resize_mode.*Received: resize_mode='squash'"):
        eval_preprocessing("bvlc_imagenet1k", resize_mode="squash")
    with pytest.raises(ValueError, match=r"must not exceed the resize.*Received: resize=200, crop=227"):
        eval_preprocessing("bvlc_imagenet1k", resize=200)
    with pytest.raises(ValueError, match="Received: weights=3"):
        eval_preprocessing(3)
    assert set(EVAL_PREPROCESSING) == {"caffe", "torch", "paper"}


# --- load_image and the TF pipeline ----------------------------------------------------------------------------


def test_load_image_warp_and_shorter_side_match_the_numpy_reference(photo):
    from keras_alexnet.image_io import load_image

    path, array = photo
    warp = load_image(path, size=227, resize=256, resize_mode="warp").astype(np.float64)
    shorter = load_image(path, size=227, resize=256, resize_mode="shorter_side").astype(np.float64)
    assert np.abs(warp - warp_reference(array, 256, 227)).max() <= 1.5
    assert np.abs(shorter - shorter_side_reference(array, 256, 227)).max() <= 1.5
    assert np.abs(warp - shorter).mean() > 20  # really different geometry on a non-square image
    # The warp keeps the whole width: the red ramp spans nearly 0-255 across the crop, not just the centre.
    assert warp[:, 0, 0].mean() < 25 and warp[:, -1, 0].mean() > 230
    assert shorter[:, 0, 0].mean() > 40


def test_load_image_defaults_follow_the_checkpoint_only_when_given(photo):
    from keras_alexnet.image_io import load_image

    path, array = photo
    plain = load_image(path)  # no checkpoint: what it always was, shorter side 256 + crop 227
    np.testing.assert_array_equal(plain, load_image(path, size=227, resize=256, resize_mode="shorter_side"))
    bvlc = load_image(path, weights="bvlc_imagenet1k")
    np.testing.assert_array_equal(bvlc, load_image(path, size=227, resize=256, resize_mode="warp"))
    torch = load_image(path, weights="torchvision_imagenet1k")
    assert torch.shape == (224, 224, 3)
    np.testing.assert_array_equal(torch, load_image(path, size=224, resize=256, resize_mode="shorter_side"))
    overridden = load_image(path, weights="bvlc_imagenet1k", resize_mode="shorter_side")
    np.testing.assert_array_equal(overridden, plain)
    with pytest.raises(ValueError, match="Received: resize_mode='squash'"):
        load_image(path, resize_mode="squash")


def test_tf_warp_matches_the_pil_path(photo):
    """The evaluation pipeline's warp (TF) and `load_image`'s (Pillow): same image, within a few levels."""
    import tensorflow as tf

    from keras_alexnet.data import transforms
    from keras_alexnet.image_io import load_image

    path, array = photo
    square = transforms.resize_and_center_crop(array, 256, resize_mode="warp").numpy()
    assert square.shape == (256, 256, 3)
    full = tf.image.resize(array.astype(np.float32), (256, 256), method="bilinear", antialias=True).numpy()
    np.testing.assert_allclose(square, full, atol=0.05)
    np.testing.assert_allclose(square, _resize_reference(array, 256, 256), atol=0.05)
    pil = load_image(path, size=227, resize=256, resize_mode="warp").astype(np.float32)
    assert np.abs(_crop(square, 227) - pil).max() <= 1.5
    with pytest.raises(ValueError, match="Received: resize_mode='squash'"):
        transforms.resize_and_center_crop(array, 256, resize_mode="squash")


def test_embed_batches_follow_the_checkpoint(photo):
    from keras_alexnet.analysis.features import load_batch

    path, array = photo
    batch, kept = load_batch([path], NetworkRecord(variant="original"))
    assert kept == [0] and batch.shape == (1, 227, 227, 3)
    expected = preprocess_input(warp_reference(array, 256, 227)[None], mode="caffe")
    assert np.abs(batch - expected).max() <= 1.5
    batch, _ = load_batch([path], NetworkRecord(variant="torchvision"))
    expected = preprocess_input(shorter_side_reference(array, 256, 224)[None], mode="torch")
    assert batch.shape == (1, 224, 224, 3) and np.abs(batch - expected).max() <= 1.5 / 255 / 0.224


# --- the CLI: the pixels fed to the model -------------------------------------------------------------------------


def _capture_predict(monkeypatch) -> list[np.ndarray]:
    import keras

    fed: list[np.ndarray] = []

    def fake_predict(self, x, *args, **kwargs):
        fed.append(np.asarray(x))
        return np.full((len(x), 1000), 1e-3, np.float32)

    monkeypatch.setattr(keras.Model, "predict", fake_predict)
    # predict streams through the batch runner's forward pass (the compiled function on TensorFlow).
    import keras_alexnet.batch.stream as stream

    monkeypatch.setattr(stream, "fast_forward", lambda model: lambda x: fake_predict(model, x))
    return fed


@pytest.mark.parametrize(
    ("arguments", "mode", "size", "reference"),
    [
        (["--variant", "original"], "caffe", 227, warp_reference),
        (["--variant", "torchvision"], "torch", 224, shorter_side_reference),
        (["--variant", "original", "--resize-mode", "shorter_side"], "caffe", 227, shorter_side_reference),
    ],
    ids=["bvlc-default-warp", "torchvision-default-shorter-side", "user-override"],
)
def test_predict_feeds_the_checkpoints_preprocessing(photo, monkeypatch, capsys, arguments, mode, size, reference):
    from keras_alexnet.cli.main import main

    path, array = photo
    fed = _capture_predict(monkeypatch)
    assert main(["predict", str(path), "--weights", "none", "--json", *arguments]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["preprocessing"]["crop"] == size
    (x,) = fed
    assert x.shape == (1, size, size, 3)
    expected = preprocess_input(reference(array, 256, size)[None], mode=mode)
    tolerance = 1.5 if mode == "caffe" else 1.5 / 255 / 0.224
    assert np.abs(x - expected).max() <= tolerance


@pytest.mark.parametrize(
    ("arguments", "mode", "size", "reference"),
    [
        (["--variant", "original"], "caffe", 227, warp_reference),
        (["--variant", "torchvision"], "torch", 224, shorter_side_reference),
        (["--variant", "original", "--resize-mode", "shorter_side"], "caffe", 227, shorter_side_reference),
    ],
    ids=["bvlc-default-warp", "torchvision-default-shorter-side", "user-override"],
)
def test_evaluate_feeds_the_checkpoints_preprocessing(
    photo, tmp_path, monkeypatch, capsys, arguments, mode, size, reference
):
    """`evaluate` on a one-image folder (a WordNet-id class): the TF pipeline's pixels, as the checkpoint's."""
    import keras_alexnet.data

    path, array = photo
    folder = tmp_path / "data" / "n01440764"
    folder.mkdir(parents=True)
    Image.fromarray(array).save(folder / "photo.png")
    fed: list[np.ndarray] = []

    def fake_predict_probabilities(model, dataset):
        labels = []
        for x, y in dataset:
            fed.append(x.numpy())
            labels.append(y.numpy())
        labels = np.concatenate(labels)
        return np.full((len(labels), 1000), 1e-3, np.float32), labels

    monkeypatch.setattr(keras_alexnet.data, "predict_probabilities", fake_predict_probabilities)
    from keras_alexnet.cli.main import main

    summary = tmp_path / "summary.json"
    status = main(
        [
            "evaluate",
            "--dataset",
            f"folder:{tmp_path / 'data'}",
            "--csv",
            str(tmp_path / "classes.csv"),
            "--plot",
            str(tmp_path / "plot.png"),
            "--json",
            str(summary),
            *arguments,
        ]
    )
    assert status == 0
    assert "preprocessing: " in capsys.readouterr().out
    assert json.loads(summary.read_text())["preprocessing"]["crop"] == size
    (x,) = fed
    assert x.shape == (1, size, size, 3)
    expected = preprocess_input(reference(array, 256, size)[None], mode=mode)
    tolerance = 1.5 if mode == "caffe" else 1.5 / 255 / 0.224
    assert np.abs(x - expected).max() <= tolerance


def test_model_card_names_the_evaluation_preprocessing():
    from keras_alexnet.weights.model_card import build_model_card
    from keras_alexnet.weights.registry import get_weights_record

    bvlc = get_weights_record("bvlc_imagenet1k")
    card = build_model_card(bvlc.network, bvlc)
    assert "evaluation preprocessing: warp to 256x256, centre 227x227 crop" in card
    assert "load_image('photo.jpg', size=227, resize=256, resize_mode='warp')" in card
    card = build_model_card(NetworkRecord(variant="torchvision"))
    assert "evaluation preprocessing: shorter side to 256, centre 224x224 crop" in card
