"""Evaluation reports beyond top-k error: label mapping, per-class accuracy, most-confused pairs.

Top-1 / top-5 error and the centre / ten-crop pipelines come from
`keras_alexnet.data`; this module maps a dataset's labels onto the model's
outputs (folders or TFDS classes named by WordNet id go to the 1000 ImageNet
indices of `keras_alexnet.imagenet.imagenet_classes()`) and summarises the
predictions per class.

Example:

>>> import numpy as np
>>> from keras_alexnet.analysis.evaluation import most_confused
>>> most_confused(np.array([1, 1, 0, 2]), np.array([0, 0, 0, 2]), top=1)
[(0, 1, 2)]
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import numpy as np

from keras_alexnet.outputs import write_text_atomic

WNID = re.compile(r"^n\d{8}$")


def label_mapping(
    class_names: list[str],
    model_classes: int,
    categories: str = "imagenet1k",
    model_class_names: list[str] | tuple[str, ...] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Map dataset label i to a model output index; also return the model's class names.

    - a model that names its classes (`NetworkRecord.class_names`, written by `train`/`finetune`) and a
      dataset whose classes are all among them: by name (any subset, any order);
    - classes named by WordNet ids (e.g. `n01440764`), with a 1000-class ImageNet model: their
      ImageNet indices (any subset of the 1000 classes, in any order);
    - otherwise, as many dataset classes as model outputs: the identity (a model trained on them).
    """
    from keras_alexnet.imagenet import imagenet_classes

    if model_class_names is not None and len(model_class_names) == model_classes:
        index = {name: i for i, name in enumerate(model_class_names)}
        if class_names and all(name in index for name in class_names):
            return np.array([index[name] for name in class_names], dtype=np.int64), list(model_class_names)
    imagenet = imagenet_classes()
    if model_classes == len(imagenet) and categories == "imagenet1k":
        model_names = [f"{wnid} {name.split(',')[0]}" for wnid, name in imagenet]
        if class_names and all(WNID.match(name) for name in class_names):
            index = {wnid: i for i, (wnid, _) in enumerate(imagenet)}
            unknown = [name for name in class_names if name not in index]
            if unknown:
                raise ValueError(
                    f"{len(unknown)} class folders are WordNet ids that are not ImageNet-1k classes, e.g. "
                    f"{unknown[:3]}; keep only the 1000 ILSVRC-2012 synsets. Received: {unknown[:10]}"
                )
            return np.array([index[name] for name in class_names], dtype=np.int64), model_names
    else:
        model_names = list(class_names) if len(class_names) == model_classes else []
    if len(class_names) == model_classes:
        return np.arange(model_classes, dtype=np.int64), model_names or list(class_names)
    raise ValueError(
        f"The dataset has {len(class_names)} classes ({', '.join(class_names[:5])}, ...) and the model "
        f"{model_classes} outputs; name the class sub-folders by ImageNet WordNet ids (n01440764, ...) for an "
        f"ImageNet model, or evaluate a model trained on these classes. Received: {len(class_names)} classes"
    )


def per_class_accuracy(probabilities: np.ndarray, labels: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """For each label value present in `labels`: (labels, top-k accuracy), sorted by label."""
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels).reshape(-1)
    k = min(k, probabilities.shape[1])
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    hit = np.any(top == labels[:, None], axis=1)
    classes = np.unique(labels)
    return classes, np.array([hit[labels == c].mean() for c in classes])


def most_confused(predictions: np.ndarray, labels: np.ndarray, top: int = 10) -> list[tuple[int, int, int]]:
    """The `top` most frequent (true, predicted, count) errors, most frequent first (ties: by indices)."""
    predictions = np.asarray(predictions).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    wrong = predictions != labels
    pairs, counts = np.unique(np.stack([labels[wrong], predictions[wrong]], axis=1), axis=0, return_counts=True)
    order = np.lexsort((pairs[:, 1], pairs[:, 0], -counts))[:top]
    return [(int(pairs[i, 0]), int(pairs[i, 1]), int(counts[i])) for i in order]


def write_per_class_csv(
    path: str | os.PathLike,
    class_names: list[str],
    mapping: np.ndarray,
    model_names: list[str],
    results: dict[str, tuple[np.ndarray, np.ndarray]],
    dataset_labels: np.ndarray,
) -> Path:
    """One row per dataset class: name, model index, images, and each result's top-1/top-5 accuracy.

    `results` maps a crop name ("center", "ten") to (probabilities, mapped labels).
    """
    counts = np.bincount(dataset_labels, minlength=len(class_names))
    columns = {}
    for crops, (probabilities, labels) in results.items():
        for k in (1, 5):
            classes, accuracy = per_class_accuracy(probabilities, labels, k)
            columns[f"{crops}_top{k}_accuracy"] = dict(zip(classes.tolist(), accuracy.tolist(), strict=True))
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["dataset_label", "class", "model_index", "model_class", "images", *columns])
    for label, name in enumerate(class_names):
        if not counts[label]:
            continue
        index = int(mapping[label])
        model_name = model_names[index] if index < len(model_names) else str(index)
        values = [f"{column[index]:.6f}" if index in column else "" for column in columns.values()]
        writer.writerow([label, name, index, model_name, int(counts[label]), *values])
    return write_text_atomic(path, text.getvalue())


def confusion_submatrix(predictions: np.ndarray, labels: np.ndarray, classes: list[int]) -> np.ndarray:
    """Counts[i, j] of images of class `classes[i]` predicted as `classes[j]`."""
    position = {c: i for i, c in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for true, predicted in zip(np.asarray(labels).ravel(), np.asarray(predictions).ravel(), strict=True):
        if int(true) in position and int(predicted) in position:
            matrix[position[int(true)], position[int(predicted)]] += 1
    return matrix


def plot_evaluation(
    probabilities: np.ndarray,
    labels: np.ndarray,
    model_names: list[str],
    path: str | os.PathLike,
    title: str,
    top_pairs: int = 10,
) -> Path:
    """Per-class top-1 accuracy (sorted) beside the confusion matrix of the most-confused classes."""
    from keras_alexnet.analysis.plotting import new_figure, save_figure

    predictions = probabilities.argmax(axis=1)
    classes, accuracy = per_class_accuracy(probabilities, labels, k=1)
    pairs = most_confused(predictions, labels, top_pairs)
    involved = sorted({c for true, predicted, _ in pairs for c in (true, predicted)})
    figure = new_figure(12.0, 5.2)
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.2]})
    order = np.argsort(accuracy, kind="stable")
    left.bar(np.arange(len(classes)), accuracy[order], width=1.0, color="#3060c0")
    left.set_xlabel(f"classes, sorted ({len(classes)})")
    left.set_ylabel("top-1 accuracy")
    left.set_ylim(0, 1)
    left.set_title(f"per-class top-1 accuracy (mean {accuracy.mean():.3f})", fontsize=9)
    if len(classes) <= 20:
        left.set_xticks(np.arange(len(classes)))
        left.set_xticklabels([_short(model_names, classes[i]) for i in order], rotation=90, fontsize=7)
    if involved:
        matrix = confusion_submatrix(predictions, labels, involved)
        image = right.imshow(matrix, cmap="Blues")
        names = [_short(model_names, c) for c in involved]
        right.set_xticks(range(len(involved)), names, rotation=90, fontsize=7)
        right.set_yticks(range(len(involved)), names, fontsize=7)
        right.set_xlabel("predicted")
        right.set_ylabel("true")
        for (i, j), count in np.ndenumerate(matrix):
            if count:
                right.text(j, i, str(count), ha="center", va="center", fontsize=6, color="black")
        figure.colorbar(image, ax=right, fraction=0.046, pad=0.04)
        right.set_title(f"confusions among the classes of the {len(pairs)} most-confused pairs", fontsize=9)
    else:
        right.set_axis_off()
        right.set_title("no errors", fontsize=9)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path)


def _short(model_names: list[str], index: int, length: int = 22) -> str:
    name = model_names[index] if index < len(model_names) else str(index)
    return name if len(name) <= length else name[: length - 1] + "…"
