"""Run every backend-matrix cell under the backend KERAS_BACKEND names; print one JSON object of results.

Usage: python backend_worker.py WORKDIR   (WORKDIR holds weights.weights.h5, x.npy, expected.npy, model.keras
and image.jpg, written by the TensorFlow process in test_backend_matrix.py). Each cell is "ok" or the first line
of the error the user gets.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from pathlib import Path

import numpy as np

work = Path(sys.argv[1])
results: dict[str, str] = {}
SIZE = 67


def cell(name):
    def run(fn):
        try:
            fn()
            results[name] = "ok"
        except Exception as error:  # the cell records what the user would see
            text = str(error).strip().splitlines()
            results[name] = f"{type(error).__name__}: {text[0] if text else ''}"
            results[name + ".traceback"] = traceback.format_exc()[-2000:]
        return fn

    return run


import keras  # noqa: E402

import keras_alexnet  # noqa: E402

backend = keras.backend.backend()
assert backend == os.environ["KERAS_BACKEND"], backend
x = np.load(work / "x.npy")
expected = np.load(work / "expected.npy")
state = {}


# Keras' OpenVINO backend compiles `predict` with OpenVINO's default precision, bfloat16 on CPUs with bf16 units
# (5e-3 of the largest output here); a direct call, like every other backend, is float32.
PREDICT_RTOL = 2e-2 if backend == "openvino" else 1e-4


def close(a, b, rtol: float = 1e-4) -> None:
    np.testing.assert_allclose(np.asarray(a), b, rtol=0, atol=rtol * float(np.abs(b).max()))


@cell("build")
def _():
    state["model"] = keras_alexnet.AlexNet(include_top=False, input_shape=(SIZE, SIZE, 3), pooling="avg")
    keras_alexnet.AlexNet(include_top=False, input_shape=(SIZE, SIZE, 3), variant="torchvision")


@cell("load weights")
def _():
    state["model"].load_weights(work / "weights.weights.h5")
    close(keras.ops.convert_to_numpy(state["model"](x)), expected)


@cell("predict")
def _():
    close(state["model"].predict(x, verbose=0), expected, PREDICT_RTOL)


@cell("fit")
def _():
    features = keras_alexnet.AlexNet(include_top=False, input_shape=(SIZE, SIZE, 3), pooling="avg")
    model = keras.Sequential([features, keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=keras.losses.SparseCategoricalCrossentropy(True))
    before = keras.ops.convert_to_numpy(model.layers[-1].kernel).copy()
    history = model.fit(x, np.array([0, 1, 2, 0][: len(x)]), epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.array_equal(keras.ops.convert_to_numpy(model.layers[-1].kernel), before)


@cell("save/load")
def _():
    # The .keras file TensorFlow wrote, then one written here, each loaded with keras.saving.load_model.
    close(keras.saving.load_model(work / "model.keras").predict(x, verbose=0), expected, PREDICT_RTOL)
    path = work / f"{backend}.keras"
    state["model"].save(path)
    close(keras.saving.load_model(path).predict(x, verbose=0), expected, PREDICT_RTOL)


@cell("distributed training")
def _():
    if backend == "tensorflow":
        import tensorflow as tf

        scope = tf.distribute.MirroredStrategy(tf.config.list_logical_devices("CPU")[:2]).scope()
    else:
        devices = keras.distribution.list_devices("cpu")
        assert len(devices) == 2, devices  # XLA_FLAGS / two host devices, set by the test
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        scope = contextlib.nullcontext()
    with scope:
        features = keras_alexnet.AlexNet(include_top=False, input_shape=(SIZE, SIZE, 3), pooling="avg")
        model = keras.Sequential([features, keras.layers.Dense(3)])
        model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(True))
    history = model.fit(x, np.array([0, 1, 2, 0]), epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    if backend != "tensorflow":
        keras.distribution.set_distribution(None)


@cell("data pipelines")
def _():
    from keras_alexnet.data import load_source, make_train_dataset

    dataset = make_train_dataset(
        load_source("digits", limit=8), batch_size=4, image_size=SIZE, resize=72, pca_std=0, shuffle_buffer=8
    )
    features = keras_alexnet.AlexNet(include_top=False, input_shape=(SIZE, SIZE, 3), pooling="avg")
    model = keras.Sequential([features, keras.layers.Dense(10)])
    if backend == "openvino":  # inference only: the pipeline feeds predict
        assert model.predict(dataset.map(lambda images, labels: images), verbose=0).shape == (8, 10)
        return
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(True))
    history = model.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def cli(*argv: str) -> str:
    """Run `keras-alexnet ARGV` in this process; its stdout, or a RuntimeError with its (one-line) error."""
    from keras_alexnet.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    if code != 0:
        lines = [line for line in err.getvalue().splitlines() if not line.startswith("warning:")]
        assert len(lines) == 1, lines  # one line, never a traceback
        raise RuntimeError(lines[0])
    return out.getvalue()


@cell("export")
def _():
    # `keras-alexnet export` (export_model: Keras' model.export, then the artifact checked in its runtime).
    cli("export", str(work / f"{backend}_export"), "--weights", "none", "--no-top", "--input-size", str(SIZE))


@cell("CLI")
def _():
    out = cli("predict", str(work / "image.jpg"), "--weights", "none", "--variant", "torchvision")
    assert "image.jpg" in out, out


print("RESULTS " + json.dumps(results))
