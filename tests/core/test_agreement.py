"""keras_alexnet.agreement against SciPy's KL divergence and cosine distance (an independent reference)."""

from __future__ import annotations

import numpy as np
import pytest

from keras_alexnet.agreement import agreement, are_probabilities

scipy_stats = pytest.importorskip("scipy.stats")
from scipy.spatial.distance import cosine as cosine_distance  # noqa: E402
from scipy.special import softmax  # noqa: E402


def test_softmax_outputs_three_ways():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (50, 10))
    noisy = logits + rng.normal(0, 0.5, logits.shape)
    p, q = softmax(logits, axis=1), softmax(noisy, axis=1)
    measured = agreement(p, q)
    assert measured["top1"] == pytest.approx(np.mean(logits.argmax(1) == noisy.argmax(1)))
    assert measured["mean_kl"] == pytest.approx(
        np.mean([scipy_stats.entropy(a, b) for a, b in zip(p, q, strict=True)]), rel=1e-9
    )
    centred = [(a - a.mean(), b - b.mean()) for a, b in zip(logits, noisy, strict=True)]  # softmax forgets a constant
    assert measured["cosine"] == pytest.approx(np.mean([1 - cosine_distance(a, b) for a, b in centred]), rel=1e-9)
    assert measured["mean_kl"] > 0 and measured["cosine"] < 1 and measured["top1"] < 1  # the noise shows


def test_feature_vectors_have_cosine_and_no_kl():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(8, 3, 4)), rng.normal(size=(8, 3, 4))
    measured = agreement(a, b)
    assert measured["mean_kl"] is None and not are_probabilities(a)
    expected = np.mean([1 - cosine_distance(x.ravel(), y.ravel()) for x, y in zip(a, b, strict=True)])
    assert measured["cosine"] == pytest.approx(expected, rel=1e-9)


def test_mismatched_or_empty_batches_are_refused():
    with pytest.raises(ValueError, match=r"Received: \(2, 3\) and \(3, 3\)"):
        agreement(np.ones((2, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="non-empty"):
        agreement(np.ones((0, 3)), np.ones((0, 3)))
