"""Shared pytest set-up: quiet TensorFlow, isolated caches, offline Hugging Face Hub by default."""

from __future__ import annotations

import atexit
import gc
import importlib.util
import os
import shutil
import socket
import tempfile

# Before TensorFlow, Keras or huggingface_hub are imported anywhere.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# The temp folder the run started with: xdist's workers inherit the TMPDIR set below, and nesting their folders in
# it made paths too long for Chromium's socket (108 bytes).
_ORIGINAL_TMP = os.environ.setdefault("KERAS_ALEXNET_TEST_ORIGINAL_TMP", tempfile.gettempdir())
_CACHE_ROOT = tempfile.mkdtemp(prefix="keras_alexnet_test_cache_", dir=_ORIGINAL_TMP)
# Checkpoints are ~230 MB each: the run removes its caches when it ends, so repeated runs do not fill the disk.
atexit.register(shutil.rmtree, _CACHE_ROOT, ignore_errors=True)
# What the libraries the tests drive leave in the temp folder (Beam's beam-temp*, TFDS's tmp*tfds, TensorFlow's
# autograph files, ...), here and in every subprocess (TMPDIR), goes to a folder of this run, removed with the caches:
# /tmp is left as it was. pytest's own tmp_path folders stay in the original temp folder (failed tests' are kept).
os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", _ORIGINAL_TMP)
_RUN_TMP = os.path.join(_CACHE_ROOT, "tmp")
os.makedirs(_RUN_TMP)
os.environ["TMPDIR"] = _RUN_TMP
tempfile.tempdir = _RUN_TMP


os.environ["KERAS_ALEXNET_CACHE"] = os.path.join(_CACHE_ROOT, "keras_alexnet")
if "HF_HOME" not in os.environ or os.environ.get("KERAS_ALEXNET_TEST_HF_HOME") == os.environ["HF_HOME"]:
    # Ours, not the user's: one per process (an xdist worker does not share the controller's).
    os.environ["HF_HOME"] = os.environ["KERAS_ALEXNET_TEST_HF_HOME"] = os.path.join(_CACHE_ROOT, "hf_home")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
# The tests' Hub is a local server (tests/weights/hub_server.py) on a port reserved now: huggingface_hub
# reads HF_ENDPOINT once, when first imported. A dummy token, so no real token is ever sent anywhere.
with socket.socket() as _sock:
    _sock.bind(("127.0.0.1", 0))
    os.environ["KERAS_ALEXNET_TEST_HUB_PORT"] = str(_sock.getsockname()[1])
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{os.environ['KERAS_ALEXNET_TEST_HUB_PORT']}"
os.environ["HF_TOKEN"] = "hf_keras_alexnet_dummy_test_token"

# Offline mode is switched on per test (monkeypatch); huggingface_hub must not freeze it at import time, so
# it is imported here, once, with offline mode off: the only "network" the tests use is loopback.
os.environ.pop("HF_HUB_OFFLINE", None)
import huggingface_hub.constants  # noqa: E402, F401  (the package itself imports lazily)
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def _rss_mib() -> float | None:
    """This process's resident memory (Linux), or None where /proc is not available."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return None


_GC_AFTER_GROWTH_MIB = 1024
_rss_after_last_gc = 0.0


@pytest.fixture(autouse=True)
def _collect_dropped_models():
    """Free the models a test dropped once the process has grown by 1 GB.

    A Keras model is a web of reference cycles, so only Python's full collection frees its weights (about
    250 MB for AlexNet), and with TensorFlow's half-million long-lived objects that collection rarely runs:
    without this the test run grew past 24 GB and was killed. A full collection costs about 0.3 s, so it
    runs only after growth, not after every test.
    """
    global _rss_after_last_gc
    yield
    rss = _rss_mib()
    if rss is None or rss - _rss_after_last_gc > _GC_AFTER_GROWTH_MIB:
        gc.collect()
        _rss_after_last_gc = _rss_mib() or 0.0


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def sample_image_paths():
    """Two real photographs shipped by scikit-learn (china.jpg, flower.jpg)."""
    from keras_alexnet.samples import sample_image_paths

    return sample_image_paths()


@pytest.fixture(scope="session")
def quickstart_run(tmp_path_factory):
    """One `keras-alexnet quickstart` (seed 0, ~4-5 minutes), shared by its own tests and the explore tests."""
    from keras_alexnet.cli.main import main

    run_dir = tmp_path_factory.mktemp("quickstart") / "run"
    assert main(["quickstart", "--run-dir", str(run_dir), "--verbose", "0"]) == 0
    return run_dir


#: The test files that use the quickstart fixture (minutes to make): one xdist work unit, sent first, so it is
#: made once. `pytest_collection_modifyitems` checks that no other file uses it.
_QUICKSTART_FILES = ("tests/explore/", "tests/training/test_quickstart.py")


def _work_unit(nodeid: str) -> str:
    """The xdist work unit of a test: its file, or "quickstart" for `_QUICKSTART_FILES`."""
    path = nodeid.split("::", 1)[0]
    return "quickstart" if path.startswith(_QUICKSTART_FILES) else path


def pytest_collection_modifyitems(config, items):
    """The quickstart's tests first (the longest work unit starts at once under `pytest -n 2`)."""
    strays = [item.nodeid for item in items if "quickstart_run" in item.fixturenames and
              _work_unit(item.nodeid) != "quickstart"]  # fmt: skip
    if strays:
        raise pytest.UsageError(f"tests use quickstart_run outside _QUICKSTART_FILES (tests/conftest.py): {strays}")
    items.sort(key=lambda item: _work_unit(item.nodeid) != "quickstart")  # stable: the rest keep their order


if importlib.util.find_spec("xdist") is not None:

    def pytest_xdist_make_scheduler(config, log):
        """README's `pytest -n 2`: one work unit per test file (module fixtures built once), and the quickstart's."""
        from xdist.scheduler import LoadScopeScheduling

        class FileScheduling(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return _work_unit(nodeid)

        return FileScheduling(config, log)
