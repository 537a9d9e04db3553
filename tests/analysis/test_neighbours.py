"""Nearest neighbours (Figure 4): distances vs SciPy, chunked top-k vs brute force, embed + neighbours CLI."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from PIL import Image
from scipy.spatial.distance import cdist

import keras_alexnet
from keras_alexnet.analysis import feature_extractor
from keras_alexnet.analysis.neighbours import pairwise_distances, top_k
from keras_alexnet.cli.main import main as cli_main


def run_cli(argv) -> int:
    return cli_main([str(a) for a in argv])


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_distances_match_scipy(rng, metric):
    queries, rows = rng.normal(size=(3, 16)), np.maximum(rng.normal(size=(9, 16)), 0)
    np.testing.assert_allclose(pairwise_distances(queries, rows, metric), cdist(queries, rows, metric), atol=1e-9)


def test_cosine_of_a_zero_vector_is_one():
    assert pairwise_distances(np.zeros((1, 3)), np.ones((2, 3)), "cosine").tolist() == [[1.0, 1.0]]


@pytest.mark.parametrize("chunk", [1, 4, 50])
def test_chunked_top_k_equals_brute_force(rng, chunk):
    queries, rows = rng.normal(size=(4, 8)), rng.normal(size=(23, 8))
    chunks = [(s, rows[s : s + chunk]) for s in range(0, len(rows), chunk)]
    exclude = [{0}, set(), {5, 6}, set()]
    distances, found = top_k(queries, chunks, k=5, exclude=exclude)
    reference = cdist(queries, rows)
    for q in range(4):
        reference[q, list(exclude[q])] = np.inf
        order = np.argsort(reference[q], kind="stable")[:5]
        assert found[q].tolist() == order.tolist()
        np.testing.assert_allclose(distances[q], reference[q, order], atol=1e-9)
    assert top_k(queries, [(0, rows[:2])], k=5)[1].shape == (4, 2)
    with pytest.raises(ValueError, match="Received: k=0"):
        top_k(queries, chunks, k=0)
    with pytest.raises(ValueError, match="Received: metric='l1'"):
        pairwise_distances(queries, rows, "l1")


def test_feature_extractor_is_fc7_after_relu(rng):
    model = keras_alexnet.AlexNet()
    extractor = feature_extractor(model)
    x = rng.normal(scale=50, size=(2, 227, 227, 3)).astype("float32")
    features = extractor(x).numpy()
    assert features.shape == (2, 4096) and features.min() >= 0.0
    # Independent reference: fc6 and fc7 in NumPy from the flattened pool5 output.
    pool5 = keras.Model(model.input, model.get_layer("flatten").output)(x).numpy().astype("float64")
    w6, b6 = model.get_layer("fc6").get_weights()
    w7, b7 = model.get_layer("fc7").get_weights()
    expected = np.maximum(np.maximum(pool5 @ w6 + b6, 0) @ w7 + b7, 0)
    np.testing.assert_allclose(features, expected, rtol=1e-3, atol=1e-4)
    np.testing.assert_array_equal(extractor(x).numpy(), features)  # dropout is off: deterministic
    with pytest.raises(ValueError, match=r"Unknown layer 'fc9'.*Valid names: conv1.*fc7.*Received: layer='fc9'"):
        feature_extractor(model, "fc9")


def test_embed_and_neighbours_cli(tmp_path, views_dir, capsys):
    index = tmp_path / "index.npz"
    (views_dir / "broken.jpg").write_bytes(b"not a jpeg")
    try:
        assert run_cli(["embed", views_dir, "-o", index, "--batch-size", "4", "--no-progress"]) == 0
    finally:
        (views_dir / "broken.jpg").unlink()
    captured = capsys.readouterr()
    assert "6 images x 4096 fc7 features (1 unreadable files skipped)" in captured.out
    assert "broken.jpg" in captured.err
    with np.load(index) as archive:
        features, paths = archive["features"], archive["paths"].tolist()
    assert features.shape == (6, 4096) and features.min() >= 0.0
    # Determinism: embedding again (another batch size) gives the same vectors, to float32 rounding: on Intel
    # CPUs with AMX, oneDNN's fp32 convolutions differ by ~1e-6 between runs, even at the same batch size.
    again = tmp_path / "again.npz"
    assert run_cli(["embed", views_dir, "-o", again, "--no-progress"]) == 0
    with np.load(again) as archive:
        np.testing.assert_allclose(archive["features"], features, rtol=1e-5, atol=1e-5)

    query = views_dir / "china_00.jpg"
    grid, result = tmp_path / "grid.png", tmp_path / "nn.json"
    assert run_cli(["neighbours", query, "--index", index, "-k", "3", "-o", grid, "--json", result]) == 0
    found = json.loads(result.read_text())["results"][0]["neighbours"]
    assert len(found) == 3 and str(query.resolve()) not in [f["path"] for f in found]
    # Brute-force reference over the stored vectors:
    row = paths.index(str(query.resolve()))
    distances = np.linalg.norm(features - features[row], axis=1)
    distances[row] = np.inf
    order = np.argsort(distances, kind="stable")[:3]
    assert [f["path"] for f in found] == [paths[i] for i in order]
    np.testing.assert_allclose([f["distance"] for f in found], distances[order], rtol=1e-4)
    image = np.asarray(Image.open(grid))
    assert image.shape[1] > image.shape[0] > 100  # one row of 4 pictures

    assert (
        run_cli(["neighbours", query, "--index", index, "-k", "1", "-o", grid, "--json", result, "--include-self"]) == 0
    )
    self_match = json.loads(result.read_text())["results"][0]["neighbours"][0]
    assert self_match["path"] == str(query.resolve()) and self_match["distance"] == pytest.approx(0.0, abs=1e-2)


def test_checkpoint_index_is_found_from_another_directory(tmp_path, views_dir, torchvision_checkpoint, monkeypatch):
    assert keras_alexnet.feature_extractor is feature_extractor
    monkeypatch.chdir(torchvision_checkpoint.parent)
    index = tmp_path / "tv.npz"
    assert run_cli(["embed", views_dir, "-o", index, "--weights", "ckpt", "--no-progress"]) == 0
    with np.load(index) as archive:
        assert str(archive["weights"]) == str(torchvision_checkpoint.resolve())
        assert str(archive["preprocessing"]) == "torch" and archive["features"].shape == (6, 4096)
    monkeypatch.chdir(tmp_path)
    result = tmp_path / "nn.json"
    argv = ["neighbours", views_dir / "flower_00.jpg", "--index", index, "-k", "2", "--metric", "cosine"]
    assert run_cli([*argv, "-o", tmp_path / "g.png", "--json", result]) == 0
    found = json.loads(result.read_text())["results"][0]["neighbours"]
    assert len(found) == 2 and all(0.0 <= f["distance"] <= 2.0 for f in found)


def test_cli_errors(tmp_path, views_dir, capsys):
    assert run_cli(["embed", tmp_path / "nowhere", "-o", tmp_path / "i.npz"]) == 1
    assert "No such image folder" in capsys.readouterr().err
    assert run_cli(["embed", views_dir, "-o", tmp_path / "i.npz", "--layer", "fc9", "--no-progress"]) == 1
    assert "Valid names: conv1" in capsys.readouterr().err
    assert run_cli(["neighbours", tmp_path / "q.jpg", "--index", tmp_path / "i.npz"]) == 1
    assert "No such query image" in capsys.readouterr().err
    assert run_cli(["neighbours", views_dir / "china_00.jpg", "--index", tmp_path / "i.npz"]) == 1
    assert "No such index file" in capsys.readouterr().err
