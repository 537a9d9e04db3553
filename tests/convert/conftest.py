"""Fixtures of the converter tests: real photographs, prepared for each variant."""

from __future__ import annotations

import numpy as np
import pytest


def _images(paths, size: int) -> np.ndarray:
    from keras_alexnet.image_io import load_image

    return np.stack([load_image(p, size=size) for p in paths])


@pytest.fixture(scope="session")
def caffe_batch(sample_image_paths) -> np.ndarray:
    """The two real JPEGs, 227x227, Caffe-preprocessed (BGR minus the ImageNet mean), NHWC float32."""
    from keras_alexnet import preprocess_input

    return preprocess_input(_images(sample_image_paths, 227), variant="original")


@pytest.fixture(scope="session")
def torch_batch(sample_image_paths) -> np.ndarray:
    """The two real JPEGs, 224x224, torchvision-preprocessed (RGB, mean/std), NHWC float32."""
    from keras_alexnet import preprocess_input

    return preprocess_input(_images(sample_image_paths, 224), variant="torchvision")


def max_abs_err(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b)))


def small_bvlc_weights(seed: int) -> dict[str, np.ndarray]:
    """Random BVLC weights with the real conv shapes but small dense layers (fc6 keeps its 9216 inputs).

    For tests that check where each array ends up, not the network's output: fast to write and parse.
    """
    from fixtures.reference_models import BVLC_CONVS

    rng = np.random.default_rng(seed)
    shapes = {name: (out, cin, k, k) for name, out, cin, k, *_ in BVLC_CONVS}
    shapes.update(fc6=(8, 9216), fc7=(8, 8), fc8=(5, 8))
    weights = {}
    for name, shape in shapes.items():
        weights[f"{name}_w"] = rng.standard_normal(shape, dtype=np.float32)
        weights[f"{name}_b"] = rng.standard_normal(shape[:1], dtype=np.float32)
    return weights
