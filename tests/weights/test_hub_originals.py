"""Originals that live in a Hub repository, fetched with huggingface_hub from the local Hub server (tests/weights).

BVLC's first original is `validated/vision/classification/alexnet/model/bvlcalexnet-12.onnx` of
`onnxmodelzoo/legacy_models`. The server serves a random-weight ONNX graph with the structure of that file at
that path; a copy of the record points there with the stand-in's sha256 and size. The end-to-end test converts
it and compares with ONNX Runtime; the others replace the conversion by a recorder (`converted`), since they
check which source is used and what the user is told, with small files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import socket
from pathlib import Path

import numpy as np
import pytest
from origin_server import OriginServer

import keras_alexnet
from keras_alexnet import pretrained
from keras_alexnet.pretrained import fetch_registered
from keras_alexnet.weights import fetch
from keras_alexnet.weights.cache import checkpoint_cache_dir
from keras_alexnet.weights.fetch import download_original
from keras_alexnet.weights.registry import BVLC_ONNX_PATH, Original, get_weights_record, register_weights
from keras_alexnet.weights.resolve import WeightsUnavailableError

REPO = "onnxmodelzoo/legacy_models"
NAME = "bvlc_imagenet1k"
SMALL = np.random.default_rng(7).bytes(200_000)  # above the server's LFS threshold, like the real file
POINTER = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:6b0da9510f27f234ee96a85dc3809dd210150fdefad87f6850f9788513216945\n"
    b"size 243863787\n"
)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hub_original(data: bytes, path: str = BVLC_ONNX_PATH, **overrides) -> Original:
    """The registry's first BVLC original, with the stand-in's checksum and size."""
    fields = dict(sha256=_sha256(data), size=len(data), path_in_repo=path, **overrides)
    return dataclasses.replace(get_weights_record(NAME).originals[0], **fields)


def _url_original(url: str, data: bytes) -> Original:
    return Original(url=url, format="onnx", filename="bvlcalexnet-12.onnx", sha256=_sha256(data), size=len(data))


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/bvlcalexnet-12.onnx"


def _record(*originals: Original):
    return dataclasses.replace(get_weights_record(NAME), originals=originals)


@pytest.fixture
def origin():
    server = OriginServer({"/bvlcalexnet-12.onnx": SMALL, "/pointer/bvlcalexnet-12.onnx": POINTER}).start()
    yield server
    server.stop()


@pytest.fixture
def seeded(live_hub):
    """The local Hub with `onnxmodelzoo/legacy_models` holding SMALL at the BVLC path."""
    live_hub.add_files(REPO, {BVLC_ONNX_PATH: SMALL})
    return live_hub


@pytest.fixture
def converted(monkeypatch):
    """Replace the conversion by a recorder of (original, bytes of the file it was given)."""
    calls: list[tuple[Original, bytes]] = []

    def record_conversion(record, path, original):
        calls.append((original, Path(path).read_bytes()))
        return "converted"

    monkeypatch.setattr(pretrained, "convert_into_cache", record_conversion)
    return calls


def _resolve_path(original: Original) -> str:
    return f"/{original.repo_id}/resolve/{original.revision}/{original.path_in_repo}"


def test_hub_original_is_downloaded_with_huggingface_hub_and_verified(seeded, converted, capfd):
    original = _hub_original(SMALL)
    assert fetch_registered(_record(original), progress=False) == "converted"
    assert converted == [(original, SMALL)]
    assert ("GET", _resolve_path(original)) in seeded.requests
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(REPO, BVLC_ONNX_PATH, revision="main")
    assert isinstance(cached, str) and Path(cached).read_bytes() == SMALL  # kept in the Hugging Face cache
    err = capfd.readouterr().err
    assert f"fetching original 1/1 of 'bvlc_imagenet1k': {seeded.endpoint}{_resolve_path(original)} (onnx, " in err


def test_dead_first_source_falls_back_to_the_next(seeded, converted, capfd):
    dead = _url_original(_dead_url(), SMALL)
    hub = _hub_original(SMALL)
    fetch_registered(_record(dead, hub), progress=False)
    assert [original for original, _ in converted] == [hub]
    err = capfd.readouterr().err
    line = next(line for line in err.splitlines() if "original 1/2 of 'bvlc_imagenet1k' failed" in line)
    assert dead.url in line and "Connection" in line and line.endswith("; trying the next one")


def test_missing_hub_file_falls_back_to_the_url(seeded, origin, converted, capfd):
    missing = _hub_original(SMALL, path="validated/vision/classification/alexnet/model/gone.onnx")
    url = _url_original(origin.url("/bvlcalexnet-12.onnx"), SMALL)
    fetch_registered(_record(missing, url), progress=False)
    assert [original for original, _ in converted] == [url]
    assert "the repository has no such file" in capfd.readouterr().err


def test_git_lfs_pointer_answer_is_named_and_the_next_source_used(seeded, origin, converted, capfd):
    pointer = _url_original(origin.url("/pointer/bvlcalexnet-12.onnx"), SMALL)
    fetch_registered(_record(pointer, _hub_original(SMALL)), progress=False)
    assert [original.is_hub for original, _ in converted] == [True]
    err = capfd.readouterr().err
    assert "this host serves a Git-LFS pointer, not the file" in err and "docs/weights.md" in err
    assert not any(fetch.cache_dir().joinpath("downloads").glob("bvlcalexnet-12.onnx*"))  # nothing of it kept


def test_every_source_down_lists_each_reason_and_never_falls_back_to_random(live_hub, origin, converted):
    missing = _hub_original(SMALL, repo_id="onnxmodelzoo/not-on-this-hub")
    pointer = _url_original(origin.url("/pointer/bvlcalexnet-12.onnx"), SMALL)
    with pytest.raises(WeightsUnavailableError) as info:
        fetch_registered(_record(missing, pointer), progress=False)
    message = str(info.value)
    assert "Hub repo 'onnxmodelzoo/not-on-this-hub'" in message and "RepositoryNotFoundError" in message
    assert "this host serves a Git-LFS pointer, not the file" in message
    assert f"`hf download onnxmodelzoo/not-on-this-hub {BVLC_ONNX_PATH}`" in message
    assert "--from bvlcalexnet-12.onnx" in message
    assert "never falls back to random weights" in message and converted == []


def test_a_file_on_main_that_is_not_the_recorded_one_is_refused_and_removed_from_the_hf_cache(seeded, converted):
    """The revision is "main" (no pinned commit): the sha256 and size are the trust anchor."""
    from huggingface_hub import try_to_load_from_cache

    seeded.add_files(REPO, {BVLC_ONNX_PATH: SMALL[::-1]})  # main moves to other bytes of the same size
    original = _hub_original(SMALL)
    with pytest.raises(WeightsUnavailableError, match=rf"(?s)sha256 is {_sha256(SMALL[::-1])}, expected"):
        fetch_registered(_record(original), progress=False)
    assert try_to_load_from_cache(REPO, BVLC_ONNX_PATH, revision="main") is None  # link and blob deleted
    assert converted == []
    seeded.add_files(REPO, {BVLC_ONNX_PATH: SMALL})  # fixed upstream: the next call downloads it again
    fetch_registered(_record(original), progress=False)
    assert converted == [(original, SMALL)]


def test_a_corrupted_transfer_fails_verification(seeded, converted):
    seeded.corrupt.add(BVLC_ONNX_PATH)  # same size, one byte flipped
    with pytest.raises(WeightsUnavailableError, match="failed verification: its sha256 is"):
        fetch_registered(_record(_hub_original(SMALL)), progress=False)


def test_a_pinned_revision_is_downloaded(seeded, converted):
    commit = seeded.add_files(REPO, {"README.md": b"a later commit"})
    original = _hub_original(SMALL, revision=commit)
    fetch_registered(_record(original), progress=False)
    assert ("GET", f"/{REPO}/resolve/{commit}/{BVLC_ONNX_PATH}") in seeded.requests


def test_offline_mode_uses_the_hf_cache_and_skips_url_sources(seeded, origin, converted, monkeypatch):
    hub = _hub_original(SMALL)
    download_original(hub, progress=False)  # online once: now in the Hugging Face cache
    seeded.stop()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    url = _url_original(origin.url("/bvlcalexnet-12.onnx"), SMALL)
    fetch_registered(_record(url, hub), progress=False)
    assert [original for original, _ in converted] == [hub] and origin.requests == []


def test_offline_mode_without_the_file_in_the_hf_cache_says_so(live_hub, converted, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    requests_before = len(live_hub.requests)
    with pytest.raises(WeightsUnavailableError) as info:
        fetch_registered(_record(_hub_original(SMALL)), progress=False)
    assert "offline mode is on (HF_HUB_OFFLINE) and the file is not in the Hugging Face cache" in str(info.value)
    assert len(live_hub.requests) == requests_before


def test_a_trickling_source_trips_its_deadline_and_the_next_is_used(seeded, origin, converted, monkeypatch, capfd):
    import time

    monkeypatch.setenv("KERAS_ALEXNET_DOWNLOAD_DEADLINE", "0.5")
    origin.trickle["/bvlcalexnet-12.onnx"] = (1000, 0.05)  # 20 kB/s: 10 s for the file
    start = time.monotonic()
    fetch_registered(_record(_url_original(origin.url("/bvlcalexnet-12.onnx"), SMALL), _hub_original(SMALL)))
    assert time.monotonic() - start < 5
    assert [original.is_hub for original, _ in converted] == [True]
    assert "did not finish within its deadline of 0.5 s" in capfd.readouterr().err


# --- end to end: download through huggingface_hub, convert, compare with ONNX Runtime, offline the second time ---


@pytest.fixture(scope="module")
def standin():
    """(bytes of a random-weight graph structured like bvlcalexnet-12.onnx, the ModelProto)."""
    pytest.importorskip("onnx")
    from fixtures.reference_models import build_bvlc_like_onnx, random_bvlc_weights

    model = build_bvlc_like_onnx(random_bvlc_weights(seed=12), input_size=224, batch_size=1)  # as the zoo declares
    return model.SerializeToString(), model


def _onnxruntime_logits(model, batch_nhwc: np.ndarray) -> np.ndarray:
    """fc8's output from ONNX Runtime, one 227x227 image at a time (the file declares 224, as the zoo's does)."""
    import onnx

    ort = pytest.importorskip("onnxruntime")
    model = onnx.ModelProto.FromString(model.SerializeToString())
    model.graph.output.append(onnx.helper.make_tensor_value_info("fc8_1", onnx.TensorProto.FLOAT, None))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = dims[3].dim_value = 227
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.concatenate(
        [session.run(["fc8_1"], {"data_0": x[None].transpose(0, 3, 1, 2).copy()})[0] for x in batch_nhwc]
    )


@pytest.fixture
def registered():
    real = get_weights_record(NAME)
    yield lambda record: register_weights(record, overwrite=True)
    register_weights(real, overwrite=True)


@pytest.mark.slow
def test_imagenet_weights_come_from_the_hub_original_match_onnx_runtime_and_load_offline(
    live_hub, standin, registered, sample_image_paths, capfd, monkeypatch
):
    from keras_alexnet.image_io import load_image

    data, model_proto = standin
    live_hub.add_files(REPO, {BVLC_ONNX_PATH: data})
    original = _hub_original(data)
    registered(_record(original))
    batch = keras_alexnet.preprocess_input(
        np.stack([load_image(p, size=227) for p in sample_image_paths]), variant="original"
    )

    before = len(live_hub.requests)
    model = keras_alexnet.AlexNet(weights="imagenet", classifier_activation=None)
    assert ("GET", _resolve_path(original)) in live_hub.requests[before:]
    logits = model.predict(batch, verbose=0)
    expected = _onnxruntime_logits(model_proto, batch)
    assert np.std(expected) > 0.5 and np.max(np.abs(logits - expected)) <= 1e-4
    err = capfd.readouterr().err
    assert f"fetching original 1/1 of 'bvlc_imagenet1k': {live_hub.endpoint}{_resolve_path(original)}" in err
    assert f"converting 'bvlc_imagenet1k' from {live_hub.endpoint}{_resolve_path(original)} (onnx, " in err
    assert f"sha256:{_sha256(data)} verified" in err

    # The second time: offline, the Hub gone. The converted checkpoint in the cache is used, no request is made.
    live_hub.stop()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    requests_before = len(live_hub.requests)
    again = keras_alexnet.AlexNet(weights="imagenet", classifier_activation=None)
    np.testing.assert_array_equal(again.predict(batch, verbose=0), logits)
    assert "fetching" not in capfd.readouterr().err

    # Without the converted checkpoint, still offline: converted again from the Hugging Face cache's copy.
    import shutil

    shutil.rmtree(checkpoint_cache_dir(NAME))
    third = keras_alexnet.AlexNet(weights="imagenet", classifier_activation=None)
    np.testing.assert_array_equal(third.predict(batch, verbose=0), logits)
    assert len(live_hub.requests) == requests_before
    assert "converting 'bvlc_imagenet1k'" in capfd.readouterr().err
