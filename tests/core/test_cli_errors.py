"""Every failure a user meets on the command line is one line naming the file or host, never a traceback.

`test_failure_is_one_clear_line` drives each case through `keras-alexnet` (`main()` in this process) and
checks: a non-zero exit, one `keras-alexnet COMMAND: error: ...` line (or argparse's usage error), no
"Traceback", and the path or host named. OS failures that cannot be produced for real here (permission
denied as root, a full disk) are raised by the lowest-level call (`savefig`, `shutil.disk_usage`), so the
package's own handling between that call and the CLI is what is tested.
"""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import socket
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

from keras_alexnet.cli.main import INTERRUPTED_EXIT, main

Case = namedtuple("Case", "argv expected")


# -- fixtures for the cases ----------------------------------------------------------------------------------------
def _run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "log.csv").write_text("epoch,loss,top1_error,top5_error,learning_rate\n0,2.0,0.9,0.5,0.01\n")
    return run


def _hdf5(path: Path) -> Path:
    import h5py

    with h5py.File(path, "w") as file:
        file.create_dataset("layers/conv1/vars/0", data=np.zeros((11, 11, 3, 64), "float32"))
    return path


def _checkpoint_dir(tmp_path: Path, network_json: str) -> Path:
    directory = tmp_path / "ckpt"
    directory.mkdir()
    (directory / "keras_alexnet.json").write_text(network_json)
    return directory


def _hub_cache(tmp_path, monkeypatch, files: dict[str, bytes], repo_id: str = "test-org/hostile") -> str:
    """A Hugging Face cache holding `files` as `repo_id`@main, used offline (no server, nothing downloaded)."""
    import huggingface_hub.constants

    cache = tmp_path / "hf_cache"
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name, data in files.items():
        (snapshot / name).write_bytes(data)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return f"hf://{repo_id}"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _raise(error: BaseException):
    def fail(*args, **kwargs):
        raise error

    return fail


# -- the cases -----------------------------------------------------------------------------------------------------
def permission_denied(tmp_path, monkeypatch):
    import matplotlib.figure

    target = tmp_path / "curves.png"
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _raise(PermissionError(13, "Permission denied", target)))
    return Case(["plot", _run_dir(tmp_path), "--output", target], ["permission denied", str(target)])


def is_a_directory(tmp_path, monkeypatch):
    target = tmp_path / "curves.png"
    target.mkdir()
    return Case(["plot", _run_dir(tmp_path), "--output", target], ["is a directory", str(target)])


def not_a_directory(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("x")
    target = tmp_path / "afile" / "sub" / "curves.png"
    return Case(["plot", _run_dir(tmp_path), "--output", target], ["a file, where a directory", "afile"])


def disk_full_mid_write(tmp_path, monkeypatch):
    import matplotlib.figure

    target = tmp_path / "curves.png"
    error = OSError(errno.ENOSPC, "No space left on device", str(target))
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _raise(error))
    return Case(["plot", _run_dir(tmp_path), "--output", target], ["disk is full", str(target)])


def not_enough_space_for_export(tmp_path, monkeypatch):
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: real(path)._replace(free=10**6))
    out = tmp_path / "features"
    argv = ["export", out, "--format", "onnx", "--weights", "none", "--no-top", "--input-size", "67"]
    return Case(argv, ["No space left on device", str(out), "1.0 MB is free", "It needs"])


def random_bytes_weights_h5(tmp_path, monkeypatch):
    path = tmp_path / "random.weights.h5"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    return Case(["kernels", "--weights", path, "-o", tmp_path / "k.png"], [str(path), "is damaged", "fetch"])


def truncated_weights_h5(tmp_path, monkeypatch):
    path = _hdf5(tmp_path / "truncated.weights.h5")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return Case(["kernels", "--weights", path, "-o", tmp_path / "k.png"], [str(path), "truncated file"])


def random_bytes_keras(tmp_path, monkeypatch):
    path = tmp_path / "random.keras"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    return Case(["kernels", "--weights", path, "-o", tmp_path / "k.png"], [str(path), "not a .keras (zip) archive"])


def empty_keras_to_predict(tmp_path, monkeypatch):
    from PIL import Image

    image = tmp_path / "image.png"
    Image.new("RGB", (64, 64)).save(image)
    path = tmp_path / "empty.keras"
    path.write_bytes(b"")
    return Case(["predict", image, "--weights", path], [str(path), "it is empty"])


def network_json_not_json(tmp_path, monkeypatch):
    directory = _checkpoint_dir(tmp_path, '{"variant": "torchvision", "classes": 10')
    return Case(["kernels", "--weights", directory, "-o", tmp_path / "k.png"], ["keras_alexnet.json", "not valid JSON"])


def network_json_a_list(tmp_path, monkeypatch):
    directory = _checkpoint_dir(tmp_path, "[1, 2, 3]")
    return Case(["kernels", "--weights", directory, "-o", tmp_path / "k.png"], ["keras_alexnet.json", "JSON object"])


def network_json_missing_keys(tmp_path, monkeypatch):
    directory = _checkpoint_dir(tmp_path, '{"variant": "torchvision"}')
    return Case(["kernels", "--weights", directory, "-o", tmp_path / "k.png"], ["keras_alexnet.json", "'classes'"])


def network_json_wrong_type(tmp_path, monkeypatch):
    directory = _checkpoint_dir(tmp_path, '{"variant": "torchvision", "classes": "ten"}')
    return Case(["kernels", "--weights", directory, "-o", tmp_path / "k.png"], ["keras_alexnet.json", "classes='ten'"])


def network_json_unknown_variant(tmp_path, monkeypatch):
    directory = _checkpoint_dir(tmp_path, '{"variant": "vgg16", "classes": 10}')
    return Case(["kernels", "--weights", directory, "-o", tmp_path / "k.png"], ["keras_alexnet.json", "'vgg16'"])


def hub_checksums_not_json(tmp_path, monkeypatch):
    uri = _hub_cache(tmp_path, monkeypatch, {"checksums.json": b"\x00\xffnot json"})
    return Case(["kernels", "--weights", uri, "-o", tmp_path / "k.png"], ["checksums.json", "test-org/hostile"])


def hub_checksums_path_out_of_the_repo(tmp_path, monkeypatch):
    entries = {"keras_alexnet.json": "0" * 64, "../../outside.txt": "1" * 64}
    uri = _hub_cache(tmp_path, monkeypatch, {"checksums.json": json.dumps(entries).encode()})
    return Case(
        ["kernels", "--weights", uri, "-o", tmp_path / "k.png"],
        ["checksums.json", "'../../outside.txt'", "not a plain file name", "test-org/hostile"],
    )


def hub_network_json_wrong_shape(tmp_path, monkeypatch):
    network = b'{"variant": ["torchvision"], "classes": -3}'
    checksums = {"keras_alexnet.json": hashlib.sha256(network).hexdigest()}
    files = {"checksums.json": json.dumps(checksums).encode(), "keras_alexnet.json": network}
    uri = _hub_cache(tmp_path, monkeypatch, files)
    return Case(["kernels", "--weights", uri, "-o", tmp_path / "k.png"], ["keras_alexnet.json", "test-org/hostile"])


def push_to_unreachable_hub(tmp_path, monkeypatch):
    import huggingface_hub.constants
    import huggingface_hub.hf_api  # noqa: F401  its module-level HfApi (huggingface_hub.create_repo & co.) keeps the
    # endpoint of the moment it is first imported: import it before the patch, or it points at the closed port for
    # the rest of the session (KerasHub's upload_preset calls huggingface_hub.create_repo)

    endpoint = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", endpoint)
    directory = _checkpoint_dir(tmp_path, '{"variant": "torchvision", "classes": 10}')
    (directory / "checksums.json").write_text("{}")
    return Case(["push", directory, "--repo-id", "test-org/unreachable"], [endpoint, "cannot reach", "HF_ENDPOINT"])


def interrupted(tmp_path, monkeypatch):
    import keras_alexnet.cli.info

    monkeypatch.setattr(keras_alexnet.cli.info, "run", _raise(KeyboardInterrupt()))
    return Case(["info"], ["keras-alexnet info: interrupted"])


def _usage(argv, option):
    def case(tmp_path, monkeypatch):
        return Case(argv, [f"argument {option}", "Received:"])

    case.__name__ = f"usage_{option.strip('-').replace('-', '_')}_{argv[0]}"
    return case


CASES = [
    permission_denied,
    is_a_directory,
    not_a_directory,
    disk_full_mid_write,
    not_enough_space_for_export,
    random_bytes_weights_h5,
    truncated_weights_h5,
    random_bytes_keras,
    empty_keras_to_predict,
    network_json_not_json,
    network_json_a_list,
    network_json_missing_keys,
    network_json_wrong_type,
    network_json_unknown_variant,
    hub_checksums_not_json,
    hub_checksums_path_out_of_the_repo,
    hub_network_json_wrong_shape,
    push_to_unreachable_hub,
    interrupted,
    _usage(["predict", "x.jpg", "--batch-size", "0"], "--batch-size"),
    _usage(["embed", "images", "-o", "index", "--batch-size", "-1"], "--batch-size"),
    _usage(["evaluate", "--batch-size", "zero"], "--batch-size"),
    _usage(["neighbours", "query.jpg", "--index", "index", "-k", "0"], "-k"),
    _usage(["info", "--no-top", "--input-size", "-67"], "--input-size"),
]


@pytest.mark.parametrize("make_case", CASES, ids=[case.__name__ for case in CASES])
def test_failure_is_one_clear_line(make_case, tmp_path, monkeypatch, capsys):
    case = make_case(tmp_path, monkeypatch)
    argv = [str(a) for a in case.argv]
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's usage errors
        code = exit.code
    err = capsys.readouterr().err
    assert code not in (0, None), err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("keras-alexnet")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"keras-alexnet {argv[0]}"), err
    for expected in case.expected:
        assert expected in lines[0], f"{expected!r} not in {lines[0]!r}"
    if make_case is interrupted:
        assert code == INTERRUPTED_EXIT


def test_hostile_checksums_never_read_outside_the_directory(tmp_path, monkeypatch):
    """verify_checksums with '../' names: refused before any file outside is opened (hashed)."""
    from keras_alexnet.errors import DamagedFileError
    from keras_alexnet.weights import checkpoint, checksums

    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    directory = tmp_path / "ckpt"
    directory.mkdir()
    opened = []
    monkeypatch.setattr(checkpoint, "sha256_file", lambda path: opened.append(path) or "0" * 64)
    monkeypatch.setattr(checksums, "sha256_file", lambda path: opened.append(path) or "0" * 64)
    for name in ("../outside.txt", str(outside), "sub/../../outside.txt", ""):
        (directory / "checksums.json").write_text(json.dumps({name: "0" * 64}))
        with pytest.raises(DamagedFileError, match="not a plain file name"):
            checkpoint.verify_checksums(directory)
    assert opened == []


def test_debug_reraises_before_and_after_the_command(tmp_path, monkeypatch):
    from keras_alexnet.errors import DamagedFileError

    case = random_bytes_weights_h5(tmp_path, monkeypatch)
    argv = [str(a) for a in case.argv]
    with pytest.raises(DamagedFileError):
        main(["--debug", *argv])
    with pytest.raises(DamagedFileError):
        main([*argv, "--debug"])
    with pytest.raises(KeyboardInterrupt):
        interrupted(tmp_path, monkeypatch)
        main(["info", "--debug"])


def test_unexpected_exception_is_not_swallowed(monkeypatch):
    import keras_alexnet.cli.info

    monkeypatch.setattr(keras_alexnet.cli.info, "run", _raise(ZeroDivisionError("a bug")))
    with pytest.raises(ZeroDivisionError, match="a bug"):
        main(["info"])
    # An OSError that names no file and a RuntimeError from a library are bugs too: their traceback is kept.
    monkeypatch.setattr(keras_alexnet.cli.info, "run", _raise(OSError("Unable to do something")))
    with pytest.raises(OSError, match="Unable to do something"):
        main(["info"])
    monkeypatch.setattr(keras_alexnet.cli.info, "run", _raise(RuntimeError("inside TensorFlow")))
    with pytest.raises(RuntimeError, match="inside TensorFlow"):
        main(["info"])


@pytest.mark.slow  # a fresh interpreter imports TensorFlow (~10 s)
def test_debug_shows_the_traceback_in_a_real_process(tmp_path):
    path = tmp_path / "random.weights.h5"
    path.write_bytes(b"\x89HDF-but-not-really" * 100)
    argv = [sys.executable, "-m", "keras_alexnet.cli.main", "kernels", "--weights", str(path), "-o", "k.png"]
    quiet = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    assert f"keras-alexnet kernels: error: {path} is damaged" in quiet.stderr
    loud = subprocess.run([*argv[:3], "--debug", *argv[3:]], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert loud.returncode == 1
    assert "Traceback (most recent call last)" in loud.stderr and "DamagedFileError" in loud.stderr
