"""A core install (`pip install keras-alexnet`, no extras) converts the primary original of `weights="imagenet"`.

The ONNX original (`bvlcalexnet-12.onnx`) is read with protobuf alone, so neither the onnx package nor torch
nor onnxruntime is needed to convert it. Two checks:

- in this (test) environment, a child process in which onnx, onnxruntime and torch cannot be imported reads a
  stand-in ONNX file and reports which converters `keras_alexnet.weights.fetch` finds available;
- in the core-only virtual environment that `.ci/setup` creates (`.venv-core`: `pip install -e .`, no extras;
  another one can be named with KERAS_ALEXNET_CORE_VENV), a random-weight BVLC-structured stand-in is converted
  into a checkpoint and loaded with `AlexNet(weights=DIR)`; its logits on real photographs are compared with
  ONNX Runtime run here (the independent reference); `keras-alexnet predict --weights DIR --json` run there on a
  real photograph gives the top-5 that `AlexNet(weights=DIR)` gives here; and a command whose extra is missing
  (`plot`, the `[analysis]` extra's matplotlib) exits 1 with one line naming the extra. Skipped, with the reason,
  where that venv does not exist.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import max_abs_err, small_bvlc_weights

onnx = pytest.importorskip("onnx")  # the stand-ins are written by onnx, an independent writer
pytest.importorskip("onnxruntime")

REPO = Path(__file__).resolve().parents[2]
CORE_VENV_ENV = "KERAS_ALEXNET_CORE_VENV"
#: What a core install must not have: the `train`, `analysis`, `convert`, `export` and `test` extras' packages.
NOT_CORE = ("torch", "onnx", "onnxruntime", "tf2onnx", "jax", "tensorflow_datasets", "tensorboard", "sklearn")
NOT_CORE += ("matplotlib", "keras_hub")
CHILD_TIMEOUT_S = 600


def _child_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    return env


def _run_command(argv: list, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(map(os.fspath, argv)), cwd=cwd, env=_child_env(), capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )


def _run(python: str | Path, script: str, *args, cwd: Path) -> dict:
    """Run `script` with `python`; it prints one JSON line last, which is returned."""
    done = _run_command([python, "-c", script, *args], cwd=cwd)
    assert done.returncode == 0, f"child failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


_WITHOUT_EXTRAS = """
import importlib.abc, json, sys

class NotInstalled(importlib.abc.MetaPathFinder):  # `import onnx` (onnxruntime, torch) fails, as in a core install

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("onnx", "onnxruntime", "torch"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)

sys.meta_path.insert(0, NotInstalled())
import numpy as np
from keras_alexnet.convert.onnx_converter import source_weights_from_onnx
from keras_alexnet.convert.api import converter_available
source = source_weights_from_onnx(sys.argv[1])
np.savez(sys.argv[2], *[a for pair in (*source.convs, *source.denses) for a in pair])
print(json.dumps({f: converter_available(f) for f in ("onnx", "caffe", "torchvision")}))
"""


@pytest.mark.slow
def test_onnx_converter_needs_neither_onnx_nor_torch(tmp_path):
    """The converter module imports and reads a file onnx wrote with onnx, onnxruntime and torch unimportable;
    `fetch` then offers the ONNX and Caffe originals and skips torchvision's, whose `.pth` needs torch."""
    from fixtures.reference_models import BVLC_CONVS, BVLC_DENSES, build_bvlc_like_onnx

    weights = small_bvlc_weights(seed=9)
    onnx.save(build_bvlc_like_onnx(weights), tmp_path / "standin.onnx")
    available = _run(sys.executable, _WITHOUT_EXTRAS, tmp_path / "standin.onnx", tmp_path / "read.npz", cwd=tmp_path)
    assert available == {"onnx": True, "caffe": True, "torchvision": False}
    read = np.load(tmp_path / "read.npz")
    names = [f"{layer}_{p}" for layer, *_ in (*BVLC_CONVS, *BVLC_DENSES) for p in "wb"]
    for index, name in enumerate(names):
        np.testing.assert_array_equal(read[f"arr_{index}"], weights[name])  # (out, in) dense weights, OIHW kernels


def core_venv_python() -> Path:
    """The Python of the core-only venv: $KERAS_ALEXNET_CORE_VENV, else `.venv-core` in the repository."""
    venv = Path(os.environ.get(CORE_VENV_ENV) or REPO / ".venv-core")
    return venv / "bin" / "python"


_CHECK_VENV = f"""
import importlib.util, json
spec = importlib.util.find_spec("keras_alexnet")
print(json.dumps({{
    "present": [m for m in {NOT_CORE!r} if importlib.util.find_spec(m) is not None],
    "keras_alexnet": spec.origin if spec else None,
}}))
"""

_CONVERT_AND_LOAD = """
import json, sys, warnings
import numpy as np
import keras_alexnet
from keras_alexnet.convert import UnverifiedOriginalWarning, convert_file
from keras_alexnet.convert.api import converter_available
src, out, batch, logits = sys.argv[1:5]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UnverifiedOriginalWarning)  # a stand-in, not the published file
    convert_file(src, out)
model = keras_alexnet.AlexNet(weights=out, classifier_activation=None)
np.save(logits, model.predict(np.load(batch), verbose=0))
import keras
backbone = keras.saving.load_model(out)  # the checkpoint's config.json: the conv stack, without keras_hub
same = bool((backbone.get_layer("conv1").get_weights()[0] == model.get_layer("conv1").get_weights()[0]).all())
print(json.dumps({
    "load_model": [type(backbone).__name__, list(backbone.output.shape[1:]), same],
    "available": {f: converter_available(f) for f in ("onnx", "caffe", "torchvision")},
    "imported": sorted(m for m in ("onnx", "onnxruntime", "torch") if m in sys.modules),
    "input_shape": list(model.input_shape[1:]),
}))
"""


@pytest.fixture(scope="module")
def core_python(tmp_path_factory) -> Path:
    """The core-only venv's Python, checked to be core-only and to import this checkout (skip where it is missing)."""
    python = core_venv_python()
    if not python.is_file():
        pytest.skip(
            f"no core-only virtual environment at {python.parent.parent}: run `bash .ci/setup` (it creates "
            f"`.venv-core` with `pip install -e .` and no extras), or point {CORE_VENV_ENV} at one"
        )
    venv = _run(python, _CHECK_VENV, cwd=tmp_path_factory.mktemp("core_venv"))
    assert venv["present"] == [], (
        f"{python.parent.parent} is not a core-only install: it has {venv['present']} (extras' packages); "
        "rerun `bash .ci/setup` (it removes the packages that left the core), or recreate it with "
        "`python3.11 -m venv .venv-core && .venv-core/bin/pip install -e .`"
    )
    assert venv["keras_alexnet"] and Path(venv["keras_alexnet"]).resolve().is_relative_to(REPO), (
        f"{python.parent.parent} imports keras_alexnet from {venv['keras_alexnet']}, not from this checkout "
        f"({REPO}); rerun `bash .ci/setup` here"
    )
    return python


@pytest.fixture(scope="module")
def core_conversion(core_python, tmp_path_factory, caffe_batch) -> dict:
    """A random BVLC-structured ONNX stand-in converted in the core venv: graph, checkpoint, child report, logits."""
    from fixtures.reference_models import build_bvlc_like_onnx, random_bvlc_weights

    tmp_path = tmp_path_factory.mktemp("core_conversion")
    # As the zoo file: declared 224x224 and batch 1, the original's file name (so a checksum mismatch warning).
    graph = build_bvlc_like_onnx(random_bvlc_weights(seed=5), input_size=224, batch_size=1, logits_output=True)
    src = tmp_path / "bvlcalexnet-12.onnx"
    onnx.save(graph, src)
    np.save(tmp_path / "batch.npy", caffe_batch)
    child = _run(core_python, _CONVERT_AND_LOAD, src, tmp_path / "ckpt", tmp_path / "batch.npy",
                 tmp_path / "logits.npy", cwd=tmp_path)  # fmt: skip
    return {"graph": graph, "checkpoint": tmp_path / "ckpt", "child": child, "logits": np.load(tmp_path / "logits.npy")}


@pytest.mark.slow
def test_core_install_converts_the_onnx_original_and_matches_onnxruntime(core_conversion, caffe_batch):
    import onnxruntime as ort

    graph, child = core_conversion["graph"], core_conversion["child"]
    assert child["available"] == {"onnx": True, "caffe": True, "torchvision": False}
    assert child["imported"] == [] and child["input_shape"] == [227, 227, 3]
    assert child["load_model"] == ["AlexNetBackboneModel", [6, 6, 256], True]

    runnable = onnx.ModelProto.FromString(graph.SerializeToString())
    dims = runnable.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = dims[3].dim_value = 227  # the declared 224 cannot run (see onnx_converter)
    session = ort.InferenceSession(runnable.SerializeToString(), providers=["CPUExecutionProvider"])
    nchw = caffe_batch.transpose(0, 3, 1, 2)
    expected = np.concatenate([session.run(["fc8_1"], {"data_0": x[None].copy()})[0] for x in nchw])
    logits = core_conversion["logits"]
    assert np.std(expected) > 0.5
    assert max_abs_err(logits, expected) <= 1e-4
    assert (logits.argmax(1) == expected.argmax(1)).all()


@pytest.mark.slow
def test_core_install_classifies_an_image_with_a_local_checkpoint(core_python, core_conversion, sample_image_paths,
                                                                  tmp_path):  # fmt: skip
    """`keras-alexnet predict IMAGE --weights DIR --json` in the core venv: the top-5 of `AlexNet(weights=DIR)` here."""
    import keras_alexnet
    from keras_alexnet.eval_preprocessing import eval_preprocessing
    from keras_alexnet.image_io import load_image
    from keras_alexnet.preprocessing import preprocess_for

    image, checkpoint = sample_image_paths[0], core_conversion["checkpoint"]
    cli = core_python.parent / "keras-alexnet"
    done = _run_command([cli, "predict", image, "--weights", checkpoint, "--json", "--no-progress"], cwd=tmp_path)
    assert done.returncode == 0, f"predict failed (exit {done.returncode}):\n{done.stderr[-4000:]}"
    (top,) = json.loads(done.stdout)["predictions"].values()

    model = keras_alexnet.AlexNet(weights=str(checkpoint))
    network = keras_alexnet.network_record(model)
    spec = eval_preprocessing(network)
    pixels = load_image(image, size=spec.crop, resize=spec.resize, resize_mode=spec.resize_mode)
    probabilities = model.predict(preprocess_for(pixels[None], network), verbose=0)[0]
    expected = np.sort(probabilities)[::-1][:5]
    assert len(top) == 5 and expected[0] > 10 * expected[4]  # a peaked distribution: the ranking means something
    np.testing.assert_allclose([row["score"] for row in top], expected, rtol=0, atol=1e-5)
    # Each class the CLI named has that probability here (robust to near-ties swapping order within 1e-5).
    np.testing.assert_allclose([probabilities[row["index"]] for row in top], expected, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_core_install_names_the_missing_extra_in_one_line(core_python, tmp_path):
    """`keras-alexnet plot` needs matplotlib (`[analysis]`): exit 1, one error line naming the extra, no traceback."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "log.csv").write_text("epoch,loss,val_loss\n0,2.0,2.5\n1,1.5,2.0\n")
    done = _run_command([core_python.parent / "keras-alexnet", "plot", run_dir], cwd=tmp_path)
    # TensorFlow's own C++ log lines (absl, oneDNN) may precede it; the package's lines start with the program name.
    errors = [line for line in done.stderr.splitlines() if line.startswith("keras-alexnet")]
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert errors == [
        "keras-alexnet plot: error: Plotting a run's curves needs the Python package 'matplotlib', which is not "
        'installed. Install it with `pip install "keras-alexnet[analysis]"`. Received: import matplotlib'
    ], done.stderr[-3000:]
    assert not (run_dir / "curves.png").exists()
