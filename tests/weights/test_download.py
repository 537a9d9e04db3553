"""Resumable downloads and checksum verification against a local HTTP server."""

from __future__ import annotations

import hashlib
import socket

import numpy as np
import pytest
from origin_server import OriginServer

from keras_alexnet.weights.checksums import ChecksumMismatchError, verify_original
from keras_alexnet.weights.download import DownloadError, download, part_path
from keras_alexnet.weights.registry import Original

DATA = np.random.default_rng(0).bytes(3_000_000)


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
