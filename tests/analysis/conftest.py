"""Fixtures for the analysis tests: a small folder of real photographs (views of the sample images)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def views_dir(tmp_path_factory):
    """Six JPEG views (3 of china.jpg, 3 of flower.jpg) of the scikit-learn sample photos."""
    from keras_alexnet.analysis.demo_data import write_sample_views

    directory = tmp_path_factory.mktemp("views")
    write_sample_views(directory, views=3)
    return directory


@pytest.fixture(scope="session")
def torchvision_checkpoint(tmp_path_factory):
    """A checkpoint directory of a randomly initialised torchvision-variant AlexNet (RGB, 224 pixels)."""
    import keras_alexnet
    from keras_alexnet.weights.checkpoint import save_checkpoint
    from keras_alexnet.weights.network import NetworkRecord

    model = keras_alexnet.AlexNet(variant="torchvision")
    return save_checkpoint(model, tmp_path_factory.mktemp("tv") / "ckpt", NetworkRecord(variant="torchvision"))
