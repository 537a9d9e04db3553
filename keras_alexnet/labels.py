"""The names of a checkpoint's classes, and its top-K predictions by name.

A `NetworkRecord` names its outputs: `class_names` when the weights were
trained or fine-tuned here (folder names, TFDS label names, the digits), else
ImageNet's 1000 classes for the "imagenet1k" checkpoints; any other record
gets "class 0", "class 1", .... `predict`, `evaluate`, `explore` and the
model cards all read names through `class_labels`.

Example:

>>> import numpy as np
>>> from keras_alexnet.labels import top_k_labels
>>> from keras_alexnet.weights import NetworkRecord
>>> digits = NetworkRecord(classes=3, class_names=("zero", "one", "two"), categories="digits:train")
>>> [(label.name, label.score) for label in top_k_labels(np.array([[0.2, 0.7, 0.1]]), digits, top=2)[0]]
[('one', 0.7), ('zero', 0.2)]
"""

from __future__ import annotations

import dataclasses

import numpy as np

IMAGENET = "imagenet1k"


@dataclasses.dataclass(frozen=True)
class ClassLabel:
    """One output of a classifier: its index, an identifier (ImageNet's WordNet id, else the name) and its name."""

    index: int
    id: str
    name: str


@dataclasses.dataclass(frozen=True)
class Label(ClassLabel):
    """A predicted class with its probability."""

    score: float

    def to_dict(self, imagenet: bool = False) -> dict:
        """JSON form: index, id, label, score (and `wnid`, the id, for ImageNet classes)."""
        data = {"index": self.index, "id": self.id, "label": self.name, "score": self.score}
        return {"wnid": self.id, **data} if imagenet else data


def is_imagenet(network) -> bool:
    """Whether the outputs of `network` are ImageNet-1k's 1000 classes in the standard order."""
    return network.class_names is None and network.categories == IMAGENET and network.classes == 1000


def class_labels(network) -> list[ClassLabel]:
    """The `ClassLabel` of each output of `network` (a `NetworkRecord`), in output order."""
    if is_imagenet(network):
        from keras_alexnet.imagenet import imagenet_classes

        return [ClassLabel(i, wnid, name) for i, (wnid, name) in enumerate(imagenet_classes())]
    if network.class_names is not None:
        return [ClassLabel(i, name, name) for i, name in enumerate(network.class_names)]
    return [ClassLabel(i, str(i), f"class {i}") for i in range(network.classes)]


def top_k_labels(probabilities, network, top: int = 5) -> list[list[Label]]:
    """For each row of `probabilities` (samples, classes), its `top` labels, most probable first."""
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[1] != network.classes:
        raise ValueError(
            f"Expected predictions of shape (samples, {network.classes}) for a {network.classes}-class model. "
            f"Received: array of shape {probabilities.shape}"
        )
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise ValueError(f"`top` must be a positive integer. Received: top={top!r}")
    labels = class_labels(network)
    results = []
    for row in probabilities:
        order = np.argsort(-row, kind="stable")[:top]
        results.append([Label(int(i), labels[i].id, labels[i].name, float(row[i])) for i in order])
    return results
