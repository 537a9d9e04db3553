"""How many CPUs this process may really use: its affinity mask, capped by a cgroup CPU quota.

TensorFlow sizes its thread pools by the CPUs in the affinity mask, and OpenVINO and PyTorch by the
host's cores; neither looks at a container's CPU quota (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us`).
A process with a quota of 2 CPUs on a 64-core host then runs 64 threads that the kernel throttles in
turn, which is slow and erratic. `limit_threads_to_quota()` (called when `keras_alexnet` is imported)
sets, where the quota is the smaller and unless the user set them, `OMP_NUM_THREADS` to it and
TensorFlow's intra-op pool to it as soon as TensorFlow is imported (before it starts its pools).

Example:

>>> from keras_alexnet.cpus import usable_cpus
>>> usable_cpus() >= 1
True
"""

from __future__ import annotations

import math
import os
from pathlib import Path

#: The environment variable OpenMP runtimes size their pools by, set by `limit_threads_to_quota`.
THREAD_VARIABLES = ("OMP_NUM_THREADS",)
#: Where a cgroup's CPU quota is read (v2, then v1).
CGROUP_ROOT = Path("/sys/fs/cgroup")


def affinity_cpus() -> int:
    """The CPUs in this process's affinity mask (`os.cpu_count()` where the OS has no mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def quota_cpus(root: Path = CGROUP_ROOT) -> int | None:
    """The cgroup CPU quota in whole CPUs (rounded up), or None where there is none."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]  # cgroup v2: "max 100000" or "200000 100000"
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
        return None
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())  # cgroup v1: -1 when unlimited
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return max(1, math.ceil(quota / period)) if quota > 0 and period > 0 else None


def usable_cpus(root: Path = CGROUP_ROOT) -> int:
    """The smaller of the affinity mask and the cgroup quota: the CPUs this process can keep busy."""
    quota = quota_cpus(root)
    return min(affinity_cpus(), quota) if quota else affinity_cpus()


def limit_threads_to_quota(root: Path = CGROUP_ROOT, environ=os.environ) -> dict[str, str]:
    """Where a cgroup quota is below the affinity mask, size the thread pools by it; returns the variables set.

    `THREAD_VARIABLES` are set unless the user set them; TensorFlow's intra-op pool is set when TensorFlow is
    imported, unless the program configured it first (or TensorFlow had already started).
    """
    quota = quota_cpus(root)
    if quota is None or quota >= affinity_cpus():
        return {}
    changed = {name: str(quota) for name in THREAD_VARIABLES if name not in environ}
    environ.update(changed)
    if "TF_NUM_INTRAOP_THREADS" not in environ:
        from keras_alexnet.registration import when_imported

        when_imported("tensorflow", lambda tf: _size_tensorflow_pool(tf, quota))
    return changed


def _size_tensorflow_pool(tf, threads: int) -> None:
    try:
        if tf.config.threading.get_intra_op_parallelism_threads() == 0:  # 0: TensorFlow's default, not the user's
            tf.config.threading.set_intra_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already runs: too late, and nothing to undo
        pass
