"""`weights="<registry name>"` before anything is on the Hub: download the original, verify, convert, cache.

A local HTTP server stands in for download.pytorch.org and serves a torchvision
state dict of random weights (same structure as alexnet-owt-7be5be79.pth). The
record's mirrors point at it (`dataclasses.replace`), registered under the real
name with `register_weights` for the duration of a test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import socket

import numpy as np
import pytest
from origin_server import OriginServer

import keras_alexnet
from keras_alexnet.convert.api import converter_available
from keras_alexnet.pretrained import fetch_from_file, fetch_registered
from keras_alexnet.weights.cache import cache_dir, checkpoint_cache_dir
from keras_alexnet.weights.fetch import download_original
from keras_alexnet.weights.registry import Original, get_weights_record, register_weights
from keras_alexnet.weights.resolve import WeightsUnavailableError

NAME = "torchvision_imagenet1k"


@pytest.fixture(scope="module")
def standin():
    """(bytes of a torch.save'd random torchvision state dict, the state dict as NumPy)."""
    import torch
    from fixtures.reference_models import random_torchvision_state_dict

    state = random_torchvision_state_dict(seed=3)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue(), {k: v.numpy() for k, v in state.items()}


@pytest.fixture(scope="module")
def origin(standin):
    server = OriginServer({"/models/alexnet-standin.pth": standin[0]}).start()
    yield server
    server.stop()


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/alexnet.pth"


def _original(url: str, data: bytes, **overrides) -> Original:
    fields = dict(
        url=url,
        format="torchvision",
        filename="alexnet-standin.pth",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )
    fields.update(overrides)
    return Original(**fields)


@pytest.fixture
def registered():
    """Register a modified record under the real name for one test, then restore the original."""
    real = get_weights_record(NAME)
    yield lambda record: register_weights(record, overwrite=True)
    register_weights(real, overwrite=True)


def test_whole_chain_with_first_mirror_down_and_a_resumed_download(origin, standin, registered, capfd):
    data, state = standin
    record = dataclasses.replace(
        get_weights_record(NAME),
        originals=(_original(_dead_url(), data), _original(origin.url("/models/alexnet-standin.pth"), data)),
    )
    registered(record)
    # first attempt: mirror 1 refuses the connection, mirror 2 dies mid-download -> clean error, no cache
    origin.die_once["/models/alexnet-standin.pth"] = 4_000_000
    with pytest.raises(WeightsUnavailableError, match="(?s)Connection.*partial file"):
        keras_alexnet.AlexNet(weights=NAME)
    assert not checkpoint_cache_dir(NAME).exists()
    kept = (cache_dir() / "downloads" / "alexnet-standin.pth.part").stat().st_size
    # second attempt: mirror 2 resumes the partial download, then verify, convert, cache, load
    model = keras_alexnet.AlexNet(weights=NAME)
    assert origin.requests[-1] == ("/models/alexnet-standin.pth", f"bytes={kept}-")
    # conv1 and fc8 hold the stand-in's weights (OIHW -> HWIO, (out, in) -> (in, out))
    np.testing.assert_array_equal(
        model.get_layer("conv1").kernel.numpy(), state["features.0.weight"].transpose(2, 3, 1, 0)
    )
    np.testing.assert_array_equal(model.get_layer("predictions").kernel.numpy(), state["classifier.6.weight"].T)
    err = capfd.readouterr().err
    line = next(line for line in err.splitlines() if "converting 'torchvision_imagenet1k'" in line)
    assert origin.url("/models/alexnet-standin.pth") in line and record.originals[1].sha256 in line
    assert "license: BSD-3-Clause" in line
    assert "converted 'torchvision_imagenet1k' in" in err
    assert (checkpoint_cache_dir(NAME) / "keras_alexnet.json").is_file()
    assert not (cache_dir() / "downloads" / "alexnet-standin.pth").exists()  # the original is not kept

    # second call: from the cache, no network (the origin is not asked again)
    requests_before = len(origin.requests)
    again = keras_alexnet.AlexNet(weights=NAME, include_top=False)
    assert len(origin.requests) == requests_before
    np.testing.assert_array_equal(again.get_layer("conv1").kernel.numpy(), model.get_layer("conv1").kernel.numpy())
    assert "converting" not in capfd.readouterr().err


def test_checksum_mismatch_rejected_and_nothing_cached(origin, standin):
    data, _ = standin
    record = dataclasses.replace(
        get_weights_record(NAME),
        originals=(_original(origin.url("/models/alexnet-standin.pth"), data, sha256="0" * 64),),
    )
    with pytest.raises(WeightsUnavailableError) as info:
        fetch_registered(record, progress=False)
    message = str(info.value)
    assert "0" * 64 in message and hashlib.sha256(data).hexdigest() in message
    assert "never falls back to random weights" in message and "--from alexnet-standin.pth" in message
    assert not checkpoint_cache_dir(NAME).exists()
    assert not any((cache_dir() / "downloads").iterdir())


def test_server_dies_mid_download_leaves_cache_untouched(origin, standin):
    data, _ = standin
    record = dataclasses.replace(
        get_weights_record(NAME), originals=(_original(origin.url("/models/alexnet-standin.pth"), data),)
    )
    origin.die_once["/models/alexnet-standin.pth"] = 5_000_000
    with pytest.raises(WeightsUnavailableError, match=r"partial file .*alexnet-standin.pth.part is kept"):
        fetch_registered(record, progress=False)
    assert not checkpoint_cache_dir(NAME).exists()
    part = cache_dir() / "downloads" / "alexnet-standin.pth.part"
    assert 0 < part.stat().st_size <= 5_000_000
    assert not list(cache_dir().glob(f".{NAME}.convert.*"))


def test_offline_mode_does_not_download(origin, standin, monkeypatch):
    record = dataclasses.replace(
        get_weights_record(NAME), originals=(_original(origin.url("/models/alexnet-standin.pth"), standin[0]),)
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    requests_before = len(origin.requests)
    with pytest.raises(WeightsUnavailableError, match="offline mode is on"):
        fetch_registered(record, progress=False)
    assert len(origin.requests) == requests_before


def test_unpublished_record_never_falls_back_to_random(monkeypatch):
    record = dataclasses.replace(get_weights_record("imagenet"), originals=())
    assert not record.hub.published
    with pytest.raises(WeightsUnavailableError, match=r"(?s)'bvlc_imagenet1k' are not available.*never falls back"):
        fetch_registered(record)


def test_from_file_rejects_an_unknown_file(tmp_path):
    path = tmp_path / "alexnet-owt-7be5be79.pth"
    path.write_bytes(b"not the original")
    with pytest.raises(ValueError, match=r"not a known original of 'torchvision_imagenet1k'.*7be5be79"):
        fetch_from_file(get_weights_record(NAME), path)
    assert path.exists()  # the user's file is never deleted
    with pytest.raises(ValueError, match="No such file"):
        fetch_from_file(get_weights_record(NAME), tmp_path / "missing.pth")


def test_converter_availability():
    assert converter_available("torchvision") and converter_available("onnx")
    assert not converter_available("no-such-format")


def test_mirror_without_its_converter_is_skipped(origin, standin, monkeypatch):
    from keras_alexnet.convert import api

    monkeypatch.setitem(api.CONVERTERS, "caffe", "keras_alexnet.convert.no_such_caffe_module:keras_model_from_caffe")
    caffe = _original(origin.url("/models/alexnet-standin.pth"), standin[0], format="caffe")
    record = dataclasses.replace(get_weights_record("imagenet"), originals=(caffe,))
    requests_before = len(origin.requests)
    with pytest.raises(WeightsUnavailableError, match="skipped, the caffe converter is unavailable"):
        fetch_registered(record, progress=False)
    assert len(origin.requests) == requests_before


def test_concurrent_fetch_waits_for_the_lock_and_uses_the_finished_cache(origin, standin, checkpoint, capfd):
    """A second fetch waiting on the lock says so once, finds the first one's checkpoint and does not download."""
    import shutil
    import threading

    from filelock import FileLock

    record = dataclasses.replace(
        get_weights_record(NAME), originals=(_original(origin.url("/models/alexnet-standin.pth"), standin[0]),)
    )
    cache_dir().mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(cache_dir() / f".{NAME}.lock"))
    result = {}
    requests_before = len(origin.requests)
    with lock:  # "another process" is converting
        waiter = threading.Thread(target=lambda: result.update(resolved=fetch_registered(record, progress=False)))
        waiter.start()
        waiter.join(timeout=1.0)
        assert waiter.is_alive()  # blocked on the lock
        shutil.copytree(checkpoint[0], checkpoint_cache_dir(NAME))  # the other process finishes
    waiter.join(timeout=30)
    assert result["resolved"].notop_path == checkpoint_cache_dir(NAME) / "model.weights.h5"
    assert len(origin.requests) == requests_before
    err = capfd.readouterr().err
    assert err.count("waiting for another process downloading 'torchvision_imagenet1k'") == 1
    assert f".{NAME}.lock" in err


def test_complete_part_answered_416_is_verified_and_used(origin, standin):
    """A caffemodel-like original (sha1 only, no size) whose `.part` is complete: the server answers 416."""
    data, _ = standin
    original = _original(
        origin.url("/models/alexnet-standin.pth"), data, sha256=None, size=None, sha1=hashlib.sha1(data).hexdigest()
    )
    downloads = cache_dir() / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "alexnet-standin.pth.part").write_bytes(data)
    requests_before = len(origin.requests)
    path = download_original(original, progress=False)
    assert path.read_bytes() == data
    assert origin.requests[requests_before:] == [("/models/alexnet-standin.pth", f"bytes={len(data)}-")]


TWO_PROCESSES = """
import dataclasses, hashlib, json, sys, time
from pathlib import Path

import keras_alexnet.applications  # TensorFlow and Keras imported before the start signal
from keras_alexnet.pretrained import fetch_registered
from keras_alexnet.weights.registry import Original, get_weights_record

go, url, sha256, size = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
while not go.exists():
    time.sleep(0.05)
original = Original(url=url, format="torchvision", filename="alexnet-standin.pth", sha256=sha256, size=size)
record = dataclasses.replace(get_weights_record("torchvision_imagenet1k"), originals=(original,))
resolved = fetch_registered(record, progress=False)
path = resolved.notop_path
print(json.dumps({"top": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}))
"""


@pytest.mark.slow
@pytest.mark.multiprocess
def test_two_processes_fetching_at_once_download_once_and_share_the_checkpoint(origin, standin, tmp_path):
    """Process A downloads (its response held until B waits on the lock); B says it waits, once, then loads A's."""
    import json
    import os
    import subprocess
    import sys
    import threading
    import time

    data, _ = standin
    path = "/models/alexnet-standin.pth"
    script = tmp_path / "fetch_one.py"
    script.write_text(TWO_PROCESSES)
    env = {**os.environ, "KERAS_ALEXNET_CACHE": str(cache_dir()), "HF_HUB_OFFLINE": "0"}
    args = [origin.url(path), hashlib.sha256(data).hexdigest(), str(len(data))]
    origin.hold[path] = threading.Event()
    requests_before = len(origin.requests)
    waiting = "waiting for another process downloading 'torchvision_imagenet1k'"
    processes, logs = {}, {name: tmp_path / f"{name}.err" for name in "ab"}
    for name in "ab":
        with open(logs[name], "w") as err:
            processes[name] = subprocess.Popen(
                [sys.executable, str(script), str(tmp_path / f"go-{name}"), *args],
                env=env,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
    try:
        (tmp_path / "go-a").touch()
        deadline = time.monotonic() + 120
        while len(origin.requests) == requests_before:  # A holds the lock and its download has begun
            assert time.monotonic() < deadline and processes["a"].poll() is None, logs["a"].read_text()[-3000:]
            time.sleep(0.05)
        (tmp_path / "go-b").touch()
        while waiting not in logs["b"].read_text():  # B waits on the lock while A's response is held
            assert time.monotonic() < deadline and processes["b"].poll() is None, logs["b"].read_text()[-3000:]
            time.sleep(0.05)
        origin.hold[path].set()
        outs = {name: process.communicate(timeout=300)[0] for name, process in processes.items()}
    finally:
        origin.hold[path].set()
        for process in processes.values():
            if process.poll() is None:
                process.kill()
    errs = {name: log.read_text() for name, log in logs.items()}
    for name, process in processes.items():
        assert process.returncode == 0, errs[name][-3000:]
    results = {name: json.loads(out.strip().splitlines()[-1]) for name, out in outs.items()}
    assert results["a"] == results["b"] and results["a"]["top"] == str(checkpoint_cache_dir(NAME) / "model.weights.h5")
    assert len(origin.requests) == requests_before + 1  # downloaded once
    assert errs["b"].count(waiting) == 1 and waiting not in errs["a"]
    assert "converting 'torchvision_imagenet1k'" in errs["a"] and "converting" not in errs["b"]
