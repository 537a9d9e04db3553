"""Export to OpenVINO (`export_model(format="openvino")`, `keras-alexnet export --format openvino`), fp32 and int8.

fp32 is run in OpenVINO itself and compared with the Keras model; int8 (NNCF) is checked by its agreement with
the float32 model, and the agreement it records is recomputed here from OpenVINO's and Keras' outputs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import keras_alexnet
from keras_alexnet.errors import ExportMismatchError
from keras_alexnet.export import EXPORT_MARKER, export_model, export_record, is_earlier_export, sample_batch
from keras_alexnet.outputs import ExistingOutputError

ov = pytest.importorskip("openvino")


def _run_in_openvino(path, x: np.ndarray) -> np.ndarray:
    compiled = ov.Core().compile_model(str(path / "model.xml"), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return np.asarray(compiled(x)[0])


@pytest.fixture(scope="module")
def small_model():
    return keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3), pooling="avg")


@pytest.fixture(scope="module")
def classifier():
    import keras

    keras.utils.set_random_seed(0)
    return keras_alexnet.AlexNet(variant="torchvision", classes=10)


@pytest.fixture(scope="module")
def calibration():
    return np.random.RandomState(1).normal(0, 1, (16, 224, 224, 3)).astype("float32")


def test_fp32_export_runs_in_openvino_and_matches_keras(small_model, tmp_path):
    path = export_model(small_model, tmp_path / "alexnet_ov", "openvino")
    assert sorted(p.name for p in path.iterdir()) == [EXPORT_MARKER, "model.bin", "model.xml"]
    x = sample_batch(small_model, 3, seed=5)
    expected = np.asarray(small_model(x))
    np.testing.assert_allclose(_run_in_openvino(path, x), expected, atol=1e-4, rtol=1e-4)
    assert np.abs(expected).max() > 1e-2
    # float32 weights, not OpenVINO's default fp16 compression (which would be half of this).
    assert (path / "model.bin").stat().st_size >= 0.95 * small_model.count_params() * 4
    assert is_earlier_export(path, "openvino") and not is_earlier_export(path, "saved_model")
    assert export_record(path)["precision"] == "fp32"
    assert [p.name for p in tmp_path.iterdir()] == ["alexnet_ov"]  # no staging left


def test_a_second_export_replaces_the_first_but_never_a_users_folder(small_model, tmp_path):
    path = export_model(small_model, tmp_path / "ov", "openvino")
    export_model(small_model, path, "openvino")  # an earlier OpenVINO export: replaced
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(ExistingOutputError):
        export_model(small_model, mine, "openvino")
    assert (mine / "notes.txt").read_text() == "keep"
    saved_model = export_model(small_model, tmp_path / "sm", "saved_model")
    with pytest.raises(ExistingOutputError):  # a SavedModel export is not an OpenVINO export
        export_model(small_model, saved_model, "openvino")
    assert json.loads((saved_model / EXPORT_MARKER).read_text())["format"] == "saved_model"


def test_int8_export_records_its_agreement_with_fp32(classifier, calibration, tmp_path):
    pytest.importorskip("nncf")
    from scipy.special import softmax  # an independent softmax / KL / cosine, not keras_alexnet.agreement
    from scipy.stats import entropy

    path = export_model(classifier, tmp_path / "int8", "openvino", precision="int8", calibration=calibration)
    record = export_record(path)
    assert record["precision"] == "int8" and record["int8_agreement"]["calibration_images"] == 16
    ops = [op.get_type_name() for op in ov.Core().read_model(str(path / "model.xml")).get_ops()]
    assert "FakeQuantize" in ops  # NNCF's int8 quantization points
    reference = np.asarray(classifier.predict(calibration, verbose=0), "float64")
    got = _run_in_openvino(path, calibration).astype("float64")
    top1 = np.mean(reference.argmax(1) == got.argmax(1))
    assert record["int8_agreement"]["top1"] == pytest.approx(top1) and top1 >= 0.75
    kl = np.mean([entropy(p, q) for p, q in zip(reference, got, strict=True)])
    assert record["int8_agreement"]["mean_kl"] == pytest.approx(kl, rel=1e-3, abs=1e-7)
    logits_ref, logits_got = np.log(reference), np.log(got)
    logits_ref -= logits_ref.mean(1, keepdims=True)
    logits_got -= logits_got.mean(1, keepdims=True)
    cosine = np.mean(
        np.sum(logits_ref * logits_got, 1) / (np.linalg.norm(logits_ref, axis=1) * np.linalg.norm(logits_got, axis=1))
    )
    assert record["int8_agreement"]["cosine"] == pytest.approx(cosine, rel=1e-6)
    np.testing.assert_allclose(softmax(np.log(got), axis=1), got, atol=1e-6)  # the export's outputs: a softmax


def test_int8_below_the_agreement_asked_for_is_not_written(classifier, calibration, tmp_path):
    pytest.importorskip("nncf")
    with pytest.raises(ExportMismatchError, match="calibration images .*the artifact was not written"):
        export_model(
            classifier, tmp_path / "int8", "openvino", precision="int8", calibration=calibration, min_agreement=1.01
        )
    assert list(tmp_path.iterdir()) == []


def test_bad_precision_arguments(small_model, calibration, tmp_path):
    with pytest.raises(ValueError, match="Received: format='onnx'"):
        export_model(small_model, tmp_path / "m", "onnx", precision="int8", calibration=calibration)
    with pytest.raises(ValueError, match="needs `calibration`"):
        export_model(small_model, tmp_path / "m", "openvino", precision="int8")
    with pytest.raises(ValueError, match="Received: precision='bf16'"):
        export_model(small_model, tmp_path / "m", "openvino", precision="bf16")
    bf16 = keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3), dtype="mixed_bfloat16")
    with pytest.raises(ValueError, match="OpenVINO export takes a float32 model"):
        export_model(bf16, tmp_path / "m", "openvino")
    assert list(tmp_path.iterdir()) == []


def _write_images(folder, count: int) -> None:
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(folder / f"{i}.png")


def test_cli_export_openvino_int8(tmp_path, capsys):
    pytest.importorskip("nncf")
    from keras_alexnet.cli.main import main

    _write_images(tmp_path / "calib", 8)
    out = tmp_path / "ov_int8"
    arguments = ["export", str(out), "--format", "openvino", "--weights", "none", "--no-top", "--input-size", "67"]
    assert main([*arguments, "--precision", "int8", "--calibration", str(tmp_path / "calib")]) == 0
    line = capsys.readouterr().out
    assert f"wrote {out} (openvino int8; agreement with fp32 on 8 calibration images: top-1" in line
    assert "logit cosine" in line and export_record(out)["int8_agreement"]["calibration_images"] == 8


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--precision", "int8"], "needs --calibration IMAGES"),
        (["--calibration", "x.png"], "are for --precision int8"),
        (["--precision", "int8", "--calibration", "x.png", "--format", "onnx"], "exports --format openvino"),
    ],
)
def test_cli_refuses_bad_int8_arguments(tmp_path, capsys, extra, message):
    from keras_alexnet.cli.main import main

    arguments = ["export", str(tmp_path / "o"), "--weights", "none", "--no-top", "--input-size", "67"]
    if "--format" not in extra:
        arguments += ["--format", "openvino"]
    assert main([*arguments, *extra]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "o").exists()
