"""examples/depth_ablation.py: trains full and ablated networks with the same recipe and reports the difference."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "depth_ablation.py"


def load_example():
    spec = importlib.util.spec_from_file_location("depth_ablation", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_fn_builds_the_ablated_network_at_67_pixels():
    example = load_example()
    model = example.make_model_fn(("conv4",), "original", "keras", 0.5, 0)(10, 67)
    names = [layer.name for layer in model.layers]
    assert "conv4" not in names and "conv5" in names and model.output.shape == (None, 10)
    assert model.get_layer("conv5").kernel.shape == (3, 3, 192, 256)


@pytest.mark.slow
def test_runs_and_reports_the_difference_over_seeds(tmp_path, capsys):
    example = load_example()
    out = tmp_path / "ablation.json"
    argv = ["--remove", "conv4", "--seeds", "2", "--epochs", "1", "--limit", "64", "--val-limit", "32"]
    assert example.main([*argv, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "top-1 error difference (ablated - full) over 2 seeds" in printed
    summary = json.loads(out.read_text())
    runs = summary["runs"]
    assert [(r["network"], r["seed"]) for r in runs] == [("full", 0), ("no_conv4", 0), ("full", 1), ("no_conv4", 1)]
    full = np.array([r["val_top1_error"] for r in runs[::2]])
    ablated = np.array([r["val_top1_error"] for r in runs[1::2]])
    assert summary["difference_mean"] == pytest.approx((ablated - full).mean())
    assert summary["difference_std"] == pytest.approx((ablated - full).std(ddof=1))
    assert runs[1]["params"] < runs[0]["params"]


def test_bad_layer_name_fails_early():
    example = load_example()
    with pytest.raises(ValueError, match="Received: remove=\\('conv9',\\)"):
        example.main(["--remove", "conv9"])
