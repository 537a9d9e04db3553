"""Fixtures of the weights tests: a Hub-compatible server on 127.0.0.1 and small checkpoints.

tests/conftest.py reserves the server's port and points HF_ENDPOINT at it before
huggingface_hub is imported anywhere; the server is started here on that port.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hub_server import HubServer  # noqa: E402

#: A torchvision-variant network with a 10-class top: the smallest full checkpoint the format allows.
CLASSES = 10


@pytest.fixture(scope="session")
def hub() -> HubServer:
    server = HubServer(port=int(os.environ["KERAS_ALEXNET_TEST_HUB_PORT"])).start()
    assert os.environ["HF_ENDPOINT"] == server.endpoint
    yield server
    server.stop()


@pytest.fixture
def live_hub(hub):
    """The server, running, with its fault injections cleared after the test."""
    if hub._httpd is None:
        hub.start()
    yield hub
    hub.corrupt.clear()
    hub.truncate.clear()
    hub.truncate_once.clear()
    if hub._httpd is None:
        hub.start()


@pytest.fixture
def hub_retry_waits(monkeypatch) -> list[float]:
    """huggingface_hub's waits between retries, recorded instead of slept; the retries themselves still happen.

    Its back-off (1, 2, 4, 8, 8 s for a refused connection; 1 s before each resumed download) is what users
    wait; the tests check the retries and the final error, not the clock. Returns the list of the waits.
    """
    import time

    import huggingface_hub.file_download
    import huggingface_hub.utils._http

    waits: list[float] = []

    class _Clock:
        def __getattr__(self, name):
            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            waits.append(seconds)

    for module in (huggingface_hub.file_download, huggingface_hub.utils._http):
        assert module.time is time, module  # huggingface_hub still calls `time.sleep` there
        monkeypatch.setattr(module, "time", _Clock())
    return waits


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path, monkeypatch):
    """Fresh checkpoint and Hub caches per test (removed with `tmp_path`), online unless a test says otherwise."""
    import huggingface_hub.constants

    monkeypatch.setenv("KERAS_ALEXNET_CACHE", str(tmp_path / "keras_alexnet_cache"))
    # `hf_hub_download` reads this constant at call time; HF_HOME itself is read only once, at import.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf_hub_cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.fixture(scope="session")
def network():
    from keras_alexnet.weights.network import NetworkRecord

    return NetworkRecord(variant="torchvision", classes=CLASSES)


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory, network):
    """A checkpoint directory of random weights, and the weights themselves."""
    import keras

    import keras_alexnet
    from keras_alexnet.weights.checkpoint import save_checkpoint

    keras.utils.set_random_seed(1)
    model = keras_alexnet.AlexNet(variant="torchvision", classes=CLASSES)
    directory = save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "alexnet-test", network)
    return directory, [np.asarray(w) for w in model.get_weights()]


@pytest.fixture
def repo_id() -> str:
    """A fresh repository name (the Hugging Face cache is shared by the whole session)."""
    return f"test-org/alexnet-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def pushed(live_hub, checkpoint, repo_id):
    """`repo_id` on the server, holding `checkpoint`; returns the PushResult."""
    from keras_alexnet.weights.publish import push_to_hub

    return push_to_hub(checkpoint[0], repo_id)


@pytest.fixture(scope="session")
def assert_same_weights():
    """Check a model holds exactly (bit for bit) the given weights."""

    def check(model, weights) -> None:
        got = model.get_weights()
        assert len(got) == len(weights)
        for a, b in zip(got, weights, strict=True):
            np.testing.assert_array_equal(np.asarray(a), b)

    return check
