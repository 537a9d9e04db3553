"""keras_alexnet.cpus: the CPU quota of cgroup v2 and v1 files, and the thread variables it sets."""

from __future__ import annotations

import subprocess
import sys

import pytest

from keras_alexnet import cpus


def _cgroup_v2(tmp_path, text: str):
    (tmp_path / "cpu.max").write_text(text)
    return tmp_path


def _cgroup_v1(tmp_path, quota: int, period: int):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text(f"{quota}\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text(f"{period}\n")
    return tmp_path


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda p: _cgroup_v2(p, "150000 100000\n"), 2),  # 1.5 CPUs: two threads keep it busy
        (lambda p: _cgroup_v2(p, "max 100000\n"), None),
        (lambda p: _cgroup_v1(p, 100000, 100000), 1),
        (lambda p: _cgroup_v1(p, -1, 100000), None),
        (lambda p: p, None),  # no cgroup files at all
    ],
)
def test_quota_cpus_reads_both_cgroup_versions(tmp_path, make, expected):
    assert cpus.quota_cpus(make(tmp_path)) == expected


def test_a_quota_below_the_affinity_sets_the_thread_variables_but_never_the_users(tmp_path, monkeypatch):
    monkeypatch.setattr(cpus, "affinity_cpus", lambda: 8)
    root = _cgroup_v2(tmp_path, "200000 100000")
    assert cpus.usable_cpus(root) == 2
    assert cpus.limit_threads_to_quota(root, environ := {}) == {"OMP_NUM_THREADS": "2"} and environ
    assert cpus.limit_threads_to_quota(root, environ := {"OMP_NUM_THREADS": "3"}) == {}
    assert environ == {"OMP_NUM_THREADS": "3"}
    assert cpus.limit_threads_to_quota(_cgroup_v2(tmp_path, "max 100000"), environ := {}) == {} and environ == {}


def test_tensorflow_gets_a_pool_of_the_quota_when_it_is_imported(tmp_path):
    """In a fresh process: a quota of 1 CPU (of 2 in the mask) gives TensorFlow a one-thread intra-op pool."""
    _cgroup_v2(tmp_path, "100000 100000")
    code = (
        "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n"
        "from pathlib import Path\n"
        "from keras_alexnet import cpus\n"
        "cpus.affinity_cpus = lambda: 2\n"
        f"cpus.limit_threads_to_quota(Path({str(tmp_path)!r}), {{}})\n"
        "import tensorflow as tf\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "1"
