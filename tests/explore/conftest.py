"""Fixtures for the explore tests: one confident 10-class checkpoint, its model, an fc7 index, the explorer."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pages import make_checkpoint, make_index, write_images  # noqa: E402


@pytest.fixture(scope="session")
def explore_checkpoint(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("explore") / "checkpoint")


@pytest.fixture(scope="session")
def explore_model(explore_checkpoint):
    from keras_alexnet.analysis.model_io import load_model

    return load_model(os.fspath(explore_checkpoint))


@pytest.fixture(scope="session")
def explore_images(tmp_path_factory):
    return write_images(tmp_path_factory.mktemp("explore_images"), count=7)


@pytest.fixture(scope="session")
def explore_index(explore_model, explore_images, explore_checkpoint, tmp_path_factory):
    from keras_alexnet.explore.neighbours import NeighbourIndex

    model, network = explore_model
    path = make_index(
        model, network, explore_images, tmp_path_factory.mktemp("index") / "index.npz", os.fspath(explore_checkpoint)
    )
    return NeighbourIndex(path)


@pytest.fixture(scope="session")
def explorer(explore_model, explore_index, explore_checkpoint):
    from keras_alexnet.explore.explorer import Explorer
    from keras_alexnet.samples import sample_image_paths

    model, network = explore_model
    return Explorer(
        model, network, weights=os.fspath(explore_checkpoint), index=explore_index, samples=sample_image_paths()
    )
