"""Fixtures for the explore tests: the quickstart's checkpoint (trained on the digits), its model, an fc7 index of
its held-out digit samples, the explorer. The quickstart runs once per test session (tests/conftest.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pages import make_index  # noqa: E402


@pytest.fixture(scope="session")
def explore_checkpoint(quickstart_run):
    return quickstart_run / "checkpoint"


@pytest.fixture(scope="session")
def explore_model(explore_checkpoint):
    from keras_alexnet.analysis.model_io import load_model

    return load_model(os.fspath(explore_checkpoint))


@pytest.fixture(scope="session")
def explore_images(quickstart_run):
    """The quickstart's held-out digits (0 .. 7), which its checkpoint classifies confidently."""
    return sorted((quickstart_run / "samples").glob("*.png"))


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
