"""The explore page's data and routes (no browser): architecture arithmetic, LRN against NumPy, uploads."""

from __future__ import annotations

import io
import re
import struct
import sys
import zlib

import numpy as np
import pytest


def _evaluate(arithmetic: str) -> tuple[int, int]:
    """(value of the left-hand side, the right-hand side) of '(227 - 11) / 4 + 1 = 55', computed independently."""
    left, right = arithmetic.split(" = ")
    expression = left.replace("·", "*").replace("floor(", "int(")
    assert re.fullmatch(r"[0-9 +\-*/()int]+", expression), arithmetic
    return int(eval(expression)), int(right)  # noqa: S307 - digits and operators only (checked above)


@pytest.mark.parametrize("variant", ["original", "torchvision"])
def test_architecture_arithmetic_and_towers(variant):
    from keras_alexnet.explore.architecture import variant_architecture

    data = variant_architecture(variant)
    rows = {row["name"]: row for row in data["layers"]}
    expected = {"original": (60_965_224, 724_406_816), "torchvision": (61_100_840, 714_188_480)}[variant]
    assert (data["total_params"], data["total_macs"]) == expected  # README's table, `keras-alexnet info`
    spatial = [row for row in data["layers"] if row["arithmetic"]]
    assert {row["name"] for row in spatial} >= {"conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5"}
    for row in spatial:
        value, stated = _evaluate(row["arithmetic"])
        assert value == stated == row["output_shape"][0], row
    if variant == "original":
        assert rows["conv1"]["arithmetic"] == "(227 - 11) / 4 + 1 = 55"
        assert rows["conv2"]["arithmetic"] == "(27 + 2·2 - 5) / 1 + 1 = 27"
        split = {name for name, row in rows.items() if row["tower"] == "split"}
        joined = {name for name, row in rows.items() if row["tower"] == "joined"}
        assert split == {"conv1", "norm1", "pool1", "conv2", "norm2", "pool2", "conv4", "conv5", "pool5"}
        assert {"conv3", "fc6", "fc7", "predictions"} <= joined
        assert rows["conv2"]["tower_shape"] == [27, 27, 128]
    else:
        assert rows["conv1"]["arithmetic"] == "floor((224 + 2·2 - 11) / 4) + 1 = 55"
        assert {row["tower"] for row in data["layers"]} == {"single"}


def _numpy_lrn(a: np.ndarray, size: int, k: float, alpha: float, beta: float, average: bool) -> np.ndarray:
    """The LRN formula over channels, written directly (the window clipped at the edges)."""
    squares = a.astype(np.float64) ** 2
    sums = np.zeros_like(squares)
    channels = a.shape[-1]
    for c in range(channels):
        low, high = max(0, c - (size - 1) // 2), min(channels, c + size // 2 + 1)
        sums[..., c] = squares[..., low:high].sum(-1)
    return a / (k + (alpha / size if average else alpha) * sums) ** beta


def test_lrn_panel_matches_the_formula(explorer):
    result = explorer.sample(0)
    config = explorer.model.get_layer("norm1").get_config()
    before = result.outputs["conv1"]
    expected = _numpy_lrn(before, config["size"], config["k"], config["alpha"], config["beta"], config["average"])
    np.testing.assert_allclose(result.outputs["norm1"], expected, rtol=2e-5, atol=1e-5)
    data = explorer.lrn_json(result)
    positive = before > 0
    ratio = expected[positive] / before[positive]
    assert data["ratio_min"] == pytest.approx(ratio.min(), rel=1e-4)
    assert data["ratio_max"] == pytest.approx(ratio.max(), rel=1e-4)
    assert data["max_ratio"] == pytest.approx(config["k"] ** -config["beta"])
    assert data["ratio_max"] <= data["max_ratio"] + 1e-6
    means = before.mean(axis=(0, 1))
    assert [row["channel"] for row in data["channels"]] == list(np.argsort(-means, kind="stable")[:6])


def test_top5_names_and_scores_match_predict(explorer, explore_model, explore_images):
    from keras_alexnet.preprocessing import preprocess_for

    model, network = explore_model
    result = explorer.analyse(explorer.load(explore_images[1]), "digit")
    reference = model.predict(preprocess_for(result.image[None], network), verbose=0)[0]
    top = explorer.top_json(result)
    order = np.argsort(-reference)[:5]
    assert [row["index"] for row in top] == order.tolist()
    assert [row["name"] for row in top] == [network.class_names[i] for i in order]
    np.testing.assert_allclose([row["score"] for row in top], reference[order], atol=1e-5)
    assert top[0]["score"] > 0.3  # a confident classifier: a wrong mapping would show


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` (no real pixel data): refused before decoding."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")
    )


def test_routes_and_bad_uploads(explorer, explore_images):
    from fastapi.testclient import TestClient

    from keras_alexnet.explore.app import create_app

    client = TestClient(create_app(explorer, max_upload_bytes=2_000_000))
    assert "explore.js" in client.get("/").text
    assert client.get("/static/explore.js").status_code == 200
    info = client.get("/api/info").json()
    assert info["random"] is False and info["classes"] == 10 and info["index"]["warning"] is None
    assert info["class_names"] == "the checkpoint's class names"
    bad = {
        "empty.jpg": (b"", 400, "empty"),
        "notes.jpg": (b"this is not an image\n" * 10, 415, "not a readable image"),
        "huge.png": (_png_header(20_000, 10_000), 413, "pixels"),
        "big.bin": (b"\0" * 2_000_001, 413, "larger than"),
    }
    for name, (body, status, text) in bad.items():
        response = client.post("/api/analyse", content=body, headers={"X-Filename": name})
        assert response.status_code == status, (name, response.text)
        message = response.json()["error"]
        assert text in message and name in message and "/tmp" not in message, message
    good = client.post("/api/analyse", content=explore_images[0].read_bytes(), headers={"X-Filename": "view.jpg"})
    assert good.status_code == 200  # still serving after the bad ones
    data = good.json()
    assert len(data["top"]) == 5 and len(data["neighbours"]["neighbours"]) == 6
    layer = client.get(f"/api/activations/{data['id']}/conv5").json()
    assert layer["shape"] == [13, 13, 256] and layer["png"].startswith("data:image/png;base64,")
    assert client.get(f"/api/activations/{data['id']}/nope").status_code == 400
    assert client.get("/api/activations/unknown/conv1").status_code == 404


def test_neighbours_are_the_nearest_rows(explorer, explore_index, explore_images):
    index_features = np.load(explore_index.path)["features"].astype(np.float64)
    result = explorer.analyse(explorer.load(explore_images[3]), "query")
    query = result.outputs["fc7"].astype(np.float64)
    distances = np.sqrt(((index_features - query) ** 2).sum(1))
    found = explorer.neighbours_json(result)["neighbours"]
    assert [row["row"] for row in found] == np.argsort(distances, kind="stable")[:6].tolist()
    np.testing.assert_allclose([row["distance"] for row in found], np.sort(distances)[:6], rtol=1e-4, atol=1e-3)
    assert all(row["image"].startswith("data:image/png") for row in found)


def test_missing_extra_is_one_line(monkeypatch, capsys):
    from keras_alexnet.cli.main import main

    monkeypatch.setitem(sys.modules, "fastapi", None)
    assert main(["explore", "--port", "0"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and 'pip install "keras-alexnet[explore]"' in error, error


def test_export_refuses_user_files(explorer, tmp_path):
    from keras_alexnet.explore.export import export_page
    from keras_alexnet.outputs import ExistingOutputError

    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep me")
    with pytest.raises(ExistingOutputError):
        export_page(explorer, user)
    assert (user / "notes.txt").read_text() == "keep me"
    out = export_page(explorer, tmp_path / "page")
    script = (out / "static" / "data.js").read_text()
    assert script.startswith("window.EXPLORE_STATIC = ")
    assert len(io.BytesIO(script.encode()).getvalue()) < 20_000_000
    export_page(explorer, out)  # an earlier export is replaced


def test_cli_export(explore_checkpoint, explore_images, tmp_path, capsys):
    import json

    from keras_alexnet.cli.main import main

    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("x")
    assert main(["explore", "--export", str(taken)]) == 1  # refused before any model is built
    assert "--overwrite" in capsys.readouterr().err
    out = tmp_path / "page"
    args = ["explore", "--weights", str(explore_checkpoint), "--export", str(out), "--image", str(explore_images[4])]
    assert main(args) == 0
    assert "index.html" in capsys.readouterr().out
    data = json.loads((out / "static" / "data.js").read_text().removeprefix("window.EXPLORE_STATIC = ").rstrip(";\n"))
    assert [image["name"] for image in data["images"]] == ["china.jpg", "flower.jpg", explore_images[4].name]
    assert set(data["images"][2]["activations"]) == set(data["info"]["layers"])
    assert data["info"]["static"] is True and data["info"]["index"] is None
