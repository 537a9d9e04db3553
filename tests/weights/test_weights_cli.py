"""`keras-alexnet weights`, `weights fetch` and `push`, end to end against the local Hub server."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

import numpy as np
import pytest

import keras_alexnet
from keras_alexnet.cli.main import main
from keras_alexnet.weights.cache import checkpoint_cache_dir
from keras_alexnet.weights.registry import Original, get_weights_record, register_weights
from keras_alexnet.weights.tables import weights_markdown_table


@pytest.fixture(scope="module")
def standin_file(tmp_path_factory):
    import torch
    from fixtures.reference_models import random_torchvision_state_dict

    path = tmp_path_factory.mktemp("originals") / "alexnet-standin.pth"
    torch.save(random_torchvision_state_dict(seed=5), path)
    return path


def test_weights_table(capsys):
    assert main(["weights"]) == 0
    out = capsys.readouterr().out
    assert "bvlc_imagenet1k (imagenet)" in out and "torchvision_imagenet1k" in out
    assert "60,965,224" in out and "61,100,840" in out and "724M" in out and "714M" in out
    assert "Published on the Hub: none yet" in out


def test_weights_json_and_markdown(capsys, monkeypatch):
    monkeypatch.setenv("KERAS_ALEXNET_HUB_ORG", "mirror-org")
    assert main(["weights", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    by_name = {r["name"]: r for r in records}
    bvlc = by_name["bvlc_imagenet1k"]
    assert bvlc["aliases"] == ["imagenet"] and bvlc["num_params"] == 60_965_224 and bvlc["macs"] == 724_406_816
    assert bvlc["network"]["lrn"] == {"size": 5, "k": 1.0, "alpha": 1e-4, "beta": 0.75, "average": True}
    assert bvlc["hub"] == {
        "repo_id": "mirror-org/alexnet-bvlc-imagenet1k",
        "revision": None,
        "filename": "checksums.json",
        "sha256": None,
        "tag": None,
        "published": False,
    }
    first = bvlc["originals"][0]  # the Hub original is tried first
    assert first["source"] == "hub" and first["repo_id"] == "onnxmodelzoo/legacy_models" and first["revision"] == "main"
    assert first["sha256"].startswith("6b0da951") and first["size"] == 243_863_787
    assert [r["source"] for r in bvlc["reported_results"]] == ["BVLC", "ONNX model zoo"]
    assert main(["weights", "--markdown", "--hub-org", "x"]) == 0
    assert capsys.readouterr().out.strip() == weights_markdown_table(hub_org="x").strip()


def test_weights_fetch_unknown_name(capsys):
    assert main(["weights", "fetch", "no-such-weights"]) == 1
    assert "Unknown weights name" in capsys.readouterr().err


@pytest.mark.slow
def test_fetch_from_file_converts_into_the_cache(standin_file, capsys):
    real = get_weights_record("torchvision_imagenet1k")
    sha256 = hashlib.sha256(standin_file.read_bytes()).hexdigest()
    mirror = Original(url="file://nowhere", format="torchvision", filename=standin_file.name, sha256=sha256)
    register_weights(dataclasses.replace(real, originals=(mirror,)), overwrite=True)
    try:
        assert main(["weights", "fetch", "torchvision_imagenet1k", "--from", str(standin_file)]) == 0
        captured = capsys.readouterr()
        assert str(checkpoint_cache_dir("torchvision_imagenet1k")) in captured.out
        assert f"sha256:{sha256}" in captured.err
        model = keras_alexnet.AlexNet(weights="torchvision_imagenet1k", include_top=False)
        assert model.get_layer("conv1").kernel.shape == (11, 11, 3, 64)
    finally:
        register_weights(real, overwrite=True)
    assert standin_file.exists()  # the user's file is kept


@pytest.mark.slow
def test_convert_push_pull_round_trip_is_bit_identical(standin_file, live_hub, repo_id, tmp_path, capsys):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the stand-in is not the known original
        assert main(["convert", "--from", "torchvision", str(standin_file), "-o", str(tmp_path / "ckpt")]) == 0
    assert main(["push", str(tmp_path / "ckpt"), "--repo-id", repo_id]) == 0
    out = capsys.readouterr().out
    checksums = json.loads((tmp_path / "ckpt" / "checksums.json").read_text())
    sha = live_hub.repos[repo_id].branches["main"]
    assert f"commit: {live_hub.endpoint}/{repo_id}/commit/{sha}" in out
    manifest = hashlib.sha256((tmp_path / "ckpt" / "checksums.json").read_bytes()).hexdigest()
    assert f"checksums.json sha256: {manifest} (it lists every file's sha256)" in out
    assert "model.weights.h5" in checksums and "task.weights.h5" in checksums
    assert f'revision="{sha}"' in out
    assert os.environ["HF_TOKEN"] not in out

    local = keras_alexnet.AlexNet(weights=str(tmp_path / "ckpt"))
    pulled = keras_alexnet.AlexNet(weights=f"hf://{repo_id}")
    for a, b in zip(local.get_weights(), pulled.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_push_errors_are_clean(capsys, tmp_path, live_hub):
    assert main(["push", str(tmp_path), "--repo-id", "a/b"]) == 1
    assert "not a keras_alexnet checkpoint directory" in capsys.readouterr().err
    assert "a/b" not in live_hub.repos
