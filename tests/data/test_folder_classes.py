"""Folder datasets whose class folders would mislead training are refused, naming the folders and the fix."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from keras_alexnet.data import load_source
from keras_alexnet.training import TrainConfig


def _png(path, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((6, 7, 3), value, np.uint8)).save(path, format="PNG")


def _classes(folder, names, per_class: int = 2) -> None:
    for c, name in enumerate(names):
        for i in range(per_class):
            _png(folder / name / f"{i}.png", 40 * c + i)


def test_empty_class_folder_is_refused_with_its_name(tmp_path):
    _classes(tmp_path, ["cat", "dog"])
    (tmp_path / "emu").mkdir()
    (tmp_path / "emu" / "notes.txt").write_text("not an image")  # no image file: still empty
    with pytest.raises(ValueError, match=r"\['emu'\].*hold no images.*Add images to them or remove them") as error:
        load_source(f"folder:{tmp_path}")
    assert str(tmp_path / "emu") in str(error.value) and "Received:" in str(error.value)


def test_empty_class_folder_in_a_split_is_refused(tmp_path):
    _classes(tmp_path / "train", ["cat", "dog"])
    _classes(tmp_path / "val", ["cat"])
    (tmp_path / "val" / "dog").mkdir()
    assert load_source(str(tmp_path), "train").class_names == ["cat", "dog"]  # train itself is fine
    with pytest.raises(ValueError, match=r"\['dog'\] in .*val hold no images"):
        load_source(str(tmp_path), "val")


def test_classes_that_differ_between_train_and_validation_are_refused_for_both_splits(tmp_path):
    _classes(tmp_path / "train", ["ant", "bee", "cat"])
    _classes(tmp_path / "validation", ["bee", "cat", "dog"])
    for split in ("train", "validation"):
        with pytest.raises(ValueError, match="differ") as error:
            load_source(str(tmp_path), split)
        message = str(error.value)
        assert "only in train: ['ant']" in message and "only in validation: ['dog']" in message
        assert "same class folders" in message and "Received:" in message


def test_a_split_without_its_folder_is_refused(tmp_path):
    # Before: the root itself was read for the validation split, with the single class "train".
    _classes(tmp_path / "train", ["cat", "dog"])
    with pytest.raises(ValueError, match=r"none for the split 'validation' \(looked for validation/, val/"):
        load_source(str(tmp_path), "validation")


def test_matching_splits_and_nested_class_folders_load(tmp_path):
    _classes(tmp_path / "train", ["cat", "dog"])
    _classes(tmp_path / "val", ["cat", "dog"], per_class=1)
    _png(tmp_path / "train" / "dog" / "more" / "nested.png", 200)  # Keras indexes nested folders: still "dog"
    (tmp_path / "train" / ".ipynb_checkpoints").mkdir()  # hidden folders are not classes (Keras' rule)
    train, val = load_source(str(tmp_path), "train"), load_source(str(tmp_path), "val")
    assert train.class_names == val.class_names == ["cat", "dog"]
    labels = sorted(int(label) for _, label in train.dataset)
    assert labels == [0, 0, 1, 1, 1]


def test_training_config_refuses_mismatched_folder_splits(tmp_path):
    _classes(tmp_path / "train", ["cat", "dog"])
    _classes(tmp_path / "val", ["cat", "dogs"])
    config = TrainConfig(dataset=f"folder:{tmp_path}", val_split="val", run_dir=str(tmp_path / "run"))
    with pytest.raises(ValueError, match=r"only in train: \['dog'\]; only in val: \['dogs'\]"):
        config.load_sources()
