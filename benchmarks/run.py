"""Run the keras_alexnet benchmarks: `python -m benchmarks.run [--quick] [--sections ...]`.

Prints a table, writes `results.json`, `results.md` and `results.png` to
`--output` (default `benchmarks/results/`). Every figure is the median of
several repeats after a warm-up; every comparison is a ratio of figures from
the same run. The full run takes about 8 minutes on two cores; `--quick`
about 3.

Example:

    python -m benchmarks.run --quick --sections inference,peak
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

SECTIONS = (
    "peak", "inference", "fastest", "spread", "jax", "ablations", "threads", "training", "pipeline", "loading",
    "agreement", "batch",
)  # fmt: skip
#: Sections left out unless asked for: they explain choices rather than measure the package, or (agreement)
#: repeat, with trained weights, what the inference section measures, or (batch: streaming predict's memory slope
#: and rates, benchmarks/batch_predict.py) take ~12 minutes of their own.
#: spread: each keras_alexnet path in 7 fresh processes (benchmarks/fastest.py), about 10 minutes.
OPTIONAL = ("ablations", "threads", "agreement", "batch", "spread")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats and fewer batch sizes (for development)")
    parser.add_argument(
        "--sections",
        default=",".join(s for s in SECTIONS if s not in OPTIONAL),
        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all but {','.join(OPTIONAL)}); "
        "'all' for every section",
    )
    parser.add_argument(
        "--agreement-weights",
        default=None,
        help="weights for the bf16/fp32 top-1 agreement (a checkpoint, 'imagenet', ...); default: random weights",
    )
    parser.add_argument(
        "--agreement-run",
        default=None,
        help="a `keras-alexnet train` run directory: bf16/fp32 agreement of its model.keras on its validation images",
    )
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results", help="output folder")
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    if args.sections == ["all"]:
        args.sections = list(SECTIONS)
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {SECTIONS}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

    from benchmarks import batch_predict, fastest, report, sections
    from benchmarks.timing import loadavg, machine_info

    settings = sections.Settings.make(args.quick)
    settings.agreement_weights = args.agreement_weights
    settings.agreement_run = args.agreement_run
    results: dict = {
        "settings": vars(settings),
        "machine": machine_info(),
        "loadavg_before": loadavg(),
        "macs_per_image": sections.macs_per_image(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    start = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f}s] {message}", flush=True)

    log(f"machine: {results['machine']['cpu']}, {results['machine']['cores']} cores, load {results['loadavg_before']}")
    runners = {
        "peak": ("peak", sections.peak),
        "inference": ("inference", sections.inference),
        "fastest": ("fastest", fastest.fastest),
        "spread": ("spread", fastest.spread),
        "jax": ("jax", sections.other_backends),
        "ablations": ("ablations", sections.ablations),
        "threads": ("threads", sections.threads),
        "training": ("training", sections.training),
        "pipeline": ("input_pipeline", sections.input_pipeline),
        "loading": ("loading", sections.loading),
        "agreement": ("agreement", sections.agreement),
        "batch": ("batch", batch_predict.section),
    }
    for name in SECTIONS:
        if name not in args.sections:
            continue
        key, runner = runners[name]
        log(f"== {name} (load {loadavg()})")
        results[key] = runner(settings) if name == "peak" else runner(settings, log)
        if name == "peak":
            log(f"  {results[key]}")
    results["loadavg_after"] = loadavg()
    results["seconds"] = time.perf_counter() - start
    results["summary"] = report.summary(results)

    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report.markdown(results)
    (args.output / "results.md").write_text(table + "\n")
    report.chart(results, args.output / "results.png")
    print()
    print(table)
    log(f"wrote {args.output / 'results.json'}, results.md and results.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
