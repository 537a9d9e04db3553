"""Checkpoint formats: a format-1 directory (before checkpoints were KerasHub presets) is read as format 1 and
left unchanged; a format-1 cache entry is migrated once to format 2 with the same weights; format 2's files.

The format-1 writer is the old layout written out in tests/fixtures/format1.py (Keras' own unzipped model).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import keras_alexnet
from keras_alexnet.weights.network import NetworkRecord

sys.path.insert(0, str(Path(__file__).parents[1]))

from fixtures.format1 import write_format1_checkpoint  # noqa: E402

CLASSES = 10
NAME = "torchvision_imagenet1k"


def _state(directory: Path) -> dict:
    return {
        p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in directory.iterdir()
        if p.is_file()
    }


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(3)
    return keras_alexnet.AlexNet(variant="torchvision", classes=CLASSES)


def test_a_format1_directory_is_read_as_format1_and_left_unchanged(model, tmp_path, assert_same_weights):
    network = NetworkRecord(variant="torchvision", classes=CLASSES)
    directory = write_format1_checkpoint(model, tmp_path / "old", network)
    before = _state(directory)
    assert_same_weights(keras_alexnet.AlexNet(weights=str(directory)), [np.asarray(w) for w in model.get_weights()])
    notop = keras_alexnet.AlexNet(weights=str(directory), include_top=False)
    np.testing.assert_array_equal(notop.get_layer("conv3").get_weights()[0], model.get_layer("conv3").get_weights()[0])
    assert _state(directory) == before


def test_a_format1_cache_entry_is_migrated_once_keeping_weights_and_card(model, capfd, assert_same_weights):
    from keras_alexnet.pretrained import fetch_registered
    from keras_alexnet.weights.cache import checkpoint_cache_dir
    from keras_alexnet.weights.checkpoint import check_checkpoint
    from keras_alexnet.weights.registry import get_weights_record, register_weights

    real = get_weights_record(NAME)
    network = NetworkRecord(variant="torchvision", classes=CLASSES)
    record = dataclasses.replace(real, network=network, originals=())
    register_weights(record, overwrite=True)
    try:
        entry = write_format1_checkpoint(model, checkpoint_cache_dir(NAME), network, model_card="# the card\n")
        resolved = fetch_registered(record, progress=False)
        err = capfd.readouterr().err
        assert f"migrating the cached checkpoint {entry} from format 1 to 2" in err
        assert json.loads((entry / "keras_alexnet.json").read_text())["format_version"] == 2
        assert (entry / "task.json").is_file() and not (entry / "notop.weights.h5").exists()
        assert (entry / "README.md").read_text() == "# the card\n"
        assert check_checkpoint(entry).status == "ok"
        assert resolved.task_path == entry / "task.weights.h5"
        assert_same_weights(keras_alexnet.AlexNet(weights=NAME), [np.asarray(w) for w in model.get_weights()])
        fetch_registered(record, progress=False)
        assert "migrating" not in capfd.readouterr().err  # once
    finally:
        register_weights(real, overwrite=True)


def test_format2_without_its_task_file_loads_the_backbone_and_names_the_file(model, tmp_path):
    from keras_alexnet.weights.checkpoint import save_checkpoint, write_checksums

    directory = save_checkpoint(model, tmp_path / "ckpt", NetworkRecord(variant="torchvision", classes=CLASSES))
    (directory / "task.weights.h5").unlink()
    (directory / "checksums.json").unlink()
    (directory / "sizes.json").unlink()
    write_checksums(directory)
    with pytest.raises(ValueError, match=r"no task.weights.h5 \(the classifier's fc6, fc7 and predictions\)"):
        keras_alexnet.AlexNet(weights=str(directory))
    notop = keras_alexnet.AlexNet(weights=str(directory), include_top=False)
    np.testing.assert_array_equal(notop.get_layer("conv1").get_weights()[0], model.get_layer("conv1").get_weights()[0])


def test_a_newer_format_is_refused_with_the_fix(model, tmp_path):
    from keras_alexnet.weights.checkpoint import save_checkpoint, write_checksums

    directory = save_checkpoint(model, tmp_path / "ckpt", NetworkRecord(variant="torchvision", classes=CLASSES))
    record = json.loads((directory / "keras_alexnet.json").read_text())
    (directory / "keras_alexnet.json").write_text(json.dumps({**record, "format_version": 3}))
    write_checksums(directory)
    with pytest.raises(ValueError, match=r"newer keras_alexnet \(format 3\); upgrade keras_alexnet"):
        keras_alexnet.AlexNet(weights=str(directory))
