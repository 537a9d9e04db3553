"""First-layer kernels (Figure 3): colour metrics, channel order, the figure and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import keras_alexnet
from keras_alexnet.analysis import kernels as kern
from keras_alexnet.cli.main import main as cli_main
from keras_alexnet.weights.network import NetworkRecord


def run_cli(argv) -> int:
    return cli_main([str(a) for a in argv])


def test_grey_kernels_have_no_colour(rng):
    grey = np.repeat(rng.normal(size=(4, 11, 11, 1)), 3, axis=-1)
    np.testing.assert_allclose(kern.mean_chroma(grey), 0.0, atol=1e-12)
    np.testing.assert_allclose(kern.colour_fraction(grey), 0.0, atol=1e-12)


def test_colour_metrics_match_hand_computed_values(rng):
    # A kernel that is +1 in red and -1 in green everywhere except one grey pixel:
    kernel = np.zeros((1, 2, 1, 3))
    kernel[0, 0, 0] = (1.0, -1.0, 0.0)
    kernel[0, 1, 0] = (0.5, 0.5, 0.5)
    # Normalised to [0, 1] over all 6 values: (1, 0, .5) and (.75, .75, .75) -> chroma (1 + 0) / 2.
    assert kern.mean_chroma(kernel)[0] == pytest.approx(0.5)
    # Variance about the mean 1/6: total = sum((v - 1/6)^2); off-grey part = sum((v - pixel mean)^2).
    values = kernel[0].reshape(2, 3)
    total = ((values - values.mean()) ** 2).sum()
    chromatic = ((values - values.mean(axis=1, keepdims=True)) ** 2).sum()
    assert kern.colour_fraction(kernel)[0] == pytest.approx(chromatic / total)
    random = rng.normal(size=(2000, 11, 11, 3))
    assert kern.colour_fraction(random).mean() == pytest.approx(2 / 3, abs=0.01)


def test_keras_kernel_layout_is_accepted(rng):
    kernels = rng.normal(size=(5, 11, 11, 3))
    np.testing.assert_allclose(kern.mean_chroma(np.transpose(kernels, (1, 2, 3, 0))), kern.mean_chroma(kernels))
    with pytest.raises(ValueError, match="Received: an array of shape"):
        kern.mean_chroma(rng.normal(size=(11, 11, 4)))


def test_bgr_checkpoints_are_flipped_to_rgb():
    model = keras_alexnet.AlexNet(include_top=False)
    kernel = np.zeros((11, 11, 3, 96), "float32")
    kernel[:, :, 0, 7] = 1.0  # input channel 0 is blue for a Caffe/BGR checkpoint
    model.get_layer("conv1").kernel.assign(kernel)
    bgr = kern.conv1_kernels(model, NetworkRecord(variant="original"))
    rgb = kern.conv1_kernels(model, NetworkRecord(variant="torchvision"))
    assert bgr.shape == (96, 11, 11, 3)
    assert bgr[7, ..., 2].min() == 1.0 and bgr[7, ..., :2].max() == 0.0
    assert rgb[7, ..., 0].min() == 1.0


def test_towers_and_report():
    assert [list(r)[::47] for _, r in kern.towers(96)] == [[0, 47], [48, 95]]
    assert kern.towers(64, groups=1)[0][0] == "single tower (kernels 0-63)"
    kernels = np.zeros((96, 11, 11, 3))
    kernels[48:, :, :, 0] = 1.0  # tower 2 pure red, tower 1 constant
    report = kern.kernel_report(kernels)
    assert report["towers"][0]["mean_chroma"] == 0.0
    assert report["towers"][1]["mean_chroma"] == 1.0
    assert len(report["per_kernel"]["mean_chroma"]) == 96


def test_mosaic_shape():
    mosaic = kern.kernel_mosaic(np.zeros((48, 11, 11, 3)), columns=16, zoom=4, gap=1)
    assert mosaic.shape == (3 * 45 + 1, 16 * 45 + 1, 3)
    assert mosaic.min() >= 0.0 and mosaic.max() <= 1.0


def test_cli_writes_figure_and_json_deterministically(tmp_path, capsys):
    first, second = tmp_path / "a" / "k.png", tmp_path / "b" / "k.png"
    assert run_cli(["kernels", "-o", first, "--seed", "3"]) == 0
    assert run_cli(["kernels", "-o", second, "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "tower 1 (kernels 0-47): mean chroma" in out and "tower 2 (kernels 48-95)" in out
    report = json.loads(first.with_suffix(".json").read_text())
    assert report == json.loads(second.with_suffix(".json").read_text())
    assert [t["label"] for t in report["towers"]] == ["tower 1 (kernels 0-47)", "tower 2 (kernels 48-95)"]
    assert report["checkpoint_channel_order"] == "BGR"
    # Random initialisation: both towers near the 2/3 of isotropic noise.
    assert all(abs(t["colour_fraction"] - 2 / 3) < 0.03 for t in report["towers"])
    image = np.asarray(Image.open(first))
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 400
    assert first.read_bytes() == second.read_bytes()


def test_cli_reads_a_checkpoint_and_its_channel_order(tmp_path, torchvision_checkpoint):
    assert run_cli(["kernels", "--weights", torchvision_checkpoint, "-o", tmp_path / "k.png"]) == 0
    report = json.loads((tmp_path / "k.json").read_text())
    assert report["variant"] == "torchvision" and report["checkpoint_channel_order"] == "RGB"
    assert [t["label"] for t in report["towers"]] == ["single tower (kernels 0-63)"]
    model = keras_alexnet.AlexNet(weights=str(torchvision_checkpoint), include_top=False)
    expected = kern.mean_chroma(model.get_layer("conv1").kernel.numpy()).mean()
    assert report["towers"][0]["mean_chroma"] == pytest.approx(expected, abs=1e-6)


def test_cli_errors(tmp_path, capsys):
    assert run_cli(["kernels", "--weights", tmp_path / "missing", "-o", tmp_path / "k.png"]) == 1
    assert "No such weights file" in capsys.readouterr().err
    assert run_cli(["kernels", "-o", tmp_path / "k.jpg"]) == 1
    assert "must be a .png file" in capsys.readouterr().err
