"""Helpers to run `worker.py` training processes for the distribution and resume tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).with_name("worker.py")
ROOT = WORKER.parents[2]
BASE = dict(
    dataset="digits",
    limit=32,
    val_limit=16,
    image_size=12,
    resize=16,
    epochs=2,
    learning_rate=0.05,
    checkpoint_every=0,
    verbose=0,
    deterministic=True,
    seed=3,
)


def start(
    tmp_path: Path,
    name: str,
    config: dict,
    logical_cpus: int = 0,
    env: dict | None = None,
    sigkill_after_steps: int | None = None,
):
    """Start a worker; with `sigkill_after_steps` it SIGKILLs itself after that many steps (`fixtures.faults`)."""
    out = tmp_path / f"{name}.npz"
    args = {"config": BASE | {"run_dir": str(tmp_path / name)} | config, "out": str(out), "logical_cpus": logical_cpus}
    if sigkill_after_steps is not None:
        args["sigkill_after_steps"] = sigkill_after_steps
    full_env = os.environ | {"PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""} | (env or {})
    process = subprocess.Popen(
        [sys.executable, str(WORKER), json.dumps(args)],
        env=full_env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, out


def finish(process, timeout: int = 240) -> str:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"worker timed out:\n{output[-3000:]}")
    return output


def run(tmp_path: Path, name: str, config: dict, logical_cpus: int = 0, env: dict | None = None):
    process, out = start(tmp_path, name, config, logical_cpus, env)
    output = finish(process)
    assert process.returncode == 0, output[-3000:]
    return load(out)


_SHARED_RUNS: dict[str, list[np.ndarray]] = {}


def run_shared(tmp_path_factory, config: dict) -> list[np.ndarray]:
    """The weights of `run(..., config)`, run once per test session: tests that compare against the same
    uninterrupted run (same config, so the same weights) share it instead of each paying a process."""
    key = json.dumps(BASE | config, sort_keys=True)
    if key not in _SHARED_RUNS:
        _SHARED_RUNS[key] = run(tmp_path_factory.mktemp("shared_run"), "run", config)
    return _SHARED_RUNS[key]


def load(path: Path) -> list[np.ndarray]:
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def assert_same(a, b, **tolerance):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, **tolerance)
