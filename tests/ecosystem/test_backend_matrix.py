"""The README's backend matrix, cell by cell: each backend in its own process (KERAS_BACKEND), small models.

`backend_worker.py` runs every cell under one backend and reports "ok" or the first line of the error the user
gets; `MATRIX` is what each cell must give, and README.md's "Backend matrix" table must say the same. The
feature extractor at 67x67 (LRN and both tower layers) stands in for the full network; the JAX/PyTorch parity of
the full network at 99x99 is tests/core/test_backends.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras_alexnet

CELLS = ("build", "load weights", "predict", "fit", "save/load", "distributed training", "data pipelines",
         "export", "CLI")  # fmt: skip
BACKENDS = ("tensorflow", "jax", "torch", "openvino")
_NO_DISTRIBUTION = "AttributeError: 'NoneType' object has no attribute 'list_devices'"


def _export_refused(backend: str) -> str:
    return (
        "RuntimeError: keras-alexnet export: error: Exporting saved_model needs the TensorFlow backend: run with "
        f"KERAS_BACKEND=tensorflow (the exported model is the same whichever backend trained it). "
        f"Received: KERAS_BACKEND={backend}"
    )


#: backend -> cell -> "ok" or the exact one-line error.
MATRIX = {
    "tensorflow": dict.fromkeys(CELLS, "ok"),
    "jax": dict.fromkeys(CELLS, "ok"),
    "torch": {
        **dict.fromkeys(CELLS, "ok"),
        "distributed training": _NO_DISTRIBUTION,
        "export": _export_refused("torch"),
    },
    "openvino": {
        **dict.fromkeys(CELLS, "ok"),
        "fit": "NotImplementedError: `fit` is not supported with openvino backend",
        "distributed training": _NO_DISTRIBUTION,
        "export": _export_refused("openvino"),
    },
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """What the TensorFlow process hands every backend: weights, a .keras file, inputs, outputs, a photo."""
    work = tmp_path_factory.mktemp("backends")
    model = keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3), pooling="avg")
    model.save_weights(work / "weights.weights.h5")
    model.save(work / "model.keras")
    x = np.random.default_rng(0).uniform(-120, 130, (4, 67, 67, 3)).astype("float32")
    np.save(work / "x.npy", x)
    np.save(work / "expected.npy", np.asarray(model(x)))
    from keras_alexnet.samples import sample_image_paths

    shutil.copy(sample_image_paths()[0], work / "image.jpg")
    return work


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_matrix_row(workdir, backend):
    pytest.importorskip(backend)
    env = dict(os.environ, KERAS_BACKEND=backend, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    worker = Path(__file__).with_name("backend_worker.py")
    run = subprocess.run(
        [sys.executable, str(worker), str(workdir)], env=env, capture_output=True, text=True, timeout=600
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULTS ")]
    assert run.returncode == 0 and lines, run.stderr[-3000:]
    results = json.loads(lines[-1][len("RESULTS ") :])
    cells = {cell: results[cell] for cell in CELLS}
    tracebacks = {k: v for k, v in results.items() if k.endswith(".traceback") and MATRIX[backend][k[:-10]] == "ok"}
    assert cells == MATRIX[backend], tracebacks


def test_readme_states_the_matrix():
    """README.md's table has a row per cell and a column per backend, "yes" for "ok", else the error line."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Backend matrix", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("|--")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header == ["", "TensorFlow", "JAX", "PyTorch", "OpenVINO"]
    table = {}
    for row in rows[1:]:
        name, *values = [c.strip() for c in row.strip("|").split("|")]
        table[name.strip("*")] = values
    assert list(table) == list(CELLS)
    for cell, values in table.items():
        for backend, value in zip(BACKENDS, values, strict=True):
            expected = MATRIX[backend][cell]
            if expected == "ok":
                assert value.startswith("yes"), (cell, backend, value)
            else:
                assert value.startswith("not supported"), (cell, backend, value)
                # The README quotes the message the user gets (without the exception's class).
                message = expected.split(": ", 1)[1].removeprefix("keras-alexnet export: error: ")
                assert message.split(" (")[0].replace("`", "") in value.replace("`", ""), (cell, backend, value)


@pytest.mark.parametrize(
    "backend,format,refused",
    [("jax", "saved_model", False), ("jax", "onnx", True), ("jax", "litert", True), ("jax", "serving", True),
     ("torch", "saved_model", True), ("openvino", "onnx", True), ("tensorflow", "litert", False)],
)  # fmt: skip
def test_export_backend_check(monkeypatch, backend, format, refused):
    """The export cell's finer print: JAX exports saved_model only (its ONNX/LiteRT fail inside tf2onnx/Keras)."""
    import keras

    from keras_alexnet.export import check_backend

    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    if not refused:
        check_backend(format)
        return
    with pytest.raises(ValueError, match=rf"Exporting {format} needs the TensorFlow backend.*KERAS_BACKEND={backend}$"):
        check_backend(format)
