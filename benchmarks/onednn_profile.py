"""Where keras_alexnet's TF-native path spends a batch: oneDNN's primitives (with the ISA each one runs on) vs the rest.

`python -m benchmarks.onednn_profile [--dtype mixed_bfloat16] [--batch 64]`

Runs the "original" AlexNet's compiled predict (`performance.compiled_predict`) with `ONEDNN_VERBOSE=1` in a
fresh process, and sums oneDNN's own per-primitive execution times by layer kind and implementation
(e.g. `brg_conv_fwd:avx512_core_amx` is AMX, `jit:avx512_core_bf16` the AVX512-BF16 path). What is not in
oneDNN's log (the XLA-compiled LRN, casts, pooling and concat where TensorFlow runs them itself) is the
wall time minus oneDNN's sum.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import os, sys, time
sys.path.insert(0, {root!r})
import numpy as np
from benchmarks import peers
from keras_alexnet.performance import compiled_predict
model = peers.keras_model(peers.bvlc_weights(0), dtype={dtype!r})
predict = compiled_predict(model)
x = peers.sample_input({batch})
for _ in range(3):
    predict(x)  # warm-up: oneDNN creates and caches its primitives here
print("=== timed", flush=True)
start = time.perf_counter()
for _ in range({repeats}):
    predict(x)
print(f"=== wall {{(time.perf_counter() - start) / {repeats} * 1000:.3f}}", flush=True)
"""


def profile(dtype: str | None, batch: int, repeats: int = 3) -> dict:
    root = str(Path(__file__).resolve().parents[1])
    code = CHILD.format(root=root, dtype=dtype, batch=batch, repeats=repeats)
    env = {**os.environ, "ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    timed, wall = False, None
    per_kind: dict[str, float] = collections.defaultdict(float)
    for line in done.stdout.splitlines():
        if line.startswith("=== timed"):
            timed = True
        elif line.startswith("=== wall"):
            wall = float(line.split()[-1])
        elif timed and line.startswith("onednn_verbose") and ",exec," in line:
            fields = line.split(",")
            # onednn_verbose,<time?>,primitive,exec,cpu,<kind>,<impl>,<prop>,<mem>,...,<ms>
            at = fields.index("exec")
            kind, impl = fields[at + 2], fields[at + 3]
            src = next((f for f in fields if f.startswith("src_") or f.startswith("src:")), "")
            per_kind[f"{kind} {impl} {src.split(':')[1] if ':' in src else ''}".strip()] += float(fields[-1])
    onednn = {k: v / repeats for k, v in sorted(per_kind.items(), key=lambda kv: -kv[1])}
    total = sum(onednn.values())
    return {"dtype": dtype or "float32", "batch": batch, "wall_ms": wall, "onednn_ms": total,
            "outside_onednn_ms": None if wall is None else wall - total, "primitives_ms": onednn}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default=None, help="Keras dtype policy (default float32)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--out", type=Path, default=None, help="write the profile as JSON here")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = profile(args.dtype, args.batch)
    print(f"{result['dtype']}, batch {result['batch']}: {result['wall_ms']:.1f} ms per batch, oneDNN "
          f"{result['onednn_ms']:.1f} ms, outside oneDNN {result['outside_onednn_ms']:.1f} ms")  # fmt: skip
    for name, ms in result["primitives_ms"].items():
        print(f"  {ms:8.2f} ms  {name}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
