"""Checkpoint directories (format 2) are KerasHub presets: KerasHub's own from_preset loads them.

The reference is `keras_alexnet.AlexNet` + `preprocess_input` on the same random weights; KerasHub's loader,
its config deserialisation and Keras' weights loading are independent of our reader. The JSON we write without
keras_hub is compared with what KerasHub's own `save_to_preset` writes for the same classifier.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("keras_hub")

CLASSES = 10
#: Keys KerasHub's base classes write whose defaults we leave to them (our files omit them).
BASE_CLASS_DEFAULTS = {"dtype", "scale", "offset", "antialias", "pad_to_aspect_ratio", "bounding_box_format"}


@pytest.fixture(scope="module", params=["torchvision", "original"])
def checkpoint(request, tmp_path_factory):
    """What `convert`, `push` and `release` write (`save_checkpoint`), of a random 10-class AlexNet."""
    import keras

    import keras_alexnet
    from keras_alexnet.weights.checkpoint import save_checkpoint

    keras.utils.set_random_seed(1)
    model = keras_alexnet.AlexNet(variant=request.param, classes=CLASSES)
    directory = save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "alexnet", keras_alexnet.network_record(model))
    return request.param, model, directory


def _images(variant: str) -> np.ndarray:
    size = 227 if variant == "original" else 224
    return np.random.RandomState(0).randint(0, 256, (2, size, size, 3)).astype("uint8")


def test_image_classifier_from_preset_matches_alexnet_on_raw_images(checkpoint):
    import keras_hub

    import keras_alexnet

    variant, model, directory = checkpoint
    images = _images(variant)
    classifier = keras_hub.models.ImageClassifier.from_preset(str(directory))
    assert type(classifier).__name__ == "AlexNetImageClassifier"
    ours = keras_alexnet.AlexNet(weights=str(directory), classes=CLASSES)
    expected = ours.predict(keras_alexnet.preprocess_input(images, variant=variant), verbose=0)
    assert (
        np.abs(expected - model.predict(keras_alexnet.preprocess_input(images, variant=variant), verbose=0)).max() == 0
    )
    got = classifier.predict(images, verbose=0)
    assert np.abs(expected - got).max() <= 1e-6


def test_backbone_from_preset_and_keras_load_model_give_the_conv_stack(checkpoint):
    import keras
    import keras_hub

    variant, model, directory = checkpoint
    backbone = keras_hub.models.Backbone.from_preset(str(directory))
    assert type(backbone).__name__ == "AlexNetBackbone"
    np.testing.assert_array_equal(
        backbone.get_layer("conv5").get_weights()[0], model.get_layer("conv5").get_weights()[0]
    )
    loaded = keras.saving.load_model(str(directory))
    assert isinstance(loaded, keras_hub.models.Backbone)
    np.testing.assert_array_equal(loaded.get_layer("conv1").get_weights()[0], model.get_layer("conv1").get_weights()[0])


def _compare(ours, theirs, path=""):
    """Every key we write has KerasHub's value; the keys we leave out are base-class defaults."""
    if isinstance(ours, dict):
        assert isinstance(theirs, dict), path
        assert set(ours) <= set(theirs), (path, set(ours) - set(theirs))
        assert set(theirs) - set(ours) <= BASE_CLASS_DEFAULTS, (path, set(theirs) - set(ours))
        for key in ours:
            _compare(ours[key], theirs[key], f"{path}/{key}")
    else:
        assert ours == theirs, (path, ours, theirs)


def test_our_preset_json_is_what_kerashub_itself_writes(checkpoint, tmp_path):
    import keras_hub

    _, _, directory = checkpoint
    classifier = keras_hub.models.ImageClassifier.from_preset(str(directory))
    classifier.save_to_preset(str(tmp_path / "saved"))
    for name in ("config.json", "task.json", "preprocessor.json", "image_converter.json"):
        _compare(json.loads((directory / name).read_text()), json.loads((tmp_path / "saved" / name).read_text()))
    ours, theirs = (json.loads((d / "metadata.json").read_text()) for d in (directory, tmp_path / "saved"))
    assert {k: v for k, v in ours.items() if k != "date_saved"} == {
        k: v for k, v in theirs.items() if k != "date_saved"
    }


def test_weights_kerashub_writes_load_through_our_reader(checkpoint, tmp_path):
    """KerasHub's own model.weights.h5 / task.weights.h5 (Keras' writer on its classes) read by AlexNet(weights=)."""
    import keras
    import keras_hub

    import keras_alexnet
    from keras_alexnet.weights.checkpoint import write_checksums

    variant, model, directory = checkpoint
    classifier = keras_hub.models.ImageClassifier.from_preset(str(directory))
    keras.utils.set_random_seed(7)  # other weights than the checkpoint's, so a stale read cannot pass
    for layer in classifier.layers + classifier.backbone.layers:
        for weight in layer.weights:
            weight.assign(np.random.RandomState(len(weight.path)).normal(size=weight.shape).astype("float32") * 0.01)
    classifier.save_to_preset(str(tmp_path / "saved"))
    shutil.copy(directory / "keras_alexnet.json", tmp_path / "saved")
    write_checksums(tmp_path / "saved")
    ours = keras_alexnet.AlexNet(weights=str(tmp_path / "saved"), classes=CLASSES)
    images = _images(variant)
    expected = classifier.predict(images, verbose=0)
    got = ours.predict(keras_alexnet.preprocess_input(images, variant=variant), verbose=0)
    assert np.abs(expected - got).max() <= 1e-6


def test_save_preset_is_a_checkpoint_and_refuses_a_users_directory(tmp_path, checkpoint):
    from keras_alexnet.kerashub import save_preset
    from keras_alexnet.outputs import ExistingOutputError
    from keras_alexnet.weights.checkpoint import check_checkpoint

    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(ExistingOutputError):
        save_preset(checkpoint[1], tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep"
    written = save_preset(checkpoint[1], tmp_path / "preset")
    assert check_checkpoint(written).status == "ok"


def test_a_preset_kerashub_wrote_is_never_replaced_by_a_checkpoint(tmp_path, checkpoint):
    """KerasHub's own save_to_preset leaves no keras_alexnet.json: not ours, so save_checkpoint refuses it."""
    import keras_hub

    import keras_alexnet
    from keras_alexnet.outputs import ExistingOutputError
    from keras_alexnet.weights.checkpoint import save_checkpoint

    _, model, directory = checkpoint
    keras_hub.models.ImageClassifier.from_preset(str(directory)).save_to_preset(str(tmp_path / "theirs"))
    before = sorted(p.name for p in (tmp_path / "theirs").iterdir())
    with pytest.raises(ExistingOutputError):
        save_checkpoint(model, tmp_path / "theirs", keras_alexnet.network_record(model))
    assert sorted(p.name for p in (tmp_path / "theirs").iterdir()) == before
