"""Layer activations: parity with PyTorch for conv1, the grid, and the CLI's errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import keras_alexnet
from keras_alexnet.analysis.activations import activation_mosaic, layer_activations, normalise_maps
from keras_alexnet.cli.main import main as cli_main


def run_cli(argv) -> int:
    return cli_main([str(a) for a in argv])


def test_conv1_activations_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    model = keras_alexnet.AlexNet(include_top=False)
    image = rng.normal(scale=40, size=(227, 227, 3)).astype("float32")
    maps = layer_activations(model, image, "conv1")
    kernel, bias = model.get_layer("conv1").get_weights()
    reference = torch.nn.functional.conv2d(
        torch.from_numpy(image).permute(2, 0, 1)[None],
        torch.from_numpy(kernel).permute(3, 2, 0, 1),
        torch.from_numpy(bias),
        stride=4,
    ).relu()[0]
    np.testing.assert_allclose(maps, reference.permute(1, 2, 0).numpy(), rtol=1e-4, atol=1e-3)
    assert layer_activations(model, image, "pool5").shape == (6, 6, 256)


def test_normalise_and_mosaic():
    maps = np.stack([np.arange(4.0).reshape(2, 2), np.full((2, 2), 3.0), -np.arange(4.0).reshape(2, 2)], axis=-1)
    normalised = normalise_maps(maps)
    np.testing.assert_allclose(normalised[..., 0], [[0, 1 / 3], [2 / 3, 1]])
    np.testing.assert_allclose(normalised[..., 1], 0.0)
    np.testing.assert_allclose(normalised[..., 2], [[1, 2 / 3], [1 / 3, 0]])
    mosaic = activation_mosaic(maps, columns=2)
    assert mosaic.shape == (5, 5)
    assert np.isnan(mosaic[2]).all() and np.isnan(mosaic[3:, 3:]).all()  # gaps and the empty 4th cell


def test_cli_draws_a_layer_and_rejects_bad_names(tmp_path, sample_image_paths, capsys):
    out = tmp_path / "act.png"
    assert run_cli(["activations", sample_image_paths[0], "--layer", "conv2", "-o", out]) == 0
    assert "conv2: 256 maps of 27x27" in capsys.readouterr().out
    first = out.read_bytes()
    assert np.asarray(Image.open(out)).shape[0] > 200
    assert run_cli(["activations", sample_image_paths[0], "--layer", "conv2", "-o", out]) == 0
    assert out.read_bytes() == first  # deterministic

    assert run_cli(["activations", sample_image_paths[0], "--layer", "fc6", "-o", out]) == 1
    err = capsys.readouterr().err
    assert "Unknown layer with feature maps 'fc6'" in err
    assert "conv1, norm1, pool1, conv2, norm2, pool2, conv3, conv4, conv5, pool5" in err
    assert run_cli(["activations", tmp_path / "missing.jpg", "-o", out]) == 1
    assert "No such image file" in capsys.readouterr().err
    (tmp_path / "text.jpg").write_text("hello")
    assert run_cli(["activations", tmp_path / "text.jpg", "-o", out]) == 1
    assert "not a readable image" in capsys.readouterr().err
