"""Evaluation: label mapping (WordNet-id folders -> ImageNet indices), per-class metrics vs scikit-learn, CLI."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import confusion_matrix, recall_score

import keras_alexnet
from keras_alexnet.analysis.evaluation import (
    confusion_submatrix,
    label_mapping,
    most_confused,
    per_class_accuracy,
    plot_evaluation,
)
from keras_alexnet.cli.main import main as cli_main
from keras_alexnet.imagenet import imagenet_classes


def run_cli(argv) -> int:
    return cli_main([str(a) for a in argv])


def test_wordnet_folders_map_to_imagenet_indices():
    wnids = [imagenet_classes()[i][0] for i in (987, 1, 340)]
    mapping, names = label_mapping(sorted(wnids), 1000)
    assert mapping.tolist() == [1, 340, 987]
    assert names[1].startswith("n01443537 goldfish")
    assert label_mapping(["a", "b", "c"], 3)[0].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="not ImageNet-1k classes.*Received"):
        label_mapping(["n00000001"], 1000)
    with pytest.raises(ValueError, match="dataset has 2 classes.*model 1000 outputs.*Received: 2 classes"):
        label_mapping(["cat", "dog"], 1000)


def test_per_class_accuracy_and_confusions_match_scikit_learn(rng):
    labels = rng.integers(0, 6, size=200)
    probabilities = rng.random((200, 6))
    probabilities[np.arange(200)[:100], labels[:100]] += 1.0  # half of them right
    predictions = probabilities.argmax(1)
    classes, accuracy = per_class_accuracy(probabilities, labels, k=1)
    np.testing.assert_allclose(accuracy, recall_score(labels, predictions, average=None, labels=classes))
    matrix = confusion_matrix(labels, predictions, labels=range(6))
    np.fill_diagonal(matrix, 0)
    pairs = most_confused(predictions, labels, top=4)
    assert [c for _, _, c in pairs] == sorted(matrix.ravel(), reverse=True)[:4]
    assert all(matrix[t, p] == c for t, p, c in pairs)
    top5 = per_class_accuracy(probabilities, labels, k=5)[1]
    ranks = (probabilities > probabilities[np.arange(200), labels][:, None]).sum(1)
    np.testing.assert_allclose(top5, [np.mean(ranks[labels == c] < 5) for c in classes])
    subset = [4, 1, 5]
    full = confusion_matrix(labels, predictions, labels=range(6))
    np.testing.assert_array_equal(confusion_submatrix(predictions, labels, subset), full[np.ix_(subset, subset)])


def test_plot_evaluation(tmp_path, rng):
    labels = rng.integers(0, 12, size=300)
    probabilities = rng.random((300, 12))
    path = plot_evaluation(probabilities, labels, [f"class {i}" for i in range(12)], tmp_path / "e.png", "test")
    assert np.asarray(Image.open(path)).shape[:2] == (520, 1200)
    with pytest.raises(ValueError, match="must be a .png"):
        plot_evaluation(probabilities, labels, [], tmp_path / "e.jpg", "test")


def test_cli_on_a_wordnet_folder_with_ten_crops(tmp_path, views_dir, capsys):
    root = tmp_path / "val"
    for wnid, stem in (("n01440764", "china"), ("n01443537", "flower")):
        (root / wnid).mkdir(parents=True)
        for path in views_dir.glob(f"{stem}_*.jpg"):
            shutil.copy(path, root / wnid / path.name)
    table, summary, plot = tmp_path / "per_class.csv", tmp_path / "summary.json", tmp_path / "evaluation.png"
    argv = ["evaluate", "--dataset", f"folder:{root}", "--ten-crop", "--csv", table, "--json", summary, "--plot", plot]
    assert run_cli(argv + ["--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "center" in out and "ten" in out and "top-1 error" in out
    assert np.asarray(Image.open(plot)).ndim == 3
    report = json.loads(summary.read_text())
    assert set(report["crops"]) == {"center", "ten"} and report["crops"]["ten"]["images"] == 6
    rows = list(csv.DictReader(table.open()))
    assert [(r["class"], r["model_index"], r["images"]) for r in rows] == [
        ("n01440764", "0", "3"),
        ("n01443537", "1", "3"),
    ]
    for crops in ("center", "ten"):
        for k in (1, 5):
            mean = np.mean([float(r[f"{crops}_top{k}_accuracy"]) for r in rows])  # equal class sizes
            assert mean == pytest.approx(1 - report["crops"][crops][f"top{k}_error"])


def test_cli_with_a_checkpoint_on_the_embedded_digits(tmp_path, capsys):
    from keras_alexnet.weights.checkpoint import save_checkpoint
    from keras_alexnet.weights.network import NetworkRecord

    model = keras_alexnet.AlexNet(classes=10)
    save_checkpoint(model, tmp_path / "ckpt", NetworkRecord(classes=10, categories="digits"))
    outputs = []
    for run in ("a", "b"):
        table, plot, summary = tmp_path / f"{run}.csv", tmp_path / f"{run}.png", tmp_path / f"{run}.json"
        argv = ["evaluate", "--weights", tmp_path / "ckpt", "--dataset", "digits", "--limit", "8"]
        assert run_cli([*argv, "--csv", table, "--plot", plot, "--json", summary]) == 0
        outputs.append((table.read_text(), plot.read_bytes(), json.loads(summary.read_text())))
    assert outputs[0] == outputs[1]  # deterministic: CSV, PNG bytes and summary
    rows = list(csv.DictReader((tmp_path / "a.csv").open()))
    assert sum(int(r["images"]) for r in rows) == 8
    assert all(r["class"] == r["model_class"] for r in rows)


def test_cli_errors(tmp_path, capsys):
    assert run_cli(["evaluate", "--dataset", "digits", "--limit", "0"]) == 1
    assert "--limit must be positive" in capsys.readouterr().err
    assert run_cli(["evaluate", "--dataset", "digits", "--plot", tmp_path / "e.jpg"]) == 1
    assert "--plot must be a .png" in capsys.readouterr().err
    assert run_cli(["evaluate", "--dataset", f"folder:{tmp_path / 'nowhere'}"]) == 1
    assert "does not exist" in capsys.readouterr().err
