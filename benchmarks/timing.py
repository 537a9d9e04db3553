"""Timing helpers and a description of the machine a benchmark ran on."""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import time
from collections.abc import Callable


@dataclasses.dataclass
class Timing:
    """Seconds of each repeat (after warm-up) of a callable that processes `items` items."""

    seconds: list[float]
    items: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def per_second(self) -> float:
        """Items per second of the median repeat."""
        return self.items / self.median

    def percentile(self, q: float) -> float:
        ordered = sorted(self.seconds)
        index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
        return ordered[index]

    def to_dict(self) -> dict:
        return {"items": self.items, "median_s": self.median, "per_second": self.per_second, "seconds": self.seconds}


def measure(fn: Callable[[], object], *, items: int, repeats: int, warmup: int = 1) -> Timing:
    """Call `fn` `warmup` times untimed, then `repeats` times timed."""
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return Timing(seconds, items)


def loadavg() -> list[float] | None:
    try:
        with open("/proc/loadavg", encoding="utf-8") as f:
            return [float(v) for v in f.read().split()[:3]]
    except OSError:
        return None


def _cpuinfo_lines() -> list[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return f.read().splitlines()
    except OSError:
        return []


def cpu_model() -> str:
    for line in _cpuinfo_lines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def cpu_flags() -> list[str]:
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_vnni")
    for line in _cpuinfo_lines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return [f for f in wanted if f in flags]
    return []


def library_versions() -> dict[str, str | None]:
    from importlib import metadata

    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("keras", "tensorflow", "jax", "torch", "onnxruntime", "onnx", "numpy", "keras-alexnet"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    if versions["keras-alexnet"] is None:
        from keras_alexnet.version import __version__

        versions["keras-alexnet"] = __version__
    return versions


def machine_info() -> dict:
    """CPU model, core count, relevant ISA flags, memory, library versions and the current load."""
    try:
        memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        memory_gib = None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cpu_flags": cpu_flags(),
        "memory_gib": memory_gib,
        "platform": platform.platform(),
        "gpu": "none (CPU only)",
        "versions": library_versions(),
    }
