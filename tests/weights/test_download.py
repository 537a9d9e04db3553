"""Resumable downloads, their limits (deadline, minimum rate, read timeout), complete `.part` files answered 416,
Git-LFS pointers, and checksum verification, against a local HTTP server."""

from __future__ import annotations

import hashlib
import socket
import time

import numpy as np
import pytest
from origin_server import OriginServer

from keras_alexnet.weights.checksums import ChecksumMismatchError, verify_original
from keras_alexnet.weights.download import (
    DownloadError,
    DownloadLimits,
    DownloadTooSlowError,
    LfsPointerError,
    download,
    lfs_pointer,
    part_path,
)
from keras_alexnet.weights.registry import Original

DATA = np.random.default_rng(0).bytes(3_000_000)
#: What github.com/onnx/models answers for bvlcalexnet-12.onnx since its Git-LFS files stopped being served.
POINTER = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:6b0da9510f27f234ee96a85dc3809dd210150fdefad87f6850f9788513216945\n"
    b"size 243863787\n"
)


@pytest.fixture
def origin():
    server = OriginServer({"/model.bin": DATA}).start()
    yield server
    server.stop()


def test_download_writes_the_file_and_no_part(origin, tmp_path):
    dest = download(origin.url("/model.bin"), tmp_path / "model.bin", progress=False)
    assert dest.read_bytes() == DATA
    assert not part_path(dest).exists()


def test_interrupted_download_keeps_part_and_resumes_with_range(origin, tmp_path):
    dest = tmp_path / "model.bin"
    origin.die_once["/model.bin"] = 1_000_000
    with pytest.raises(DownloadError, match=r"partial file .*model.bin.part is kept"):
        download(origin.url("/model.bin"), dest, progress=False)
    assert not dest.exists()
    kept = part_path(dest).stat().st_size
    assert 0 < kept <= 1_000_000
    download(origin.url("/model.bin"), dest, progress=False)
    assert origin.requests[-1] == ("/model.bin", f"bytes={kept}-")
    assert dest.read_bytes() == DATA


def test_server_ignoring_range_restarts_cleanly(origin, tmp_path):
    dest = tmp_path / "model.bin"
    part_path(dest).write_bytes(b"garbage that is not a prefix")
    origin.ignore_range = True
    download(origin.url("/model.bin"), dest, progress=False)
    assert dest.read_bytes() == DATA


def test_http_error_and_refused_connection(origin, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(origin.url("/missing.bin"), tmp_path / "x.bin", progress=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError, match=f"127.0.0.1:{port}"):
        download(f"http://127.0.0.1:{port}/x.bin", tmp_path / "x.bin", progress=False, timeout=5)


def test_verify_original_accepts_sha256_sha1_and_prefix(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    sha256 = hashlib.sha256(DATA).hexdigest()
    sha1 = hashlib.sha1(DATA).hexdigest()
    assert verify_original(path, Original("u", "onnx", "f.bin", sha256=sha256)) == f"sha256:{sha256}"
    assert verify_original(path, Original("u", "caffe", "f.bin", sha1=sha1)) == f"sha1:{sha1}"
    assert verify_original(path, Original("u", "torchvision", "f.bin", sha256_prefix=sha256[:8])).startswith("sha256")


def test_checksum_mismatch_deletes_and_names_both_hashes(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    actual = hashlib.sha256(DATA).hexdigest()
    with pytest.raises(ChecksumMismatchError) as info:
        verify_original(path, Original("http://x/f.bin", "onnx", "f.bin", sha256="ab" * 32))
    assert actual in str(info.value) and "ab" * 32 in str(info.value)
    assert not path.exists()
    path.write_bytes(DATA)
    with pytest.raises(ChecksumMismatchError, match="sha1 is"):
        verify_original(path, Original("u", "caffe", "f.bin", sha1="0" * 40), delete_on_mismatch=False)
    assert path.exists()


# --- downloads that cannot hang or stick ------------------------------------------------------------------------


def test_trickling_server_trips_the_minimum_rate_quickly(origin, tmp_path):
    dest = tmp_path / "model.bin"
    origin.trickle["/model.bin"] = (200, 0.05)  # ~4 kB/s
    limits = DownloadLimits(deadline=None, min_rate=50_000, rate_window=0.5)
    start = time.monotonic()
    with pytest.raises(DownloadTooSlowError) as info:
        download(origin.url("/model.bin"), dest, progress=False, limits=limits)
    assert time.monotonic() - start < 5
    message = str(info.value)
    assert "is too slow" in message and "below the minimum of 50.00 kB/s" in message
    assert "KERAS_ALEXNET_DOWNLOAD_MIN_RATE" in message and "is kept and the next attempt resumes" in message
    assert not dest.exists() and 0 < part_path(dest).stat().st_size < len(DATA)


def test_deadline_ends_a_slow_download_and_the_next_attempt_resumes(origin, tmp_path):
    dest = tmp_path / "model.bin"
    origin.trickle["/model.bin"] = (20_000, 0.05)  # ~400 kB/s: 3 MB would take ~8 s
    start = time.monotonic()
    with pytest.raises(DownloadTooSlowError, match=r"did not finish within its deadline of 0.5 s") as info:
        download(origin.url("/model.bin"), dest, progress=False, limits=DownloadLimits(deadline=0.5, min_rate=0))
    assert time.monotonic() - start < 4
    assert "KERAS_ALEXNET_DOWNLOAD_DEADLINE" in str(info.value)
    kept = part_path(dest).stat().st_size
    assert 0 < kept < len(DATA)
    del origin.trickle["/model.bin"]
    download(origin.url("/model.bin"), dest, progress=False)
    assert origin.requests[-1] == ("/model.bin", f"bytes={kept}-")
    assert dest.read_bytes() == DATA


def test_a_silent_server_times_out(origin, tmp_path):
    origin.trickle["/model.bin"] = (1000, 3.0)  # one write, then silence longer than the read timeout
    start = time.monotonic()
    with pytest.raises(DownloadError, match="partial file"):
        download(origin.url("/model.bin"), tmp_path / "model.bin", progress=False, timeout=0.5)
    assert time.monotonic() - start < 3


def test_limits_come_from_the_environment(origin, tmp_path, monkeypatch):
    assert DownloadLimits.from_env() == DownloadLimits(deadline=3600, min_rate=10_000)
    monkeypatch.setenv("KERAS_ALEXNET_DOWNLOAD_DEADLINE", "0.4")
    monkeypatch.setenv("KERAS_ALEXNET_DOWNLOAD_MIN_RATE", "0")
    assert DownloadLimits.from_env() == DownloadLimits(deadline=0.4, min_rate=0)
    assert DownloadLimits.from_env(deadline=7).deadline == 7  # an argument wins
    origin.trickle["/model.bin"] = (20_000, 0.05)
    with pytest.raises(DownloadTooSlowError, match="deadline of 0.4 s"):
        download(origin.url("/model.bin"), tmp_path / "model.bin", progress=False)  # limits from the environment
    monkeypatch.setenv("KERAS_ALEXNET_DOWNLOAD_MIN_RATE", "fast")
    with pytest.raises(ValueError, match=r"KERAS_ALEXNET_DOWNLOAD_MIN_RATE must be a number >= 0.*Received: "):
        DownloadLimits.from_env()
    with pytest.raises(ValueError, match="Received: deadline=-1"):
        DownloadLimits(deadline=-1)


def test_a_git_lfs_pointer_is_named_and_not_kept(origin, tmp_path):
    origin.files["/bvlcalexnet-12.onnx"] = POINTER
    dest = tmp_path / "bvlcalexnet-12.onnx"
    with pytest.raises(LfsPointerError) as info:
        download(origin.url("/bvlcalexnet-12.onnx"), dest, expected_size=243_863_787, progress=False)
    message = str(info.value)
    assert "this host serves a Git-LFS pointer, not the file" in message and "onnxmodelzoo/legacy_models" in message
    assert "sha256:6b0da9510f27f234ee96a85dc3809dd210150fdefad87f6850f9788513216945" in message
    assert not dest.exists() and not part_path(dest).exists()
    assert lfs_pointer(tmp_path / "missing") is None


def _sha256_is(expected: bytes):
    return lambda path: hashlib.sha256(path.read_bytes()).hexdigest() == hashlib.sha256(expected).hexdigest()


def test_complete_part_answered_416_is_verified_and_used(origin, tmp_path):
    dest = tmp_path / "model.bin"
    part_path(dest).write_bytes(DATA)  # an earlier attempt received everything, then stopped before the rename
    download(origin.url("/model.bin"), dest, progress=False, verify=_sha256_is(DATA))  # size unknown (like Caffe's)
    assert origin.requests == [("/model.bin", f"bytes={len(DATA)}-")]  # answered 416
    assert dest.read_bytes() == DATA and not part_path(dest).exists()


def test_complete_part_that_fails_verification_is_discarded_and_downloaded_again(origin, tmp_path, capfd):
    dest = tmp_path / "model.bin"
    part_path(dest).write_bytes(bytes(len(DATA)))  # the right length, the wrong bytes
    origin.range_416_total = False  # a 416 that does not say the file's size
    download(origin.url("/model.bin"), dest, progress=False, verify=_sha256_is(DATA))
    assert origin.requests == [("/model.bin", f"bytes={len(DATA)}-"), ("/model.bin", None)]
    assert dest.read_bytes() == DATA
    err = capfd.readouterr().err
    assert err.count("discarding") == 1 and "HTTP 416" in err and "not the expected file" in err


def test_part_longer_than_the_file_is_discarded(origin, tmp_path, capfd):
    dest = tmp_path / "model.bin"
    part_path(dest).write_bytes(DATA + b"trailing bytes")
    download(origin.url("/model.bin"), dest, progress=False, verify=_sha256_is(DATA))
    assert dest.read_bytes() == DATA
    assert f"it has {len(DATA) + 14:,} bytes, the file {len(DATA):,}" in capfd.readouterr().err


def test_complete_part_of_known_size_needs_no_request(origin, tmp_path):
    dest = tmp_path / "model.bin"
    part_path(dest).write_bytes(DATA)
    download(origin.url("/model.bin"), dest, expected_size=len(DATA), progress=False, verify=_sha256_is(DATA))
    assert origin.requests == [] and dest.read_bytes() == DATA


def test_size_is_checked_before_the_checksum(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(DATA[:1000])
    original = Original("http://x/f.bin", "onnx", "f.bin", sha256=hashlib.sha256(DATA).hexdigest(), size=len(DATA))
    with pytest.raises(ChecksumMismatchError, match=f"it has 1,000 bytes, expected {len(DATA):,}"):
        verify_original(path, original)
    assert not path.exists()
