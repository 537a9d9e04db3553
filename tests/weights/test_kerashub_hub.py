"""KerasHub and the Hub: `from_preset("hf://...")` reads what `keras-alexnet push` uploads, and
`AlexNet(weights="hf://...")` reads what `keras_hub.upload_preset` uploads (both against the local Hub server).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("keras_hub")

import keras_alexnet  # noqa: E402

CLASSES = 10


def _images() -> np.ndarray:
    return np.random.RandomState(0).randint(0, 256, (2, 224, 224, 3)).astype("uint8")


def test_from_preset_hf_reads_what_push_uploaded(pushed, checkpoint, repo_id):
    import keras_hub

    classifier = keras_hub.models.ImageClassifier.from_preset(f"hf://{repo_id}")
    ours = keras_alexnet.AlexNet(weights=f"hf://{repo_id}")
    expected = ours.predict(keras_alexnet.preprocess_input(_images(), variant="torchvision"), verbose=0)
    assert np.abs(classifier.predict(_images(), verbose=0) - expected).max() <= 1e-6
    backbone = keras_hub.models.Backbone.from_preset(f"hf://{repo_id}")
    np.testing.assert_array_equal(backbone.get_weights()[0], checkpoint[1][0])


def test_alexnet_reads_what_upload_preset_uploaded(live_hub, checkpoint, repo_id, tmp_path, assert_same_weights):
    """keras_hub.upload_preset of a checkpoint directory: a repo AlexNet(weights="hf://") verifies and loads.

    upload_preset writes its own README.md into the directory and deletes it afterwards when the repo has no
    card, so it is given a copy here (docs/kerashub.md says so): the user's model card is never lost.
    """
    import keras_hub

    copy = shutil.copytree(checkpoint[0], tmp_path / "upload")
    keras_hub.upload_preset(f"hf://{repo_id}", str(copy))
    files = live_hub.files(repo_id)
    assert {"config.json", "task.json", "model.weights.h5", "task.weights.h5", "keras_alexnet.json"} <= set(files)
    assert b"keras-hub" in files["README.md"]  # KerasHub's generated card, not ours
    assert not (copy / "README.md").exists()  # what upload_preset did to the folder it was given
    assert (checkpoint[0] / "README.md").is_file()
    model = keras_alexnet.AlexNet(weights=f"hf://{repo_id}")
    assert_same_weights(model, checkpoint[1])
