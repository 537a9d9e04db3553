"""Top-1 / top-5 error, with centre-crop or ten-crop (softmax averaged) evaluation.

Example:

>>> import numpy as np
>>> from keras_alexnet.data.evaluation import top_k_error
>>> probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
>>> float(top_k_error(probs, np.array([2, 0]), k=1)), float(top_k_error(probs, np.array([2, 0]), k=2))
(0.5, 0.0)
"""

from __future__ import annotations

import dataclasses

import numpy as np


def top_k_error(probabilities, labels, k: int = 1) -> float:
    """Fraction of rows whose label is not among the `k` highest scores (ties: lower index first)."""
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels).reshape(-1)
    if probabilities.ndim != 2 or probabilities.shape[0] != labels.shape[0]:
        raise ValueError(
            "Expected scores of shape (N, classes) and N labels. "
            f"Received: scores {probabilities.shape}, labels {labels.shape}"
        )
    k = min(k, probabilities.shape[1])
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return float(1.0 - np.mean(np.any(top == labels[:, None], axis=1)))


def average_crops(probabilities, num_crops: int):
    """Average (B * num_crops, C) predictions over each image's crops -> (B, C)."""
    probabilities = np.asarray(probabilities)
    return probabilities.reshape(-1, num_crops, probabilities.shape[-1]).mean(axis=1)


@dataclasses.dataclass
class EvaluationResult:
    top1_error: float
    top5_error: float
    num_examples: int
    crops: str
    bad_records: int = 0

    @property
    def top1_accuracy(self) -> float:
        return 1.0 - self.top1_error

    @property
    def top5_accuracy(self) -> float:
        return 1.0 - self.top5_error

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"top1_accuracy": self.top1_accuracy, "top5_accuracy": self.top5_accuracy}


def predict_probabilities(model, dataset, from_logits: bool = False):
    """Run `model` over a dataset of (images, labels) from `make_eval_dataset`.

    Ten-crop batches (B, 10, S, S, 3) are flattened, predicted, and the softmax outputs averaged
    over the ten views. Returns (probabilities (N, C), labels (N,)).
    """
    outputs, labels = [], []
    for images, batch_labels in dataset:
        images = np.asarray(images)
        crops = images.shape[1] if images.ndim == 5 else 1
        flat = images.reshape((-1,) + images.shape[-3:])
        scores = np.asarray(model(flat, training=False))
        if from_logits:
            scores = _softmax(scores)
        outputs.append(average_crops(scores, crops))
        labels.append(np.asarray(batch_labels))
    if not outputs:
        raise ValueError("The evaluation dataset is empty. Received: 0 batches")
    return np.concatenate(outputs), np.concatenate(labels)


def evaluate_top_k(model, dataset, *, from_logits: bool = False, bad_records: int = 0) -> EvaluationResult:
    """Top-1 and top-5 error of `model` over an evaluation dataset (centre or ten crops)."""
    probabilities, labels = predict_probabilities(model, dataset, from_logits)
    crops = "ten" if len(dataset.element_spec[0].shape) == 5 else "center"
    return EvaluationResult(
        top1_error=top_k_error(probabilities, labels, 1),
        top5_error=top_k_error(probabilities, labels, 5),
        num_examples=int(labels.shape[0]),
        crops=crops,
        bad_records=bad_records,
    )


def _softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)
