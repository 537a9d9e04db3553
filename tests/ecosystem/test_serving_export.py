"""The serving SavedModel (bytes in, top-k out) against load_image + preprocess_input + predict, awkward files."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import keras_alexnet
from keras_alexnet.export import export_serving
from keras_alexnet.image_io import load_image
from keras_alexnet.imagenet import imagenet_classes
from keras_alexnet.preprocessing import preprocess_for

VARIANTS = ("original", "torchvision")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """variant -> (model, loaded SavedModel); one full classifier export per variant."""
    out = {}
    for variant in VARIANTS:
        keras_alexnet_model = keras_alexnet.AlexNet(variant=variant)
        path = export_serving(keras_alexnet_model, tmp_path_factory.mktemp("serving") / variant, top_k=5)
        out[variant] = keras_alexnet_model, tf.saved_model.load(str(path))
    return out


def reference_inputs(model, folder, names):
    network = keras_alexnet.network_record(model)
    return np.stack([preprocess_for(load_image(folder / n, weights=network)[None], network)[0] for n in names])


@pytest.mark.parametrize("variant", VARIANTS)
def test_preprocessing_inside_matches_load_image_and_preprocess_input(served, awkward_dir, variant):
    folder, readable, _ = awkward_dir
    model, loaded = served[variant]
    files = [(folder / n).read_bytes() for n in readable]
    inside = loaded.signatures["preprocess"](images=tf.constant(files))["inputs"].numpy()
    expected = reference_inputs(model, folder, readable)
    assert inside.shape == expected.shape
    # In 0-255 pixel levels: TensorFlow's decoder and resampling kernel against Pillow's round differently by at
    # most one level (measured: mean 0.003-0.15, max 1.0); an unapplied EXIF rotation or a wrong resize, crop,
    # colour order or mean would be tens of levels off.
    to_levels = 1.0 if variant == "original" else 255.0 * 0.229  # torch: (x / 255 - mean) / std
    levels = np.abs(inside - expected).reshape(len(readable), -1) * to_levels
    for name, diff in zip(readable, levels, strict=True):
        assert diff.mean() < 0.3 and diff.max() <= 1.05, (name, diff.mean(), diff.max())


@pytest.mark.parametrize("variant", VARIANTS)
def test_top_k_matches_predict(served, awkward_dir, variant):
    folder, readable, _ = awkward_dir
    model, loaded = served[variant]
    files = tf.constant([(folder / n).read_bytes() for n in readable])
    out = loaded.signatures["serving_default"](images=files)
    ids, labels, scores = (out[key].numpy() for key in ("ids", "labels", "scores"))
    assert ids.shape == labels.shape == scores.shape == (len(readable), 5)
    classes = imagenet_classes()
    # Exactly the model's top-5 on the bytes' own preprocessed batch ...
    inside = loaded.signatures["preprocess"](images=files)["inputs"].numpy()
    probabilities = np.asarray(model.predict(inside, verbose=0))
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :5]
    np.testing.assert_allclose(scores, np.take_along_axis(probabilities, order, 1), rtol=1e-5, atol=1e-7)
    assert [[i.decode() for i in row] for row in ids] == [[classes[j][0] for j in row] for row in order]
    assert [[t.decode() for t in row] for row in labels] == [[classes[j][1] for j in row] for row in order]
    # ... and the scores of load_image + preprocess_input + predict, within what the pixel differences allow.
    reference = np.asarray(model.predict(reference_inputs(model, folder, readable), verbose=0))
    np.testing.assert_allclose(scores, np.take_along_axis(reference, order, 1), rtol=0.05, atol=2e-5)


def test_unreadable_files_fail_the_request(served, awkward_dir):
    folder, _, unreadable = awkward_dir
    _, loaded = served["original"]
    for name in unreadable:
        with pytest.raises(tf.errors.InvalidArgumentError):
            loaded.signatures["serving_default"](images=tf.constant([(folder / name).read_bytes()]))


def test_refuses_a_feature_extractor_and_a_bad_top_k(tmp_path):
    features = keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3))
    with pytest.raises(ValueError, match="needs the classifier"):
        export_serving(features, tmp_path / "s")
    with pytest.raises(ValueError, match="Received: top_k=0"):
        export_serving(features, tmp_path / "s", top_k=0)
    assert not (tmp_path / "s").exists()


def test_cli_format_serving(tmp_path, capsys, awkward_dir):
    from keras_alexnet.cli.main import main

    out = tmp_path / "serving"
    assert main(["export", str(out), "--format", "serving", "--weights", "none", "--variant", "torchvision",
                 "--top-k", "3"]) == 0  # fmt: skip
    assert "serving_default takes encoded JPEG/PNG bytes" in capsys.readouterr().out
    folder, readable, _ = awkward_dir
    served = tf.saved_model.load(str(out)).signatures["serving_default"]
    assert served(images=tf.constant([(folder / readable[0]).read_bytes()]))["ids"].shape == (1, 3)
    assert main(["export", str(tmp_path / "s2"), "--format", "serving", "--weights", "none", "--no-top"]) == 1
    assert "--format serving exports the classifier" in capsys.readouterr().err
