"""Writing results never loses what was there (`keras_alexnet.outputs`), for every command that writes one."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from fixtures.reference_models import random_torchvision_state_dict

from keras_alexnet import outputs
from keras_alexnet.cli.main import main
from keras_alexnet.outputs import ExistingOutputError, check_output, make_staging, publish, remove_stale_staging


def _user_directory(path: Path) -> Path:
    """What a user made: a directory with a file and a sub-folder in it."""
    (path / "sub").mkdir(parents=True)
    (path / "precious.txt").write_text("my thesis")
    (path / "sub" / "notes.txt").write_text("chapter 2")
    return path


def _assert_untouched(path: Path) -> None:
    assert (path / "precious.txt").read_text() == "my thesis"
    assert (path / "sub" / "notes.txt").read_text() == "chapter 2"
    assert sorted(p.name for p in path.iterdir()) == ["precious.txt", "sub"]


def _no_debris(parent: Path) -> None:
    assert not [p.name for p in parent.iterdir() if outputs.is_staging(p)]


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _one_error_line(captured, *needles: str) -> str:
    assert "Traceback" not in captured.err
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def torchvision_pth(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pth") / "random.pth"
    torch.save(random_torchvision_state_dict(seed=0), path)
    return path


# --- The rule: only an absent path, an empty directory or an earlier result is replaced ---------------------------


def test_convert_refuses_a_directory_the_user_made(tmp_path, torchvision_pth, capsys):
    target = _user_directory(tmp_path / "d")
    assert main(["convert", "--from", "torchvision", str(torchvision_pth), "-o", str(target)]) == 1
    line = _one_error_line(capsys.readouterr(), str(target), "--overwrite")
    assert line.startswith("keras-alexnet convert: error:")
    _assert_untouched(target)
    _no_debris(tmp_path)


@pytest.mark.slow
def test_convert_into_empty_then_over_its_own_checkpoint_then_overwrite(tmp_path, torchvision_pth, capsys):
    target = tmp_path / "ckpt"
    target.mkdir()
    command = ["convert", "--from", "torchvision", str(torchvision_pth), "-o", str(target)]
    assert main(command) == 0
    assert (target / "keras_alexnet.json").is_file()
    first = (target / "model.weights.h5").stat().st_ino
    assert main(command) == 0  # an earlier checkpoint: replaced
    assert (target / "model.weights.h5").stat().st_ino != first
    _no_debris(tmp_path)
    user = _user_directory(tmp_path / "user")
    assert main(["convert", "--from", "torchvision", str(torchvision_pth), "-o", str(user), "--overwrite"]) == 0
    assert not (user / "precious.txt").exists() and (user / "keras_alexnet.json").is_file()
    _no_debris(tmp_path)
    capsys.readouterr()


def test_convert_refuses_a_file_in_the_way(tmp_path, torchvision_pth, capsys):
    target = tmp_path / "ckpt"
    target.write_text("not a directory")
    assert main(["convert", "--from", "torchvision", str(torchvision_pth), "-o", str(target)]) == 1
    _one_error_line(capsys.readouterr(), str(target))
    assert target.read_text() == "not a directory"


def test_save_checkpoint_refuses_a_user_directory(tmp_path):
    import keras_alexnet
    from keras_alexnet.weights.checkpoint import save_checkpoint
    from keras_alexnet.weights.network import NetworkRecord

    target = _user_directory(tmp_path / "d")
    model = keras_alexnet.AlexNet(variant="torchvision")
    with pytest.raises(ExistingOutputError, match="overwrite=True"):
        save_checkpoint(model, target, NetworkRecord(variant="torchvision"))
    _assert_untouched(target)


@pytest.mark.slow
def test_export_refuses_a_user_directory_and_replaces_its_own(tmp_path, capsys):
    target = _user_directory(tmp_path / "export")
    command = ["export", str(target), "--weights", "none", "--no-top", "--input-size", "67", "--no-verify"]
    assert main(command) == 1
    _one_error_line(capsys.readouterr(), str(target), "--overwrite")
    _assert_untouched(target)
    fresh = tmp_path / "fresh"
    fresh_command = ["export", str(fresh), *command[2:]]
    assert main(fresh_command) == 0
    assert (fresh / "saved_model.pb").is_file() and (fresh / "keras_alexnet_export.json").is_file()
    assert main(fresh_command) == 0  # an earlier export: replaced
    assert main([*command, "--overwrite"]) == 0
    assert not (target / "precious.txt").exists()
    _no_debris(tmp_path)
    capsys.readouterr()


def test_export_refuses_a_file_that_is_not_an_earlier_export(tmp_path, capsys):
    target = tmp_path / "model.onnx"
    target.write_text("my own notes, named .onnx")
    assert main(["export", str(target), "--format", "onnx", "--weights", "none"]) == 1
    _one_error_line(capsys.readouterr(), str(target), "--overwrite")
    assert target.read_text() == "my own notes, named .onnx"


def test_earlier_export_recognised_by_its_contents(tmp_path):
    from keras_alexnet.export import is_earlier_export

    onnx, tflite = tmp_path / "a.onnx", tmp_path / "a.tflite"
    onnx.write_bytes(b"\x08\x07\x12\x07tf2onnx")  # ir_version 7, producer name
    tflite.write_bytes(b"\x1c\x00\x00\x00TFL3\x00\x00")
    assert is_earlier_export(onnx, "onnx") and is_earlier_export(tflite, "litert")
    assert not is_earlier_export(tflite, "onnx") and not is_earlier_export(onnx, "litert")
    assert not is_earlier_export(tmp_path, "saved_model")
    (tmp_path / "keras_alexnet_export.json").write_text("{}")
    assert is_earlier_export(tmp_path, "saved_model")


def test_embed_refuses_an_npz_that_is_not_an_index(tmp_path, capsys):
    from keras_alexnet.analysis.index import write_index

    target = tmp_path / "data.npz"
    np.savez(target, experiment=np.arange(3))
    before = target.read_bytes()
    (tmp_path / "images").mkdir()
    assert main(["embed", str(tmp_path / "images"), "-o", str(target), "--weights", "none"]) == 1
    _one_error_line(capsys.readouterr(), str(target), "--overwrite")
    assert target.read_bytes() == before
    batch = [(np.ones((1, 2), "float32"), ["a.jpg"])]
    with pytest.raises(ExistingOutputError):
        write_index(target, batch, {})
    index = tmp_path / "index.npz"
    assert write_index(index, batch, {})["rows"] == 1
    assert write_index(index, batch * 2, {})["rows"] == 2  # an earlier index: replaced
    assert write_index(target, batch, {}, overwrite=True)["rows"] == 1
    _no_debris(tmp_path)


def test_check_output_cases(tmp_path):
    def never(path):
        return False

    check_output(tmp_path / "absent", never, "thing")
    (tmp_path / "empty").mkdir()
    check_output(tmp_path / "empty", never, "thing")
    full = _user_directory(tmp_path / "full")
    with pytest.raises(ExistingOutputError, match=r"not an earlier thing.*Received: "):
        check_output(full, never, "thing")
    check_output(full, lambda p: True, "thing")
    check_output(full, never, "thing", overwrite=True)
    (tmp_path / "link").symlink_to(full)
    with pytest.raises(ExistingOutputError, match="symbolic link"):
        check_output(tmp_path / "link", lambda p: True, "thing")
    (tmp_path / "empty_file").write_text("")
    with pytest.raises(ExistingOutputError, match="is a file"):
        check_output(tmp_path / "empty_file", never, "thing")  # a directory result never replaces a file


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "set-aside"])
def test_publish_replaces_an_earlier_result_without_debris(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    target = tmp_path / "result"
    target.mkdir()
    (target / "marker").write_text("old")
    staging = make_staging(tmp_path, "result", "write")
    (staging / "marker").write_text("new")
    publish(staging, target, lambda p: (p / "marker").is_file(), "result")
    assert (target / "marker").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result"]


# --- Staging left by a killed writer is cleaned up, never mistaken for a result -------------------------------------


def test_stale_staging_is_removed_and_live_staging_kept(tmp_path):
    dead = tmp_path / f".ckpt.convert.{_dead_pid()}.0123abcd"
    (dead / "checkpoint").mkdir(parents=True)
    (dead / "checkpoint" / "model.weights.h5").write_bytes(b"half a file")
    legacy = tmp_path / ".ckpt.convert.k3j_x9q2"  # tempfile.mkdtemp's name, from an earlier version
    legacy.mkdir()
    old = time.time() - 2 * outputs.LEGACY_STALE_SECONDS
    os.utime(legacy, (old, old))
    recent_legacy = tmp_path / ".ckpt.convert.a1b2c3d4"
    recent_legacy.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        alive = tmp_path / f".ckpt.convert.{sleeper.pid}.89abcdef"
        alive.mkdir()
        other = tmp_path / f".other.convert.{_dead_pid()}.0123abcd"
        other.mkdir()
        user_dotfile = tmp_path / ".ckpt.notes"
        user_dotfile.write_text("mine")
        removed = remove_stale_staging(tmp_path, "ckpt")
        assert sorted(removed) == sorted([dead, legacy])
        assert alive.exists() and recent_legacy.exists() and other.exists() and user_dotfile.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_result_set_aside_by_a_killed_replacement_is_put_back(tmp_path):
    set_aside = tmp_path / f".ckpt.old.{_dead_pid()}.0123abcd"
    (set_aside / "ckpt").mkdir(parents=True)
    (set_aside / "ckpt" / "keras_alexnet.json").write_text("{}")
    remove_stale_staging(tmp_path, "ckpt")
    assert (tmp_path / "ckpt" / "keras_alexnet.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_killed_conversion_debris_is_cleaned_by_the_next_conversion(tmp_path, torchvision_pth):
    """A conversion killed mid-write (SIGKILL) leaves staging; the next conversion to that place removes it."""
    target = tmp_path / "ckpt"
    script = (
        "import os, sys\n"
        "from keras_alexnet import outputs\n"
        "staging = outputs.make_staging(sys.argv[1], 'ckpt', 'convert')\n"
        "(staging / 'checkpoint').mkdir()\n"
        "(staging / 'checkpoint' / 'keras_alexnet.json').write_text('{}')\n"
        "os.kill(os.getpid(), 9)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False)
    debris = [p for p in tmp_path.iterdir() if outputs.is_staging(p)]
    assert len(debris) == 1 and not target.exists()  # the killed run's staging is not a result
    staging = make_staging(tmp_path, "ckpt", "convert")  # what the next conversion does first
    assert [p for p in tmp_path.iterdir() if outputs.is_staging(p)] == [staging]


# --- The user's umask decides the modes -----------------------------------------------------------------------------


UMASKS = (0o022, 0o027, 0o002)


def test_results_get_the_umask_mode(tmp_path):
    script = (
        "import os, sys, pathlib\n"
        "from keras_alexnet.outputs import make_staging, publish, write_text_atomic\n"
        f"for umask in {UMASKS}:\n"
        "    os.umask(umask)\n"
        "    parent = pathlib.Path(sys.argv[1]) / oct(umask)\n"
        "    staging = make_staging(parent, 'result', 'write')\n"
        "    (staging / 'data.txt').write_text('42')\n"
        "    publish(staging, parent / 'result', lambda p: False, 'result')\n"
        "    write_text_atomic(parent / 'report.json', '{}')\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True)
    for umask in UMASKS:
        parent = tmp_path / oct(umask)
        assert stat.S_IMODE((parent / "result").stat().st_mode) == 0o777 & ~umask
        assert stat.S_IMODE((parent / "result" / "data.txt").stat().st_mode) == 0o666 & ~umask
        assert stat.S_IMODE((parent / "report.json").stat().st_mode) == 0o666 & ~umask


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to drop to another uid")
def test_a_cached_checkpoint_is_readable_by_another_user(request):
    """A cache filled by root (a Docker build, CI) with umask 022 can be read by an unprivileged user."""
    import keras_alexnet
    from keras_alexnet.weights.checkpoint import save_checkpoint
    from keras_alexnet.weights.network import NetworkRecord

    # pytest's own temporary folders, and the run's temp folder (tests/conftest.py), are 0700: the cache goes into a
    # world-readable folder of its own in the system's temp folder.
    root = Path(tempfile.mkdtemp(prefix="keras_alexnet_umask_", dir=os.environ["PYTEST_DEBUG_TEMPROOT"]))
    request.addfinalizer(lambda: shutil.rmtree(root, ignore_errors=True))
    os.chmod(root, 0o755)
    previous = os.umask(0o022)
    try:
        cache = root / "cache"
        model = keras_alexnet.AlexNet(variant="torchvision")
        save_checkpoint(model, cache / "ckpt", NetworkRecord(variant="torchvision"))
    finally:
        os.umask(previous)
    reader = (
        "import os, sys, json\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "root = sys.argv[1]\n"
        "names = sorted(os.listdir(root))\n"
        "json.load(open(os.path.join(root, 'keras_alexnet.json')))\n"
        "files = [os.path.join(root, n) for n in names if os.path.isfile(os.path.join(root, n))]\n"
        "sizes = [len(open(f, 'rb').read()) for f in files]\n"
        "print(len(names), min(sizes))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", reader, str(cache / "ckpt")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[0]) >= 7


# --- A full disk is named, refused before writing where the size is known, and loses nothing -------------------------


@pytest.fixture
def almost_full_disk(monkeypatch):
    """The disk reports 1 MB free (shutil.disk_usage, as keras_alexnet.errors measures it)."""
    import collections
    import shutil as shutil_module

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil_module, "disk_usage", lambda path: usage(10**12, 10**12 - 10**6, 10**6))


def test_checkpoint_on_a_full_disk_is_refused_before_writing(tmp_path, almost_full_disk):
    import keras_alexnet
    from keras_alexnet.errors import NotEnoughSpaceError
    from keras_alexnet.weights.checkpoint import save_checkpoint
    from keras_alexnet.weights.network import NetworkRecord

    model = keras_alexnet.AlexNet(variant="torchvision")
    with pytest.raises(NotEnoughSpaceError, match=r"a checkpoint.*It needs 26\d\.\d MB and 1\.0 MB is free") as error:
        save_checkpoint(model, tmp_path / "ckpt", NetworkRecord(variant="torchvision"))
    assert error.value.path == tmp_path / "ckpt"
    assert list(tmp_path.iterdir()) == []


def test_disk_filling_up_during_a_checkpoint_write_keeps_the_earlier_one(tmp_path, monkeypatch):
    import errno

    import keras

    import keras_alexnet
    from keras_alexnet.errors import NotEnoughSpaceError
    from keras_alexnet.weights.checkpoint import save_checkpoint
    from keras_alexnet.weights.network import NetworkRecord

    target = tmp_path / "ckpt"
    target.mkdir()
    (target / "keras_alexnet.json").write_text("{}")  # an earlier checkpoint
    model = keras_alexnet.AlexNet(variant="torchvision")

    def save_until_full(model, path, **kwargs):
        Path(path).write_bytes(b"partial")  # the first weights file, cut short
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.saving, "save_weights", save_until_full)
    with pytest.raises(NotEnoughSpaceError, match=str(target)):
        save_checkpoint(model, target, NetworkRecord(variant="torchvision"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    assert sorted(p.name for p in target.iterdir()) == ["keras_alexnet.json"]


def test_convert_on_a_full_disk_is_one_line(tmp_path, torchvision_pth, almost_full_disk, capsys):
    target = tmp_path / "ckpt"
    assert main(["convert", "--from", "torchvision", str(torchvision_pth), "-o", str(target)]) != 0
    _one_error_line(capsys.readouterr(), str(target), "No space left on device", "MB")
    assert not target.exists()
    _no_debris(tmp_path)


def test_export_on_a_full_disk_is_refused_before_writing(tmp_path, almost_full_disk):
    import keras_alexnet
    from keras_alexnet.errors import NotEnoughSpaceError
    from keras_alexnet.export import export_model

    model = keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3))
    with pytest.raises(NotEnoughSpaceError, match="saved_model export"):
        export_model(model, tmp_path / "export", "saved_model")
    assert list(tmp_path.iterdir()) == []


def test_download_on_a_full_disk_is_refused_before_connecting(tmp_path, almost_full_disk):
    from keras_alexnet.errors import NotEnoughSpaceError
    from keras_alexnet.weights.download import download

    with pytest.raises(NotEnoughSpaceError, match=r"127\.0\.0\.1.*It needs 244\.4 MB"):
        download("http://127.0.0.1:9/alexnet.onnx", tmp_path / "alexnet.onnx", expected_size=244_408_911)
    assert list(tmp_path.iterdir()) == []
