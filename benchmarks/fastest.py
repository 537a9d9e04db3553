"""keras_alexnet's fast paths (`keras_alexnet.fast_predictor`) against the peer users pick for CPU inference.

Peers, run as their docs tell a user to: OpenVINO on the same ONNX graph ONNX Runtime runs (THROUGHPUT hint,
async queue; fp32, its default precision, and int8 by NNCF), OpenVINO's own `benchmark_app -hint throughput`
on that graph, ONNX Runtime fp32 and static int8 (QDQ), PyTorch eager fp32 and bf16 autocast, and
`torch.compile`. Ours: the TensorFlow-native fp32 and bf16 paths and `fast_predictor` at fp32, bf16 and int8
(runtime "auto": the fastest measured in that process). Every runtime runs in its own fresh process
(`benchmarks.worker`); its outputs on a fixed batch are checked against ONNX Runtime's before its timing counts.
The report names the CPU and its features: bf16 targets only mean something where the CPU has bf16.

`spread`: each keras_alexnet path in several fresh processes, (max - min) / median of images/s at batch 64.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from benchmarks import peers
from benchmarks.sections import Settings, _pool_runs, run_worker

PEERS = {
    "openvino fp32": ["--runtime", "openvino", "--ov-precision", "f32"],
    "openvino default precision": ["--runtime", "openvino", "--ov-precision", "default"],
    "openvino int8 (NNCF)": ["--runtime", "openvino", "--ov-precision", "int8"],
    "onnxruntime fp32": ["--runtime", "onnxruntime"],
    "onnxruntime int8 (static QDQ)": ["--runtime", "onnxruntime-int8"],
    "pytorch eager fp32": ["--runtime", "pytorch"],
    "pytorch bf16 autocast": ["--runtime", "pytorch", "--torch-mode", "bf16"],
    "torch.compile fp32": ["--runtime", "pytorch", "--torch-mode", "compile"],
}
#: The fp32 peers whatever the CPU ("openvino default precision" joins them where it computes in f32).
FP32_PEERS = ("openvino fp32", "onnxruntime fp32", "pytorch eager fp32", "torch.compile fp32")
OURS = {
    "keras_alexnet TF-native fp32": ["--runtime", "keras"],
    "keras_alexnet TF-native bf16": ["--runtime", "keras", "--dtype", "mixed_bfloat16"],
    "keras_alexnet fast fp32": ["--runtime", "fast", "--fast-precision", "fp32"],
    "keras_alexnet fast bf16": ["--runtime", "fast", "--fast-precision", "bf16"],
    "keras_alexnet fast int8": ["--runtime", "fast", "--fast-precision", "int8"],
}
#: Largest |difference| from ONNX Runtime's softmax outputs on 4 images that a path's timing may count with.
TOLERANCE = {"fp32": 1e-4, "f32": 1e-4, "bf16": 2e-2, "int8": 5e-2}


def _tolerance(name: str, entry: dict) -> float:
    if "int8" in name:
        return TOLERANCE["int8"]
    executes = entry.get("inference_precision", "")
    return TOLERANCE["bf16"] if ("bf16" in name or "bf16" in executes) else TOLERANCE["fp32"]


def benchmark_app(weights, seconds: int = 10) -> float | None:
    """OpenVINO's own `benchmark_app -hint throughput` figure (images/s) on the ONNX graph at batch 64."""
    import shutil
    import sys

    tool = shutil.which("benchmark_app") or str(Path(sys.executable).with_name("benchmark_app"))
    if not Path(tool).is_file():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        graph = peers.write_onnx(weights, f"{tmp}/alexnet.onnx")
        command = [
            tool,
            "-m",
            graph,
            "-d",
            "CPU",
            "-hint",
            "throughput",
            "-t",
            str(seconds),
            "-shape",
            "[64,3,227,227]",
        ]
        done = subprocess.run(command, capture_output=True, text=True)
    match = re.search(r"Throughput:\s+([\d.]+) FPS", done.stdout + done.stderr)
    return float(match.group(1)) if match else None


def fastest(settings: Settings, log) -> dict:
    """The table of images/s (batch 64), batch-1 latency, checks, and the issue's ratios, from one run."""
    weights = peers.bvlc_weights(seed=0)
    reference = peers.ort_predict(peers.ort_session(weights), peers.to_nchw(peers.sample_input(64)[:4]))
    runtimes = {**PEERS, **OURS}
    rounds = max(1, settings.rounds)
    per_round = ["--repeats", str(max(2, -(-settings.repeats // rounds))), "--batches", "64"]
    per_round += ["--latency-repeats", str(max(5, settings.latency_repeats // rounds))]
    pooled: dict[str, list[dict]] = {name: [] for name in runtimes}
    for _ in range(rounds):
        for name, arguments in runtimes.items():
            pooled[name].append(run_worker(settings, *arguments, *per_round))
    rows = {}
    for name, runs in pooled.items():
        entry = _pool_runs(runs)
        output = np.asarray(entry.pop("check_output"))
        diff = float(np.max(np.abs(output - reference)))
        tolerance = _tolerance(name, entry)
        if diff > tolerance:
            raise RuntimeError(f"{name} disagrees with ONNX Runtime: max |diff| = {diff:.3g} (tolerance {tolerance})")
        rows[name] = {
            "images_per_s": entry["batch_64"]["per_second"],
            "latency_ms": entry["latency_batch_1"],
            "computes_in": entry.get("inference_precision", "float32" if "fp32" in name else ""),
            "max_abs_diff_vs_ort": diff,
            **({"int8_top1_agreement_on_calibration": entry["agreement"]} if entry.get("agreement") else {}),
        }
        log(
            f"  {name:32s} {rows[name]['images_per_s']:7.1f} images/s; batch-1 median "
            f"{rows[name]['latency_ms']['median_ms']:.1f} ms, p90 {rows[name]['latency_ms']['p90_ms']:.1f} ms; "
            f"computes in {rows[name]['computes_in'] or '?'}; max |diff| vs ORT {diff:.2g}"
        )
    app = benchmark_app(weights, seconds=5 if settings.quick else 15)
    log(f"  OpenVINO benchmark_app -hint throughput (batch 64): {app} images/s")
    return {"cpu": peers.cpu_description(), "rows": rows, "benchmark_app_images_per_s": app, **_ratios(rows, log)}


def _ratios(rows: dict, log) -> dict:
    """The issue's targets as ratios within this run (a bf16 figure only where a bf16 path really ran in bf16)."""
    speed = {name: row["images_per_s"] for name, row in rows.items()}
    fp32_peers = list(FP32_PEERS)
    if rows["openvino default precision"]["computes_in"] in ("f32", "float32"):
        fp32_peers.append("openvino default precision")  # no bf16 on this CPU: OpenVINO's default is fp32
    bf16_paths = [
        name
        for name, row in rows.items()
        if ("bf16" in row["computes_in"] or "bfloat16" in row["computes_in"]) and "emulated" not in row["computes_in"]
    ]
    bf16_peers = [name for name in bf16_paths if not name.startswith("keras_alexnet")]
    ratios = {
        "fast_fp32_vs_best_fp32_peer": speed["keras_alexnet fast fp32"] / max(speed[n] for n in fp32_peers),
        "tf_native_fp32_vs_best_fp32_peer": speed["keras_alexnet TF-native fp32"] / max(speed[n] for n in fp32_peers),
        "fast_bf16_vs_best_bf16_peer": (
            speed["keras_alexnet fast bf16"] / max(speed[n] for n in bf16_peers) if bf16_peers else None
        ),
        "fast_int8_vs_fastest_bf16_path": (
            speed["keras_alexnet fast int8"] / max(speed[n] for n in bf16_paths) if bf16_paths else None
        ),
        "fast_int8_vs_fastest_fp32_path": speed["keras_alexnet fast int8"]
        / max(speed[n] for n in [*fp32_peers, "keras_alexnet fast fp32", "keras_alexnet TF-native fp32"]),
        "tf_native_bf16_vs_tf_native_fp32": (
            speed["keras_alexnet TF-native bf16"] / speed["keras_alexnet TF-native fp32"]
            if "keras_alexnet TF-native bf16" in bf16_paths else None
        ),
        # Any precision on both sides: the quickest answer a user can get from keras_alexnet vs from a peer.
        "fast_latency_vs_fastest_peer": min(rows[n]["latency_ms"]["median_ms"] for n in OURS)
        / min(rows[n]["latency_ms"]["median_ms"] for n in PEERS),
        "fast_latency_vs_fastest_peer_same_precision_fp32": min(
            rows[n]["latency_ms"]["median_ms"] for n in OURS if "fp32" in n
        ) / min(rows[n]["latency_ms"]["median_ms"] for n in fp32_peers),
    }  # fmt: skip
    for key, value in ratios.items():
        log(f"  {key}: {'n/a (no native bf16 path on this CPU)' if value is None else f'{value:.2f}x'}")
    return {"ratios": ratios}


#: Peers timed beside our paths in the spread section, as the control: the machine's own run-to-run noise.
SPREAD_CONTROLS = ("openvino fp32", "openvino default precision")


def spread(settings: Settings, log) -> dict:
    """Each keras_alexnet path, and `SPREAD_CONTROLS`, in `processes` fresh processes: images/s at batch 64 and
    (max - min) / median (the target counts our paths; a control as wide says the machine is noisy)."""
    processes = 3 if settings.quick else 7
    result = {}
    for name, arguments in {**OURS, **{name: PEERS[name] for name in SPREAD_CONTROLS}}.items():
        speeds = [
            run_worker(settings, *arguments, "--batches", "64", "--repeats", "3")["batch_64"]["per_second"]
            for _ in range(processes)
        ]
        median = float(np.median(speeds))
        result[name] = {"images_per_s": speeds, "median": median, "spread": (max(speeds) - min(speeds)) / median}
        log(f"  {name:32s} {processes} processes: {', '.join(f'{s:.1f}' for s in speeds)}; spread "
            f"{result[name]['spread']:.1%}")  # fmt: skip
    return result
