"""How closely a lower-precision model's outputs follow the float32 model's: top-1, KL divergence, cosine.

Top-1 agreement alone is too easy where the network's margins are wide, so `agreement` reports three
measures on the same images:

- `top1`: the fraction of images whose top-1 class is the same;
- `mean_kl`: the mean KL(reference || other) of the class distributions, in nats (softmax outputs only);
- `cosine`: the mean cosine similarity of the logits. For softmax outputs the logits are recovered as the
  centred log-probabilities (logits up to the per-image constant softmax removes); other outputs (feature
  vectors) are compared as they are.

Example:

>>> import numpy as np
>>> from keras_alexnet.agreement import agreement
>>> p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
>>> agreement(p, p)["top1"], round(agreement(p, p)["mean_kl"], 6), round(agreement(p, p)["cosine"], 6)
(1.0, 0.0, 1.0)
"""

from __future__ import annotations

import numpy as np

#: Probabilities below this are clipped before logarithms (float32 softmax underflows to 0).
_TINY = 1e-30


def are_probabilities(outputs: np.ndarray, tolerance: float = 1e-3) -> bool:
    """Whether every row of `outputs` is a probability distribution (non-negative, sums to 1)."""
    rows = np.asarray(outputs, "float64").reshape(len(outputs), -1)
    return bool(np.all(rows >= 0) and np.allclose(rows.sum(axis=1), 1.0, atol=tolerance))


def agreement(reference, other) -> dict[str, float]:
    """`top1`, `mean_kl` (softmax outputs; else None) and `cosine` of `other` against `reference` (N, ...)."""
    reference, other = np.asarray(reference, "float64"), np.asarray(other, "float64")
    if reference.shape != other.shape or reference.size == 0:
        raise ValueError(
            f"agreement compares two non-empty output batches of one shape. Received: {reference.shape} and "
            f"{other.shape}"
        )
    reference, other = reference.reshape(len(reference), -1), other.reshape(len(other), -1)
    result = {"top1": float(np.mean(reference.argmax(1) == other.argmax(1))), "mean_kl": None}
    if are_probabilities(reference) and are_probabilities(other):
        log_p, log_q = np.log(np.maximum(reference, _TINY)), np.log(np.maximum(other, _TINY))
        result["mean_kl"] = float(np.mean(np.sum(reference * (log_p - log_q), axis=1)))
        reference = log_p - log_p.mean(axis=1, keepdims=True)
        other = log_q - log_q.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(reference, axis=1) * np.linalg.norm(other, axis=1)
    result["cosine"] = float(np.mean(np.sum(reference * other, axis=1) / np.maximum(norms, _TINY)))
    return result
