"""keras_alexnet.errors: the documented exception types, the free-space check and the ENOSPC translation."""

from __future__ import annotations

import errno
import pickle
import shutil

import pytest

from keras_alexnet.errors import (
    DamagedFileError,
    NotEnoughSpaceError,
    OperationFailedError,
    TrainingDivergedError,
    check_free_space,
    disk_full_as_error,
    format_bytes,
    read_json_file,
)


@pytest.fixture
def one_megabyte_free(monkeypatch):
    real = shutil.disk_usage
    measured = []

    def fake(path):
        measured.append(path)
        return real(path)._replace(free=10**6)

    monkeypatch.setattr(shutil, "disk_usage", fake)
    return measured


def test_check_free_space_names_path_needed_and_free(tmp_path, one_megabyte_free):
    target = tmp_path / "not" / "yet" / "there"
    check_free_space(target, 10**6, "a checkpoint")  # exactly enough
    with pytest.raises(NotEnoughSpaceError) as info:
        check_free_space(target, 3 * 10**9, "a checkpoint")
    error = info.value
    assert (error.path, error.needed, error.free, error.errno) == (target, 3 * 10**9, 10**6, errno.ENOSPC)
    assert isinstance(error, OSError) and error.filename == str(target)
    message = str(error)
    assert f"Writing a checkpoint to {target}" in message and "It needs 3.0 GB and 1.0 MB is free" in message
    assert one_megabyte_free[-1] == tmp_path  # the nearest existing directory is measured
    with pytest.raises(ValueError, match="Received: needed_bytes=-1"):
        check_free_space(tmp_path, -1, "x")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_disk_full_as_error_names_the_target(code, tmp_path, one_megabyte_free):
    target = tmp_path / "out"
    with (
        pytest.raises(NotEnoughSpaceError) as info,
        disk_full_as_error(target, needed_bytes=2 * 10**6, what="the export"),
    ):
        raise OSError(code, "No space left on device", str(target / ".staging" / "x"))
    assert info.value.path == tmp_path / "out" and info.value.free == 10**6
    assert "Writing the export to" in str(info.value) and "It needs 2.0 MB" in str(info.value)
    assert info.value.__cause__.errno == code


def test_disk_full_as_error_lets_other_errors_through(tmp_path):
    with pytest.raises(PermissionError), disk_full_as_error(tmp_path):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path))
    inner = NotEnoughSpaceError(tmp_path / "inner", needed=5)
    with pytest.raises(NotEnoughSpaceError) as info, disk_full_as_error(tmp_path / "outer"):
        raise inner
    assert info.value is inner


def test_errors_survive_pickling(tmp_path):
    """They cross process boundaries (multiprocessing workers, tf.data) intact."""
    for error in (
        NotEnoughSpaceError(tmp_path, needed=10, free=1, what="x"),
        DamagedFileError(tmp_path / "a.h5", "truncated", "fetch it again"),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error) and copy.path == error.path


def test_operation_failed_is_a_runtime_error():
    assert issubclass(TrainingDivergedError, OperationFailedError) and issubclass(OperationFailedError, RuntimeError)


def test_read_json_file(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}')
    assert read_json_file(path) == {"a": 1}
    path.write_text("[1]")
    assert read_json_file(path, expect=list) == [1]
    with pytest.raises(DamagedFileError, match="holds list where a JSON object was expected"):
        read_json_file(path)
    path.write_bytes(b"x" * 101)
    with pytest.raises(DamagedFileError, match="larger than 100 B"):
        read_json_file(path, max_bytes=100)
    with pytest.raises(FileNotFoundError):
        read_json_file(tmp_path / "missing.json")


def test_format_bytes():
    assert [format_bytes(n) for n in (0, 999, 1000, 1_500_000, 2.5e9, 3e12)] == [
        "0 B",
        "999 B",
        "1.0 KB",
        "1.5 MB",
        "2.5 GB",
        "3.0 TB",
    ]


def test_a_missing_optional_package_names_its_extra(monkeypatch):
    """`require` names the pip extra; the CLI prints it as one line (convert --verify in a core install)."""
    import builtins
    import sys

    from keras_alexnet.cli.main import describe_failure
    from keras_alexnet.errors import MissingDependencyError, require

    real_import = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name.split(".")[0] == "onnxruntime":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "onnxruntime", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    with pytest.raises(MissingDependencyError, match=r'pip install "keras-alexnet\[convert\]"') as error:
        require("onnxruntime", "convert", "Checking a conversion against ONNX Runtime (--verify)")
    assert describe_failure(error.value).startswith("Checking a conversion against ONNX Runtime")
    assert require("json", "convert", "x").dumps(1) == "1"
