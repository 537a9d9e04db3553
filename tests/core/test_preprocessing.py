"""preprocess_input / decode_predictions against the formulas written out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from keras_alexnet import decode_predictions, preprocess_input
from keras_alexnet.imagenet import imagenet_classes


@pytest.fixture
def image(rng):
    return rng.integers(0, 256, size=(2, 5, 4, 3), dtype=np.uint8)


def test_caffe_mode_is_bgr_minus_mean(image):
    out = preprocess_input(image, variant="original")
    expected = image[..., ::-1].astype(np.float64) - np.array([104.00698793, 116.66876762, 122.67891434])
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-4)
    assert out.dtype == np.float32


def test_torch_mode_is_rgb_scaled_normalised(image):
    out = preprocess_input(image, variant="torchvision")
    expected = (image / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_weights_name_picks_the_checkpoint_preprocessing(image):
    np.testing.assert_array_equal(
        preprocess_input(image, weights="torchvision_imagenet1k"), preprocess_input(image, mode="torch")
    )
    np.testing.assert_array_equal(preprocess_input(image, weights="imagenet"), preprocess_input(image, mode="caffe"))


@pytest.mark.parametrize("mode", ["caffe", "torch"])
def test_input_is_never_mutated(image, mode):
    as_float = image.astype(np.float32)
    before = as_float.copy()
    preprocess_input(as_float, mode=mode)
    np.testing.assert_array_equal(as_float, before)


@pytest.mark.parametrize("mode", ["caffe", "torch"])
def test_tensor_and_numpy_agree(image, mode):
    from_tensor = preprocess_input(tf.constant(image), mode=mode)
    assert isinstance(from_tensor, tf.Tensor)
    np.testing.assert_allclose(from_tensor.numpy(), preprocess_input(image, mode=mode), rtol=1e-6)


@pytest.mark.parametrize("mode", ["caffe", "torch"])
def test_channels_first(image, mode):
    first = preprocess_input(np.transpose(image, (0, 3, 1, 2)), mode=mode, data_format="channels_first")
    np.testing.assert_allclose(np.transpose(first, (0, 2, 3, 1)), preprocess_input(image, mode=mode), rtol=1e-6)


def test_single_image_and_lists():
    pixel = [[[10, 20, 30]]]
    assert preprocess_input(pixel, mode="caffe").shape == (1, 1, 3)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(mode="tf"), "Received: mode='tf'"),
        (dict(variant="vgg"), "Received: variant='vgg'"),
        (dict(data_format="nhwc"), "Received: data_format='nhwc'"),
    ],
)
def test_bad_arguments(image, kwargs, match):
    with pytest.raises(ValueError, match=match):
        preprocess_input(image, **kwargs)


def test_wrong_channel_count():
    with pytest.raises(ValueError, match=r"Received: input of shape \(1, 4, 4, 1\)"):
        preprocess_input(np.zeros((1, 4, 4, 1)))


def test_class_list_is_the_standard_sorted_wnid_order():
    classes = imagenet_classes()
    wnids = [wnid for wnid, _ in classes]
    assert len(set(wnids)) == 1000 and wnids == sorted(wnids)
    assert classes[0] == ("n01440764", "tench, Tinca tinca")
    assert classes[999][0] == "n15075141"  # toilet tissue
    assert classes[207][1].startswith("golden retriever")


def test_decode_predictions_orders_by_score(rng):
    preds = rng.random((3, 1000)).astype(np.float32)
    decoded = decode_predictions(preds, top=4)
    assert len(decoded) == 3 and all(len(row) == 4 for row in decoded)
    for row, p in zip(decoded, preds, strict=True):
        best = np.argsort(-p)[:4]
        assert [r[0] for r in row] == [imagenet_classes()[i][0] for i in best]
        assert [r[2] for r in row] == pytest.approx(p[best].tolist())


@pytest.mark.parametrize("shape", [(1000,), (2, 10), (1, 1000, 1)])
def test_decode_predictions_rejects_wrong_shapes(shape):
    with pytest.raises(ValueError, match="Received: array of shape"):
        decode_predictions(np.zeros(shape))


def test_evaluation_preprocessing_names_the_mean_preprocess_input_subtracts():
    """The fact in keras_alexnet.eval_preprocessing and the arithmetic here are the same convention."""
    from keras_alexnet.eval_preprocessing import eval_preprocessing
    from keras_alexnet.preprocessing import CAFFE_BGR_MEAN

    zero = preprocess_input(np.zeros((1, 1, 3), np.uint8), weights="bvlc_imagenet1k")[0, 0]
    np.testing.assert_allclose(zero, -np.array(CAFFE_BGR_MEAN, np.float32))
    spec = eval_preprocessing("bvlc_imagenet1k")
    assert spec.convention == "caffe" and all(f"{value:.3f}" in spec.mean for value in CAFFE_BGR_MEAN)
    assert eval_preprocessing("torchvision_imagenet1k").convention == "torch"


def test_the_old_positional_order_with_three_or_more_arguments_still_works_with_a_deprecation_warning():
    """The order before 0.2: (x, variant, data_format, mode, weights): such calls keep their meaning, for a release."""
    import warnings

    x = np.random.default_rng(0).integers(0, 256, (1, 3, 4, 4)).astype("uint8")
    expected = preprocess_input(x, "channels_first", variant="torchvision")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old_order = preprocess_input(x, "torchvision", "channels_first")
        old_with_mode = preprocess_input(x, "original", "channels_first", "torch")  # mode overrides the variant
    np.testing.assert_array_equal(old_order, expected)
    np.testing.assert_array_equal(old_with_mode, expected)
    assert [w.category for w in caught] == [DeprecationWarning] * 2
    assert all("variant=" in str(w.message) for w in caught)
    with pytest.raises(TypeError, match="as keywords"):
        preprocess_input(x, "channels_first", "torch")  # new order: the selectors are keyword-only
