"""fast_predictor agrees with model.predict on every runtime and precision (small inputs; speed is benchmarks/).

fp32: within 1e-4 relative to the largest output. bf16 / int8: top-1 agreement and a bounded difference. The
reference is `model.predict` of the float32 Keras model; OpenVINO runs its own compiled graph (Keras' export).
"""

from __future__ import annotations

import numpy as np
import pytest

CLASSES = 10


@pytest.fixture(scope="module")
def model():
    import keras

    import keras_alexnet

    keras.utils.set_random_seed(0)
    return keras_alexnet.AlexNet(variant="torchvision", classes=CLASSES, classifier_activation=None)


@pytest.fixture(scope="module")
def images():
    return np.random.RandomState(1).normal(0, 1, (16, 224, 224, 3)).astype("float32")


@pytest.fixture(scope="module")
def reference(model, images):
    return model.predict(images, verbose=0)


def _relative(got, reference) -> float:
    return float(np.abs(got - reference).max() / np.abs(reference).max())


@pytest.mark.parametrize("runtime", ["tensorflow", "openvino"])
def test_fp32_matches_model_predict(model, images, reference, runtime):
    from keras_alexnet.fast_predictor import fast_predictor

    if runtime == "openvino":
        pytest.importorskip("openvino")
    predictor = fast_predictor(model, "fp32", runtime, batch_size=6)  # 16 = 6 + 6 + 4: a short last batch
    got = predictor.predict(images)
    assert got.shape == reference.shape and got.dtype == np.float32
    assert _relative(got, reference) <= 1e-4
    assert predictor.runtime == runtime and predictor.inference_precision.startswith("f")


@pytest.mark.parametrize("runtime", ["tensorflow", "openvino"])
def test_bf16_agrees_on_top1_with_a_bounded_difference(model, images, reference, runtime):
    from keras_alexnet.fast_predictor import fast_predictor

    if runtime == "openvino":
        pytest.importorskip("openvino")
    got = fast_predictor(model, "bf16", runtime, batch_size=8).predict(images)
    assert np.mean(got.argmax(1) == reference.argmax(1)) >= 0.9
    assert _relative(got, reference) <= 0.03  # bf16 keeps 8 bits of mantissa


def test_int8_reports_its_agreement_with_fp32(model, images, reference):
    pytest.importorskip("nncf")
    from keras_alexnet.fast_predictor import fast_predictor

    predictor = fast_predictor(model, "int8", "openvino", calibration=images, batch_size=8)
    got = predictor.predict(images)
    agreement = float(np.mean(got.argmax(1) == reference.argmax(1)))
    assert predictor.agreement == pytest.approx(agreement)
    assert agreement >= 0.75
    assert _relative(got, reference) <= 0.1
    assert predictor.inference_precision.endswith("+ int8")
    # The three measures, recomputed here: logits (classifier_activation=None) -> no KL, cosine of the raw logits.
    metrics = predictor.agreement_metrics
    assert metrics["top1"] == predictor.agreement and metrics["mean_kl"] is None
    ref, out = reference.astype("float64"), got.astype("float64")
    cosine = np.mean(np.sum(ref * out, 1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(out, axis=1)))
    assert metrics["cosine"] == pytest.approx(cosine, rel=1e-6) and 0.9 < cosine <= 1.0


def test_auto_measures_each_runtime_and_keeps_the_fastest(model, images, reference):
    pytest.importorskip("openvino")
    from keras_alexnet.fast_predictor import fast_predictor

    predictor = fast_predictor(model, "fp32", "auto", batch_size=8)
    assert set(predictor.measurements) == {"tensorflow", "openvino"}
    assert predictor.runtime == max(predictor.measurements, key=predictor.measurements.get)
    assert _relative(predictor.predict(images), reference) <= 1e-4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"precision": "int4"}, r"`precision` must be one of .*Received: precision='int4'"),
        ({"runtime": "tensorrt"}, r"`runtime` must be one of .*Received: runtime='tensorrt'"),
        ({"precision": "int8", "runtime": "tensorflow"}, r"int8 goes through OpenVINO/NNCF.*runtime='tensorflow'"),
        ({"batch_size": 0}, r"Received: batch_size=0"),
    ],
)
def test_bad_arguments_name_the_problem(model, kwargs, match):
    from keras_alexnet.fast_predictor import fast_predictor

    with pytest.raises(ValueError, match=match):
        fast_predictor(model, **{"precision": "fp32", "runtime": "tensorflow", **kwargs})


def test_int8_without_calibration_and_a_wrong_shape_are_refused(model):
    pytest.importorskip("nncf")
    from keras_alexnet.fast_predictor import fast_predictor

    with pytest.raises(ValueError, match=r"needs `calibration`.*Received: calibration=None"):
        fast_predictor(model, "int8", "openvino")
    predictor = fast_predictor(model, "fp32", "tensorflow")
    with pytest.raises(ValueError, match=r"shape \(N, 224, 224, 3\).*Received: shape \(2, 227, 227, 3\)"):
        predictor.predict(np.zeros((2, 227, 227, 3), "float32"))


def test_an_empty_batch_gives_an_empty_output_of_the_models_shape(model):
    from keras_alexnet.fast_predictor import fast_predictor

    got = fast_predictor(model, "fp32", "tensorflow").predict(np.zeros((0, 224, 224, 3), "float32"))
    assert got.shape == (0, CLASSES) == (0, *model.output_shape[1:])  # (model.predict of no images fails in Keras)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from PIL import Image

    folder = tmp_path_factory.mktemp("photos")
    for i in range(4):
        Image.fromarray(np.random.RandomState(i).randint(0, 256, (260, 300, 3)).astype("uint8")).save(
            folder / f"{i}.png"
        )
    return folder


def _predict_json(argv, capsys) -> tuple[dict, str]:
    import json

    from keras_alexnet.cli.main import main

    assert main(["predict", *argv, "--weights", "none", "--variant", "torchvision", "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out)["predictions"], captured.err  # stdout is the JSON document alone


def test_predict_runtime_gives_the_keras_labels(photos, capsys):
    keras_labels, _ = _predict_json([str(photos)], capsys)
    fast_labels, err = _predict_json([str(photos), "--runtime", "tensorflow"], capsys)
    assert "runtime tensorflow, fp32 (computes in float32)" in err
    for key, labels in keras_labels.items():
        assert [label["index"] for label in labels] == [label["index"] for label in fast_labels[key]]
        for ours, theirs in zip(labels, fast_labels[key], strict=True):
            assert ours["score"] == pytest.approx(theirs["score"], abs=1e-5)


def test_predict_int8_reports_the_agreement_on_its_calibration_images(photos, capsys):
    pytest.importorskip("nncf")
    labels, err = _predict_json([str(photos / "0.png"), "--precision", "int8", "--calibration", str(photos)], capsys)
    assert list(labels) and "runtime openvino, int8" in err
    assert "top-1 agreement with fp32" in err and "on 4 calibration images" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--precision", "int8"], "--precision int8 needs --calibration IMAGES"),
        (["--calibration", "x"], "--calibration is for --precision int8"),
        (["--runtime", "tensorflow", "--precision", "fp16"], "--runtime runs --precision fp32, bf16 or int8"),
    ],
)
def test_predict_runtime_errors_are_one_line(photos, capsys, argv, message):
    from keras_alexnet.cli.main import main

    assert main(["predict", str(photos / "0.png"), "--weights", "none", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
