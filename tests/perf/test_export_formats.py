"""Export to SavedModel / ONNX / LiteRT: each artifact, run in its own runtime, predicts what Keras predicts."""

from __future__ import annotations

import numpy as np
import pytest

import keras_alexnet
from keras_alexnet.export import (
    LOW_PRECISION_RTOL,
    default_path,
    default_rtol,
    export_model,
    load_exported,
    sample_batch,
    verify_export,
)

pytest.importorskip("tf2onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def small_model():
    """The 'original' feature extractor (LRN + two-tower convs) at its minimum input size: small and fast."""
    return keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3), pooling="avg")


@pytest.mark.parametrize("format", ["saved_model", "onnx", "litert"])
def test_export_round_trip(small_model, tmp_path, format):
    path = export_model(small_model, tmp_path / "alexnet", format)
    assert path == default_path(tmp_path / "alexnet", format) and path.exists()
    x = sample_batch(small_model, 1 if format == "litert" else 3, seed=5)
    expected = np.asarray(small_model(x))
    actual = load_exported(path, format)(x)
    assert actual.shape == expected.shape == (x.shape[0], 256)
    np.testing.assert_allclose(actual, expected, atol=1e-4, rtol=1e-4)
    assert np.abs(expected).max() > 1e-2  # the comparison is not between two all-zero outputs
    # No staging folders are left next to the artifact.
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_failed_check_keeps_the_previous_artifact(small_model, tmp_path, monkeypatch):
    path = export_model(small_model, tmp_path / "alexnet.onnx", "onnx")
    before = path.read_bytes()

    import keras_alexnet.export as export_module

    monkeypatch.setattr(export_module, "load_exported", lambda p, f: lambda x: np.zeros((x.shape[0], 256), "float32"))
    with pytest.raises(RuntimeError, match="disagrees with the Keras model"):
        export_model(small_model, path, "onnx")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["alexnet.onnx"]


def test_bad_arguments(small_model, tmp_path):
    with pytest.raises(ValueError, match="Received: format='tflite'"):
        export_model(small_model, tmp_path / "m", "tflite")
    with pytest.raises(ValueError, match="fixed input size"):
        export_model(keras_alexnet.AlexNet(include_top=False), tmp_path / "m", "onnx")
    bf16 = keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3), dtype="mixed_bfloat16")
    with pytest.raises(ValueError, match="float32 models only"):
        export_model(bf16, tmp_path / "m", "onnx")
    with pytest.raises(ValueError, match="LiteRT export needs a float32 model"):
        export_model(bf16, tmp_path / "m", "litert")
    user = tmp_path / "user"
    user.mkdir()
    (user / "notes.txt").write_text("not an export")
    with pytest.raises(ValueError, match="not an earlier saved_model export.*--overwrite"):
        export_model(small_model, user, "saved_model", verify=False)
    assert [p.name for p in user.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("seed", [0, 2])
def test_bfloat16_saved_model_matches_the_keras_model(tmp_path, seed):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3), pooling="avg", dtype="mixed_bfloat16")
    assert default_rtol(model) == LOW_PRECISION_RTOL
    path = export_model(model, tmp_path / "bf16", "saved_model")  # the default tolerance for bfloat16
    x = sample_batch(model, 2, seed=1)
    expected = np.asarray(model(x), "float32")
    actual = load_exported(path, "saved_model")(x).astype("float32")
    # Within two bfloat16 rounding steps of the largest output (one step of an output near 3 is 2**-6).
    scale = np.abs(expected).max()
    assert scale > 0.1
    np.testing.assert_allclose(actual, expected, atol=1e-4 + LOW_PRECISION_RTOL * scale, rtol=0)


def test_relative_tolerance_of_the_check(small_model, tmp_path, monkeypatch):
    import keras_alexnet.export as export_module

    assert default_rtol(small_model) == 0.0
    path = export_model(small_model, tmp_path / "m", "saved_model", verify=False)
    x = sample_batch(small_model, 2)
    scale = 1 + 1e-3  # every output 0.1 % off: above atol=1e-4 for outputs above 0.1, within rtol=1e-2 of the largest
    monkeypatch.setattr(export_module, "load_exported", lambda p, f: lambda a: np.asarray(small_model(a)) * scale)
    assert np.abs(np.asarray(small_model(x))).max() > 0.2
    with pytest.raises(RuntimeError, match=r"max \|diff\|"):
        verify_export(small_model, path, "saved_model", atol=1e-4)
    assert verify_export(small_model, path, "saved_model", atol=1e-4, rtol=1e-2) > 1e-4


def test_cli_export(tmp_path, capsys):
    from keras_alexnet.cli.main import main

    out = tmp_path / "features"
    argv = ["export", str(out), "--format", "onnx", "--weights", "none", "--no-top", "--input-size", "67"]
    assert main(argv) == 0
    assert "predictions match Keras" in capsys.readouterr().out
    assert (tmp_path / "features.onnx").is_file()
    assert main(["export", str(out), "--format", "onnx", "--weights", "none", "--input-size", "67"]) == 1
    assert "--input-size needs --no-top" in capsys.readouterr().err
    # bfloat16 SavedModel with the default tolerance (atol 1e-4 alone would reject bfloat16 rounding).
    argv = ["export", str(tmp_path / "bf16"), "--weights", "none", "--no-top", "--input-size", "67"]
    assert main(argv + ["--dtype", "mixed_bfloat16"]) == 0
    assert "predictions match Keras" in capsys.readouterr().out


@pytest.mark.slow
def test_onnx_export_of_the_full_network_matches_the_bvlc_reference_graph(tmp_path):
    """The exported ONNX model and an independent BVLC-like ONNX graph with the same weights agree in ORT."""
    from fixtures.reference_models import build_bvlc_like_onnx

    from benchmarks import peers

    weights = peers.bvlc_weights(seed=3)
    model = peers.keras_model(weights)
    path = export_model(model, tmp_path / "alexnet", "onnx", atol=1e-5)
    x = peers.sample_input(2, seed=4)
    exported = load_exported(path, "onnx")(x)

    import onnxruntime as ort

    graph = build_bvlc_like_onnx(weights).SerializeToString()
    reference = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    expected = reference.run(None, {"data_0": peers.to_nchw(x)})[0]
    np.testing.assert_allclose(exported, expected, atol=1e-5)
    np.testing.assert_array_equal(exported.argmax(-1), expected.argmax(-1))
