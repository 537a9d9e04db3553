"""KerasHub presets written by keras_alexnet.kerashub.save_preset load with KerasHub's own from_preset.

The reference is `keras_alexnet.AlexNet` + `preprocess_input` on the same random weights (KerasHub's loader,
config and weights files are independent of ours).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras_hub")

CLASSES = 10


@pytest.fixture(scope="module", params=["torchvision", "original"])
def preset(request, tmp_path_factory):
    import keras

    import keras_alexnet
    from keras_alexnet.kerashub import save_preset

    keras.utils.set_random_seed(1)
    model = keras_alexnet.AlexNet(variant=request.param, classes=CLASSES)
    directory = save_preset(model, tmp_path_factory.mktemp("preset") / "alexnet")
    return request.param, model, directory


def test_image_classifier_from_preset_matches_alexnet_on_raw_images(preset):
    import keras_hub

    import keras_alexnet

    variant, model, directory = preset
    size = 227 if variant == "original" else 224
    images = np.random.RandomState(0).randint(0, 256, (2, size, size, 3)).astype("uint8")
    classifier = keras_hub.models.ImageClassifier.from_preset(str(directory))
    assert type(classifier).__name__ == "AlexNetImageClassifier"
    expected = model.predict(keras_alexnet.preprocess_input(images, variant=variant), verbose=0)
    got = classifier.predict(images, verbose=0)
    assert np.abs(expected - got).max() <= 1e-6


def test_backbone_from_preset_holds_the_conv_weights(preset):
    import keras_hub

    _, model, directory = preset
    backbone = keras_hub.models.Backbone.from_preset(str(directory))
    assert type(backbone).__name__ == "AlexNetBackbone"
    np.testing.assert_array_equal(
        backbone.get_layer("conv5").get_weights()[0], model.get_layer("conv5").get_weights()[0]
    )


def test_save_preset_refuses_a_users_directory(tmp_path, preset):
    from keras_alexnet.kerashub import save_preset
    from keras_alexnet.outputs import ExistingOutputError

    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(ExistingOutputError):
        save_preset(preset[1], tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep"


def test_a_preset_and_a_checkpoint_never_replace_each_other(tmp_path, preset):
    """Both carry keras_alexnet.json: each recogniser tells its own kind apart (task.json), so neither is lost."""
    import shutil

    from keras_alexnet.kerashub import save_preset
    from keras_alexnet.models.config import NetworkRecord
    from keras_alexnet.outputs import ExistingOutputError
    from keras_alexnet.weights.checkpoint import save_checkpoint

    variant, model, directory = preset
    checkpoint = tmp_path / "checkpoint"  # what `convert` / `save_checkpoint` leave: keras_alexnet.json, weights
    checkpoint.mkdir()
    (checkpoint / "keras_alexnet.json").write_text('{"variant": "original", "classes": 1000}')
    (checkpoint / "model.weights.h5").write_bytes(b"the user's weights")
    with pytest.raises(ExistingOutputError):
        save_preset(model, checkpoint)
    assert (checkpoint / "model.weights.h5").read_bytes() == b"the user's weights"

    copy = tmp_path / "preset"
    shutil.copytree(directory, copy)
    before = sorted(path.name for path in copy.iterdir())
    with pytest.raises(ExistingOutputError):
        save_checkpoint(model, copy, NetworkRecord(variant=variant, classes=CLASSES))
    assert sorted(path.name for path in copy.iterdir()) == before


def test_import_keras_alexnet_registers_the_classes_for_from_preset(preset):
    """After `import keras_alexnet` (before or after keras_hub), KerasHub's own `from_preset` finds our classes.

    One import order per variant of the fixture (registration does not depend on the variant).
    """
    import subprocess
    import sys

    variant, _, directory = preset
    imports = "import keras_alexnet, keras_hub" if variant == "torchvision" else "import keras_hub, keras_alexnet"
    code = (
        f"{imports}\n"
        f"model = keras_hub.models.ImageClassifier.from_preset({str(directory)!r})\n"
        "print(type(model).__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "AlexNetImageClassifier"
