"""benchmarks/report.py and benchmarks/fastest.py turn measured figures into the issue's ratios and tables.

Synthetic figures with known ratios go in; the ratios, the met/missed verdicts and the rows come out.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks import fastest, report  # noqa: E402


def _row(images_per_s: float, computes_in: str, latency_ms: float = 10.0) -> dict:
    latency = {"median_ms": latency_ms, "p90_ms": latency_ms * 1.1}
    return {"images_per_s": images_per_s, "latency_ms": latency, "computes_in": computes_in, "max_abs_diff_vs_ort": 0}


@pytest.fixture
def rows():
    speeds = {
        "openvino fp32": (200, "f32", 8.0),
        "openvino default precision": (700, "bf16", 5.0),
        "openvino int8 (NNCF)": (900, "f32 + int8", 4.0),
        "onnxruntime fp32": (100, "float32", 9.0),
        "onnxruntime int8 (static QDQ)": (120, "int8", 9.0),
        "pytorch eager fp32": (60, "float32", 20.0),
        "pytorch bf16 autocast": (90, "bfloat16", 15.0),
        "torch.compile fp32": (80, "float32", 12.0),
        "keras_alexnet TF-native fp32": (150, "float32", 10.0),
        "keras_alexnet TF-native bf16": (300, "bfloat16", 6.0),
        "keras_alexnet fast fp32": (210, "openvino f32", 7.0),
        "keras_alexnet fast bf16": (770, "openvino bf16", 4.5),
        "keras_alexnet fast int8": (1400, "openvino f32 + int8", 3.0),
    }
    assert set(speeds) == set(fastest.PEERS) | set(fastest.OURS)  # every row of the section is here
    return {name: _row(*values) for name, values in speeds.items()}


def test_ratios_take_the_fastest_peer_of_each_precision(rows):
    ratios = fastest._ratios(rows, log=lambda _: None)["ratios"]
    assert ratios["fast_fp32_vs_best_fp32_peer"] == pytest.approx(210 / 200)
    assert ratios["fast_bf16_vs_best_bf16_peer"] == pytest.approx(770 / 700)
    assert ratios["fast_int8_vs_fastest_bf16_path"] == pytest.approx(1400 / 770)
    assert ratios["tf_native_bf16_vs_tf_native_fp32"] == pytest.approx(2.0)
    assert ratios["fast_latency_vs_fastest_peer"] == pytest.approx(3.0 / 4.0)
    assert ratios["fast_latency_vs_fastest_peer_same_precision_fp32"] == pytest.approx(7.0 / 8.0)


def test_emulated_bf16_counts_as_no_bf16(rows):
    rows["openvino default precision"]["computes_in"] = "f32"  # a CPU without bf16: OpenVINO's default is f32
    for name in ("keras_alexnet TF-native bf16", "pytorch bf16 autocast"):
        rows[name]["computes_in"] = "bfloat16 (emulated)"
    rows["keras_alexnet fast bf16"]["computes_in"] = "tensorflow bfloat16 (emulated)"
    ratios = fastest._ratios(rows, log=lambda _: None)["ratios"]
    assert ratios["fast_bf16_vs_best_bf16_peer"] is None and ratios["tf_native_bf16_vs_tf_native_fp32"] is None
    assert ratios["fast_fp32_vs_best_fp32_peer"] == pytest.approx(210 / 700)  # OpenVINO's default joins fp32


def test_summary_and_markdown_show_every_target(rows):
    results = {
        "machine": {"cpu": "Test CPU", "cores": 2, "cpu_flags": ["amx_bf16"], "versions": {"keras": "3"}},
        "settings": {"quick": False},
        "loadavg_before": [0, 0, 0],
        "peak": {"peak_float32_gflops": 300.0, "gflops": {"numpy_float32": 300.0}, "matmul_size": 4096},
        "fastest": {"cpu": {"model": "Test CPU", "features": ["amx_bf16"], "usable_cpus": 2}, "rows": rows,
                    **fastest._ratios(rows, log=lambda _: None)},
        "spread": {"keras_alexnet fast fp32": {"images_per_s": [100, 105, 110], "spread": 0.1 / 1.05}},
        "agreement": {"top1_agreement": 1.0, "fast_paths": {
            "images": 10, "calibration_images": 5, "input_size": 227, "fp32_top1_accuracy": 0.9,
            "int8 openvino": {"top1": 0.98, "mean_kl": 1e-3, "cosine": 0.999, "computes_in": "f32 + int8"}}},
    }  # fmt: skip
    results["summary"] = summary = report.summary(results)
    targets = summary["targets"]
    assert targets["fast_fp32_vs_best_fp32_peer"]["met"] is True
    assert targets["int8_top1_agreement_trained"]["measured"] == 0.98 and targets["int8_top1_agreement_trained"][
        "met"] is False  # fmt: skip
    assert targets["max_spread"]["met"] is True
    assert targets["tf_native_fp32_fraction_of_ceiling"]["measured"] == pytest.approx(150 * 1.4488 / 300, rel=1e-3)
    table = report.markdown(results)
    assert "| int8 openvino | f32 + int8 | 98.00% | 1.00e-03 | 0.99900 |" in table
    assert "| keras_alexnet fast int8 | 1400.0 |" in table and "| torch.compile fp32 | 80.0 |" in table
