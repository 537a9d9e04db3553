"""Distribution: MirroredStrategy over 2 logical CPUs, 2-worker MultiWorkerMirroredStrategy, custom loop = fit.

Every run trains the same tiny convnet (no dropout) on 32 embedded digits for 2 epochs of 4 steps with
global batch 8, in its own process (logical devices must be configured before TensorFlow starts).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
from procs import assert_same, finish, load, run, run_shared, start

#: The uninterrupted runs of tests/training/test_resume.py: shared (`run_shared`), each runs once.
FIT = {"strategy": "none", "loop": "fit", "batch_size": 8, "checkpoint_every": 0}
CUSTOM = {"strategy": "none", "loop": "custom", "batch_size": 8, "checkpoint_every": 3}


@pytest.fixture(scope="module")
def single_fit(tmp_path_factory):
    """The reference: one device, model.fit, batch 8."""
    return run_shared(tmp_path_factory, FIT)


@pytest.mark.slow
@pytest.mark.multiprocess
def test_custom_loop_equals_fit_on_one_replica(tmp_path_factory, single_fit):
    # with checkpoints every 3 steps (as the resume test's run): saving them does not change the training
    custom = run_shared(tmp_path_factory, CUSTOM)
    assert_same(custom, single_fit, rtol=1e-5, atol=1e-6)
    untrained = tmp_path_factory.mktemp("untrained")
    initial = run(untrained, "untrained", {"strategy": "none", "batch_size": 8, "epochs": 1, "steps_per_epoch": 1})
    assert max(np.abs(a - b).max() for a, b in zip(initial, single_fit, strict=True)) > 1e-4  # training moved


@pytest.mark.slow
@pytest.mark.multiprocess
@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_mirrored_two_logical_cpus_equals_single_device(tmp_path, single_fit, loop):
    mirrored = run(tmp_path, "mirrored", {"strategy": "mirrored", "loop": loop, "batch_size": 4}, logical_cpus=2)
    info = json.loads((tmp_path / "mirrored.npz.json").read_text())["derived"]
    assert info["replicas"] == 2 and info["global_batch_size"] == 8 and info["strategy"] == "MirroredStrategy"
    # fp32 tolerance: the all-reduce sums the two half-batch gradients in another order (seen: 6e-6).
    assert_same(mirrored, single_fit, rtol=1e-4, atol=3e-5)


@pytest.mark.slow
@pytest.mark.multiprocess
def test_multi_worker_two_processes_on_localhost(tmp_path, single_fit):
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    processes = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        processes.append(
            start(
                tmp_path,
                f"worker{index}",
                {"strategy": "multiworker", "batch_size": 4, "run_dir": str(tmp_path / "run")},
                env={"TF_CONFIG": tf_config},
            )
        )
    outputs = [finish(p) for p, _ in processes]
    for (process, _), output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]
    worker0, worker1 = (load(out) for _, out in processes)
    assert_same(worker0, worker1, rtol=0, atol=0)  # identical on both workers
    assert_same(worker0, single_fit, rtol=1e-4, atol=3e-5)  # and the same as fit on one device, batch 8
    info = json.loads(Path(str(processes[0][1]) + ".json").read_text())["derived"]
    assert info["loop"] == "custom" and info["replicas"] == 2 and info["global_batch_size"] == 8
    assert (tmp_path / "run" / "checkpoints" / "checkpoint").is_file()
