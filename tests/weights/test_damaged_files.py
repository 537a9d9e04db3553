"""Damaged or hostile files (local weights, keras_alexnet.json, a Hub repo's checksums.json) are named and refused.

A truncated, empty or random-bytes `.weights.h5` / `.keras` file, and a malformed keras_alexnet.json on disk,
raise `DamagedFileError` naming the file and the fix. Files from a Hub repo (tests/weights/hub_server.py) are
not trusted: a checksums.json that is not JSON, of the wrong shape, naming paths out of the snapshot, or
absurdly large, and a keras_alexnet.json that is not a network record, are refused naming the repo; what was
refused is deleted from the cache, and nothing outside the snapshot is read.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hub_server import Repo

import keras_alexnet
from keras_alexnet.errors import DamagedFileError
from keras_alexnet.weights.hub import resolve_hf_uri
from keras_alexnet.weights.network import NETWORK_FILENAME, NetworkRecord
from keras_alexnet.weights.resolve import WeightsUnavailableError


def _hdf5(path: Path) -> Path:
    import h5py

    with h5py.File(path, "w") as file:
        file.create_dataset("layers/conv1/vars/0", data=np.zeros((11, 11, 3, 64), "float32"))
    return path


def _small_keras(path: Path) -> Path:
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3000, name="dense")])
    model.save(path)
    return path


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _flip_member_byte(path: Path, member: str) -> Path:
    """Flip one byte inside `member`'s stored data (the archive's directory stays intact: a CRC error on reading)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    data = bytearray(path.read_bytes())
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda d: (d / "random.weights.h5").write_bytes(np.random.default_rng(0).bytes(5000)), "file signature"),
        (lambda d: (d / "empty.weights.h5").write_bytes(b""), "not a readable HDF5"),
        (lambda d: _truncate(_hdf5(d / "cut.weights.h5")), "truncated file"),
        (lambda d: (d / "random.keras").write_bytes(np.random.default_rng(0).bytes(5000)), "not a .keras \\(zip\\)"),
        (lambda d: (d / "empty.keras").write_bytes(b""), "it is empty"),
        (lambda d: _truncate(_small_keras(d / "cut.keras")), "not a .keras \\(zip\\)"),
        (lambda d: _flip_member_byte(_small_keras(d / "flipped.keras"), "model.weights.h5"), "Bad CRC-32"),
    ],
    ids=["random-h5", "empty-h5", "truncated-h5", "random-keras", "empty-keras", "truncated-keras", "crc-keras"],
)
def test_damaged_weights_file_is_named(make, match, tmp_path):
    make(tmp_path)
    (path,) = tmp_path.iterdir()
    with pytest.raises(DamagedFileError, match=match) as info:
        keras_alexnet.AlexNet(weights=str(path), variant="torchvision", include_top=False)
    message = str(info.value)
    assert str(path) in message and "keras-alexnet weights fetch" in message and "Received: path=" in message
    assert info.value.path == path


def test_damaged_weights_in_a_checkpoint_directory(tmp_path):
    directory = tmp_path / "ckpt"
    directory.mkdir()
    NetworkRecord(variant="torchvision", classes=10).write(directory)
    weights = _truncate(_hdf5(directory / "model.weights.h5"))
    with pytest.raises(DamagedFileError, match="truncated file") as info:
        keras_alexnet.AlexNet(weights=str(directory), classes=10)
    assert info.value.path == weights


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "it is empty"),
        ("{not json", "not valid JSON"),
        ("\x00\xff\xfe", "not valid JSON"),
        ("[1, 2]", "holds list where a JSON object"),
        ('"torchvision"', "holds str where a JSON object"),
        ('{"variant": "torchvision"}', "needs the keys 'variant' and 'classes'"),
        ('{"variant": "torchvision", "classes": "ten"}', "Received: classes='ten'"),
        ('{"variant": "torchvision", "classes": 10.0}', "Received: classes=10.0"),
        ('{"variant": "vgg16", "classes": 10}', "Received: variant='vgg16'"),
        ('{"variant": null, "classes": 10}', "Received: variant=None"),
        ('{"variant": "original", "classes": 10, "lrn": "caffe"}', "Received: lrn='caffe'"),
        ('{"variant": "original", "classes": 10, "lrn": {"size": 5, "n": 5}}', r"Unknown LRN constant\(s\) \['n'\]"),
        ('{"variant": "original", "classes": 10, "input_size": "227"}', "Received: input_size='227'"),
        ('{"variant": "original", "classes": 10, "preprocessing": 1}', "Received: preprocessing=1"),
        ('{"variant": "original", "classes": 10, "format_version": "1"}', "format_version='1'"),
        ('{"variant": "original", "classes": 10, "pad": "' + "x" * (1 << 20) + '"}', "larger than 1.0 MB"),
    ],
)
def test_malformed_network_json_on_disk(text, match, tmp_path):
    (tmp_path / NETWORK_FILENAME).write_bytes(text.encode("latin-1"))
    with pytest.raises(DamagedFileError, match=match) as info:
        NetworkRecord.read(tmp_path)
    assert info.value.path == tmp_path / NETWORK_FILENAME
    assert "keras-alexnet convert" in str(info.value)


def test_a_newer_format_asks_for_an_upgrade_not_a_new_file(tmp_path):
    (tmp_path / NETWORK_FILENAME).write_text('{"variant": "original", "classes": 10, "format_version": 99}')
    with pytest.raises(ValueError, match="upgrade keras_alexnet") as info:
        NetworkRecord.read(tmp_path)
    assert not isinstance(info.value, DamagedFileError)


# -- files from a Hub repo -----------------------------------------------------------------------------------------
def _hostile_repo(hub, repo_id: str, files: dict[str, bytes]) -> None:
    hub.repos[repo_id] = Repo()
    hub.files(repo_id).update(files)


def _gets(hub, repo_id: str, name: str) -> int:
    """GET requests for `name` of `repo_id` (the server's log is shared by the session)."""
    return sum(1 for method, path in hub.requests if method == "GET" and f"/{repo_id}/" in path and path.endswith(name))


_NETWORK = json.dumps(NetworkRecord(variant="torchvision", classes=10).to_dict()).encode()
_SHA = hashlib.sha256(_NETWORK).hexdigest()


@pytest.mark.parametrize(
    "checksums, match",
    [
        (b"not json at all", "not valid JSON"),
        (b"[]", "holds list where a JSON object"),
        (json.dumps({NETWORK_FILENAME: _SHA, "../../../outside.txt": "0" * 64}).encode(), "'../../../outside.txt'"),
        (json.dumps({NETWORK_FILENAME: _SHA, "/etc/passwd": "0" * 64}).encode(), "'/etc/passwd'"),
        (json.dumps({NETWORK_FILENAME: _SHA, "sub/model.weights.h5": "0" * 64}).encode(), "not a plain file name"),
        (json.dumps({NETWORK_FILENAME: "0" * 63}).encode(), "is not a sha256 hex digest"),
        (json.dumps({NETWORK_FILENAME: 5}).encode(), "is not a sha256 hex digest"),
        (json.dumps({f"f{i}": "0" * 64 for i in range(1000)}).encode(), "lists 1000 files"),
    ],
    ids=["not-json", "list", "dotdot", "absolute", "subdir", "short-digest", "int-digest", "too-many"],
)
def test_hostile_checksums_from_the_hub(checksums, match, live_hub, repo_id):
    _hostile_repo(live_hub, repo_id, {"checksums.json": checksums, NETWORK_FILENAME: _NETWORK})
    with pytest.raises(DamagedFileError, match=match) as info:
        resolve_hf_uri(f"hf://{repo_id}")
    assert repo_id in str(info.value) and "checksums.json" in str(info.value)
    assert not info.value.path.exists()  # deleted from the cache: the next call downloads it again
    assert _gets(live_hub, repo_id, NETWORK_FILENAME) == 0  # nothing else was downloaded, let alone read
    with pytest.raises(DamagedFileError):
        resolve_hf_uri(f"hf://{repo_id}")
    assert _gets(live_hub, repo_id, "checksums.json") == 2


@pytest.mark.parametrize(
    "network",
    [b"[]", b'{"variant": "torchvision"}', b'{"variant": "torchvision", "classes": 1e9}', b"\xff\xfe"],
    ids=["list", "missing-key", "float-classes", "binary"],
)
def test_hostile_network_json_from_the_hub(network, live_hub, repo_id):
    checksums = json.dumps({NETWORK_FILENAME: hashlib.sha256(network).hexdigest()}).encode()
    _hostile_repo(live_hub, repo_id, {"checksums.json": checksums, NETWORK_FILENAME: network})
    with pytest.raises(DamagedFileError, match=NETWORK_FILENAME) as info:
        keras_alexnet.AlexNet(weights=f"hf://{repo_id}", include_top=False)
    assert repo_id in str(info.value) and "deleted from the cache" in str(info.value)
    assert not info.value.path.exists()


def test_absurdly_large_file_is_refused_before_downloading(live_hub, repo_id):
    checksums = json.dumps({NETWORK_FILENAME: _SHA, "pad": "x" * (2 << 20)}).encode()
    _hostile_repo(live_hub, repo_id, {"checksums.json": checksums, NETWORK_FILENAME: _NETWORK})
    with pytest.raises(WeightsUnavailableError, match=r"announces 2.1 MB, more than .*checksums.json can be"):
        resolve_hf_uri(f"hf://{repo_id}")
    assert _gets(live_hub, repo_id, "checksums.json") == 0
