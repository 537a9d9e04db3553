"""A checkpoint directory is checked against its checksums.json before it is used (issue 12, item 4).

Sizes on every use, sha256 the first time a file is used in a process. A damaged cache entry is set aside as
`NAME.damaged-<timestamp>` (never deleted) and fetched again through the normal path (the local Hub server of
tests/weights/hub_server.py, or a re-download and conversion from tests/weights/origin_server.py); offline it
is one line naming the file and the fix. A damaged checkpoint directory of the user's raises `DamagedFileError`
and nothing in it is touched. `keras-alexnet weights verify` reports every cache entry.

Most entries here are small stand-ins (a keras_alexnet.json and a few small files with their checksums.json):
the check runs before any weights are read, so the 230 MB checkpoint is used only where weights are loaded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from origin_server import OriginServer

import keras_alexnet
from keras_alexnet.cli.main import main
from keras_alexnet.errors import DamagedFileError
from keras_alexnet.pretrained import fetch_registered
from keras_alexnet.weights import checkpoint as checkpoint_module
from keras_alexnet.weights import checksums as checksums_module
from keras_alexnet.weights.cache import cache_dir, checkpoint_cache_dir, is_set_aside, set_aside_entries
from keras_alexnet.weights.checkpoint import (
    SIZES_FILENAME,
    check_checkpoint,
    read_checksums,
    write_checksums,
)
from keras_alexnet.weights.network import NetworkRecord
from keras_alexnet.weights.registry import HubLocation, Original, get_weights_record, register_weights
from keras_alexnet.weights.resolve import WeightsUnavailableError

NAME = "torchvision_imagenet1k"
WEIGHTS = "model.weights.h5"


def _standin_entry(directory: Path, *, old_format: bool = False) -> Path:
    """A small checkpoint-shaped directory with its checksums.json (old_format: no sizes.json, as before)."""
    directory.mkdir(parents=True)
    NetworkRecord(variant="torchvision", classes=10).write(directory)
    (directory / WEIGHTS).write_bytes(os.urandom(200_000))
    (directory / "notop.weights.h5").write_bytes(os.urandom(20_000))
    (directory / "config.json").write_text("{}")
    write_checksums(directory)
    if old_format:
        (directory / SIZES_FILENAME).unlink()
        checksums = json.loads((directory / "checksums.json").read_text())
        del checksums[SIZES_FILENAME]
        (directory / "checksums.json").write_text(json.dumps(checksums))
    return directory


def _flip_a_bit(path: Path, *, keep_mtime: bool = False) -> None:
    """Flip one bit in the middle of `path`, in place (same size, same inode; optionally the same mtime)."""
    stat = path.stat()
    with open(path, "r+b") as file:
        file.seek(stat.st_size // 2)
        byte = file.read(1)[0]
        file.seek(stat.st_size // 2)
        file.write(bytes([byte ^ 0x10]))
    if keep_mtime:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def _truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _state(directory: Path) -> dict[str, tuple[int, int, str]]:
    """Every file of `directory`: (size, mtime_ns, sha256), to show nothing was changed."""
    return {
        p.name: (p.stat().st_size, p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(directory.iterdir())
    }


@pytest.fixture
def registered():
    """Register a modified record under the real name for one test, then restore the original."""
    real = get_weights_record(NAME)
    yield lambda record: register_weights(record, overwrite=True)
    register_weights(real, overwrite=True)


@pytest.fixture
def hashes(monkeypatch):
    """The files `sha256_file` reads from now on (it is still the real function)."""
    real, read = checkpoint_module.sha256_file, []

    def counting(path, *args, **kwargs):
        read.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(checkpoint_module, "sha256_file", counting)  # checkpoint's rehash path
    monkeypatch.setattr(checksums_module, "sha256_file", counting)  # known_sha256's first hash
    monkeypatch.setattr(checksums_module, "_KNOWN_DIGESTS", {})  # as in a new process
    return read


# -- the checksums.json format -------------------------------------------------------------------------------------


def test_checksums_json_stays_readable_by_earlier_readers_and_sizes_sit_beside_it(tmp_path):
    directory = _standin_entry(tmp_path / "ckpt")
    checksums = read_checksums(directory / "checksums.json")  # the plain {name: sha256} earlier versions read
    assert all(len(digest) == 64 for digest in checksums.values())
    assert set(checksums) == {"keras_alexnet.json", WEIGHTS, "notop.weights.h5", "config.json", SIZES_FILENAME}
    sizes = json.loads((directory / SIZES_FILENAME).read_text())
    assert sizes[WEIGHTS] == 200_000 and SIZES_FILENAME not in sizes and "checksums.json" not in sizes
    assert check_checkpoint(directory).status == "ok"


def test_sha256_once_per_process_and_sizes_every_time(tmp_path, hashes):
    directory = _standin_entry(tmp_path / "ckpt")
    hashes.clear()
    checksums_module._KNOWN_DIGESTS.clear()  # a new process: nothing verified yet
    assert check_checkpoint(directory).ok
    assert sorted(hashes) == sorted(["keras_alexnet.json", WEIGHTS, "notop.weights.h5", "config.json", "sizes.json"])
    hashes.clear()
    assert check_checkpoint(directory).ok and hashes == []  # the second use only stats the files
    _truncate(directory / WEIGHTS)
    check = check_checkpoint(directory)
    assert check.status == "damaged" and hashes == []  # the size gives it away without hashing
    assert "file model.weights.h5: expected 200,000 bytes, got 100,000" in check.describe()


def test_a_bit_flipped_in_place_is_caught_even_with_the_mtime_put_back(tmp_path, hashes):
    directory = _standin_entry(tmp_path / "ckpt")
    assert check_checkpoint(directory).ok
    expected = read_checksums(directory / "checksums.json")[WEIGHTS]
    _flip_a_bit(directory / WEIGHTS, keep_mtime=True)  # same size, same inode, same mtime: ctime moved
    check = check_checkpoint(directory)
    actual = hashlib.sha256((directory / WEIGHTS).read_bytes()).hexdigest()
    assert check.status == "damaged"
    assert check.describe() == f"damaged: file model.weights.h5: expected sha256 {expected}, got {actual}"


def test_an_earlier_checkpoint_without_sizes_is_checked_by_sha256(tmp_path):
    directory = _standin_entry(tmp_path / "ckpt", old_format=True)
    assert check_checkpoint(directory).ok
    _truncate(directory / WEIGHTS)
    (problem,) = check_checkpoint(directory).problems
    assert problem.kind == "sha256" and problem.name == WEIGHTS


# -- a user's own checkpoint directory: DamagedFileError, nothing moved -----------------------------------------------


@pytest.mark.parametrize(
    "damage, match",
    [
        (lambda d: _flip_a_bit(d / WEIGHTS), r"model.weights.h5 is damaged: it is corrupted: expected sha256 \w{64}"),
        (lambda d: _truncate(d / WEIGHTS), "model.weights.h5 is damaged: .*expected 200,000 bytes, got 100,000"),
        (lambda d: (d / "notop.weights.h5").unlink(), "is incomplete: notop.weights.h5 is missing"),
        (lambda d: (d / "checksums.json").write_text("{oops"), "checksums.json is damaged: it is not valid JSON"),
    ],
    ids=["bit-flip", "truncated", "missing-file", "damaged-checksums"],
)
def test_a_damaged_user_checkpoint_raises_and_is_left_as_it_is(damage, match, tmp_path):
    directory = _standin_entry(tmp_path / "mine")
    damage(directory)
    before = _state(directory)
    with pytest.raises(DamagedFileError, match=match) as info:
        keras_alexnet.AlexNet(weights=str(directory), variant="torchvision", classes=10)
    assert str(info.value.path).startswith(str(directory))
    assert _state(directory) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # nothing set aside next to it
    if "checksums" not in match:
        assert "keras_alexnet changed nothing" in str(info.value) and "write_checksums" in str(info.value)


def test_a_well_formed_weights_file_with_one_bit_flipped_no_longer_loads_silently(tmp_path):
    """Real no-top weights (10 MB, format 2's model.weights.h5): h5py reads the flipped file; the checksums do not."""
    directory = tmp_path / "mine"
    directory.mkdir()
    NetworkRecord(variant="torchvision", classes=10).write(directory)
    keras_alexnet.AlexNet(variant="torchvision", include_top=False).save_weights(directory / "model.weights.h5")
    write_checksums(directory)
    keras_alexnet.AlexNet(weights=str(directory), variant="torchvision", include_top=False)  # intact: loads
    _flip_a_bit(directory / "model.weights.h5")
    with pytest.raises(DamagedFileError, match="model.weights.h5 is damaged: it is corrupted: expected sha256"):
        keras_alexnet.AlexNet(weights=str(directory), variant="torchvision", include_top=False)


# -- the cache: set aside, fetched again ---------------------------------------------------------------------------


def _hub_record(repo_id: str, pushed):
    record = get_weights_record(NAME)
    return dataclasses.replace(
        record,
        network=NetworkRecord(variant="torchvision", classes=10),
        hub=HubLocation(repo_name=repo_id.split("/")[1], revision=pushed.commit_sha, sha256=pushed.checksums_sha256),
    )


@pytest.mark.slow  # push, then pull 228 MB through huggingface_hub and load it (~20 s)
def test_truncated_cached_weights_are_set_aside_and_fetched_again_from_the_hub(
    pushed, repo_id, checkpoint, registered, monkeypatch, capsys, assert_same_weights
):
    monkeypatch.setenv("KERAS_ALEXNET_HUB_ORG", repo_id.split("/")[0])
    registered(_hub_record(repo_id, pushed))
    entry = checkpoint_cache_dir(NAME)
    shutil.copytree(checkpoint[0], entry, ignore=shutil.ignore_patterns(WEIGHTS))
    with open(checkpoint[0] / WEIGHTS, "rb") as source:  # half of the weights: a download cut short
        truncated = source.read((checkpoint[0] / WEIGHTS).stat().st_size // 2)
    (entry / WEIGHTS).write_bytes(truncated)

    assert main(["weights", "fetch", NAME, "--no-progress"]) == 0
    captured = capsys.readouterr()
    (kept,) = set_aside_entries()
    assert is_set_aside(kept) and kept.name.startswith(f"{NAME}.damaged-")
    line = next(line for line in captured.err.splitlines() if "is damaged" in line)
    assert str(entry) in line and "file model.weights.h5: expected" in line and f"{len(truncated):,}" in line
    assert f"moved to {kept}" in line and f"fetching {NAME!r} again" in line
    assert f"hf://{repo_id}@{pushed.commit_sha}" in captured.out  # fetched from the Hub copy
    assert (kept / WEIGHTS).read_bytes() == truncated  # the damaged entry is kept as it was
    assert_same_weights(keras_alexnet.AlexNet(weights=NAME, classes=10), checkpoint[1])


@pytest.fixture(scope="module")
def standin_original():
    import torch
    from fixtures.reference_models import random_torchvision_state_dict

    buffer = io.BytesIO()
    torch.save(random_torchvision_state_dict(seed=7), buffer)
    data = buffer.getvalue()
    server = OriginServer({"/alexnet-standin.pth": data}).start()
    original = Original(
        url=server.url("/alexnet-standin.pth"),
        format="torchvision",
        filename="alexnet-standin.pth",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )
    yield original
    server.stop()


@pytest.mark.slow  # download + conversion of the 244 MB stand-in, twice (~30 s)
def test_a_bit_flipped_cache_entry_is_converted_again_from_the_original(standin_original, registered, capfd):
    registered(dataclasses.replace(get_weights_record(NAME), originals=(standin_original,)))
    first = keras_alexnet.AlexNet(weights=NAME)
    entry = checkpoint_cache_dir(NAME)
    _flip_a_bit(entry / WEIGHTS)  # a well-formed HDF5 file with one weight changed: it would load silently
    capfd.readouterr()
    again = keras_alexnet.AlexNet(weights=NAME)
    err = capfd.readouterr().err
    (kept,) = set_aside_entries()
    assert f"{entry} is damaged: file model.weights.h5: expected sha256" in err and f"moved to {kept}" in err
    assert "converting 'torchvision_imagenet1k'" in err and check_checkpoint(entry, rehash=True).ok
    assert (first.get_layer("fc6").kernel.numpy() == again.get_layer("fc6").kernel.numpy()).all()
    assert not (cache_dir() / "downloads" / "alexnet-standin.pth").exists()


def test_offline_with_a_damaged_entry_is_one_line_naming_the_file_and_the_fix(monkeypatch, capsys):
    entry = _standin_entry(checkpoint_cache_dir(NAME))
    _truncate(entry / WEIGHTS)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["weights", "fetch", NAME]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    (kept,) = set_aside_entries()
    assert lines[0].startswith("keras-alexnet weights: error: The cached checkpoint")
    for expected in ("file model.weights.h5", "expected 200,000 bytes, got 100,000", f"moved to {kept}",
                     "HF_HUB_OFFLINE", f"keras-alexnet weights fetch {NAME}", "--from FILE"):  # fmt: skip
        assert expected in lines[0], lines[0]
    assert (kept / WEIGHTS).stat().st_size == 100_000 and not entry.exists()
    with pytest.raises(WeightsUnavailableError, match="offline mode is on"):  # the next call: nothing cached
        fetch_registered(get_weights_record(NAME), progress=False)


@pytest.mark.slow  # a new interpreter imports TensorFlow (~20 s on 2 busy cores)
def test_a_bit_flip_is_caught_the_first_time_in_a_new_process(tmp_path):
    """The whole CLI in a fresh interpreter (nothing verified yet): the flipped entry is not used."""
    cache = tmp_path / "cache"
    entry = _standin_entry(cache / NAME)
    expected = read_checksums(entry / "checksums.json")[WEIGHTS]
    _flip_a_bit(entry / WEIGHTS)
    env = {**os.environ, "KERAS_ALEXNET_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "keras_alexnet.cli.main", "weights", "fetch", NAME],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert f"file model.weights.h5: expected sha256 {expected}, got " in done.stderr
    assert not entry.exists() and len(list(cache.glob(f"{NAME}.damaged-*"))) == 1


# -- keras-alexnet weights verify ------------------------------------------------------------------------------------


def test_weights_verify_reports_every_entry_and_exits_1_when_one_is_damaged(capsys):
    good = _standin_entry(checkpoint_cache_dir(NAME))
    bad = _standin_entry(checkpoint_cache_dir("bvlc_imagenet1k"))
    partial = _standin_entry(checkpoint_cache_dir("leftover"))
    expected = read_checksums(bad / "checksums.json")[WEIGHTS]
    _flip_a_bit(bad / WEIGHTS)
    actual = hashlib.sha256((bad / WEIGHTS).read_bytes()).hexdigest()
    (partial / "config.json").unlink()
    before = {path: _state(path) for path in (good, bad, partial)}

    assert main(["weights", "verify"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(
        f"bvlc_imagenet1k: damaged: file model.weights.h5: expected sha256 {expected}, got {actual}. Fix: "
    )
    assert lines[1].startswith("leftover: incomplete: config.json is missing (checksums.json lists it). Fix: ")
    assert lines[2].startswith(f"{NAME}: ok (5 files, ") and len(lines) == 3
    assert {path: _state(path) for path in (good, bad, partial)} == before  # verify changes nothing

    assert main(["weights", "verify", NAME]) == 0
    assert capsys.readouterr().out.startswith(f"{NAME}: ok")
    assert main(["weights", "verify", "imagenet"]) == 1  # an alias names its entry
    assert capsys.readouterr().out.startswith("bvlc_imagenet1k: damaged")

    assert main(["weights", "verify", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    by_name = {entry["name"]: entry for entry in report["entries"]}
    assert {name: entry["status"] for name, entry in by_name.items()} == {
        "bvlc_imagenet1k": "damaged",
        "leftover": "incomplete",
        NAME: "ok",
    }
    (problem,) = by_name["bvlc_imagenet1k"]["problems"]
    assert problem["file"] == WEIGHTS and problem["expected_sha256"] == expected and problem["actual_sha256"] == actual


def test_weights_verify_of_an_empty_cache_an_uncached_and_an_unknown_name(capsys):
    assert main(["weights", "verify"]) == 0
    assert capsys.readouterr().out.strip() == f"no checkpoints in the cache {cache_dir()}"
    assert main(["weights", "verify", NAME, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["entries"][0]["status"] == "not cached"
    assert main(["weights", "verify", "no_such_weights"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("keras-alexnet weights: error:") and "no_such_weights" in err[0]
    assert main(["weights", "verify", "../outside"]) == 1
    assert "keras-alexnet weights: error:" in capsys.readouterr().err
