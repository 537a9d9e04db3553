"""Download through an independent Hub-compatible server: olah (PyPI, MIT) serving a local git repository.

olah in offline mode serves `mirrors/models/<org>/<name>` git repositories as Hub
repos (large files as git-lfs pointers, objects under `.git/lfs/objects`). The
client runs in a subprocess so that it can point HF_ENDPOINT at olah (the test
session's huggingface_hub already points at tests/weights/hub_server.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow

REPO = "test-org/alexnet-olah"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
GIT_ENV |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}


def _git_repo_from_checkpoint(checkpoint, root):
    """A git repository holding the checkpoint, its .h5 files as git-lfs pointers."""
    repo = root / "mirrors" / "models" / REPO
    repo.parent.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    for path in checkpoint.iterdir():
        if not path.is_file():
            continue
        if path.suffix == ".h5":
            data = path.read_bytes()
            oid = hashlib.sha256(data).hexdigest()
            obj = repo / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
            obj.parent.mkdir(parents=True, exist_ok=True)
            obj.write_bytes(data)
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(data)}\n"
            (repo / path.name).write_text(pointer)
        else:
            shutil.copy(path, repo / path.name)
    env = dict(os.environ, **GIT_ENV)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "checkpoint"], check=True, env=env)
    return repo


@pytest.fixture(scope="module")
def olah(checkpoint, tmp_path_factory):
    root = tmp_path_factory.mktemp("olah")
    repo = _git_repo_from_checkpoint(checkpoint[0], root)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (root / "olah.toml").write_text(
        textwrap.dedent(f"""
        [basic]
        host = "127.0.0.1"
        port = {port}
        mirrors-path = ["{root / "mirrors"}"]
        repos-path = "{root / "repos"}"
        [accessibility]
        offline = true
        """)
    )
    log = open(root / "olah.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "olah.server", "-c", str(root / "olah.toml")], cwd=root, stdout=log, stderr=log
    )
    endpoint = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{endpoint}/api/models/{REPO}/revision/main", timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"olah did not start: {(root / 'olah.log').read_text()[-2000:]}")
        time.sleep(0.5)
    yield endpoint, repo, root
    process.terminate()
    process.wait(timeout=30)
    log.close()


def _client(endpoint, root, script, hf_home):
    env = dict(
        os.environ,
        HF_ENDPOINT=endpoint,
        HF_HOME=str(root / hf_home),
        HF_HUB_DISABLE_XET="1",
        KERAS_ALEXNET_CACHE=str(root / "ka_cache"),
        PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]),
    )
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)


def test_pull_through_olah_is_bit_identical(olah, checkpoint, tmp_path):
    endpoint, _, root = olah
    script = textwrap.dedent(f"""
        import numpy as np, keras, keras_alexnet
        a = keras_alexnet.AlexNet(weights="hf://{REPO}", classes=10)
        b = keras.saving.load_model("hf://{REPO}", compile=False)  # a KerasHub preset's config.json: the backbone
        np.savez(r"{tmp_path / "a.npz"}", *a.get_weights())
        np.savez(r"{tmp_path / "b.npz"}", *b.get_weights())
    """)
    result = _client(endpoint, root, script, "hf_ok")
    assert result.returncode == 0, result.stderr[-3000:]
    for name, expected in (("a.npz", checkpoint[1]), ("b.npz", checkpoint[1][:10])):  # conv1..conv5 come first
        loaded = np.load(tmp_path / name)
        got = [loaded[f"arr_{i}"] for i in range(len(loaded.files))]
        assert len(got) == len(expected)
        for x, y in zip(got, expected, strict=True):
            np.testing.assert_array_equal(x, y)


def test_corrupted_lfs_object_on_olah_is_rejected(olah, checkpoint):
    endpoint, repo, root = olah
    objects = sorted((repo / ".git" / "lfs" / "objects").rglob("*"), key=lambda p: p.stat().st_size)
    biggest = objects[-1]
    original = biggest.read_bytes()
    biggest.write_bytes(bytes([original[0] ^ 0xFF]) + original[1:])
    try:
        script = textwrap.dedent(f"""
            import keras_alexnet
            from keras_alexnet.weights.checksums import ChecksumMismatchError
            try:
                keras_alexnet.AlexNet(weights="hf://{REPO}", classes=10)
            except ChecksumMismatchError as error:
                print("MISMATCH", error)
        """)
        result = _client(endpoint, root, script, "hf_corrupt")
    finally:
        biggest.write_bytes(original)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MISMATCH task.weights.h5" in result.stdout  # the biggest file: fc6, fc7, predictions
    assert hashlib.sha256(original).hexdigest() in result.stdout
