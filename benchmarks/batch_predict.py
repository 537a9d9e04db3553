"""Batch-inference benchmark: memory slope of streaming `predict`, and its rate against decode and network alone.

`python -m benchmarks.batch_predict [--sizes 2000,10000] [--rate-images 1000] [--batch-size 16]`

1. Synthesises 500x375 JPEGs (smooth colour fields plus noise, ~30-60 KB each) into a temporary folder,
   removed at the end.
2. Peak RSS: `keras-alexnet predict FOLDER --weights none --top 1 --output R.jsonl` in a fresh process for each
   size (the first `n` images, through an @list file), measured as the child's `ru_maxrss`; the slope between
   the smallest and largest size in MB per 1,000 images (target <= 1).
3. Rates, in this process, on `--rate-images` images after a warm-up: decoding alone (`decode_stream`, the
   streaming path's thread pool, no network), the network alone (`fast_forward`, the fastest path, on
   preprocessed random batches), and streaming (`run_batches(decode_stream(...))`: both together), with the
   ratio streaming / (1 / (1/decode + 1/network)) (target >= 0.9).

Not a test: it takes minutes on two cores. Prints a table; `--json FILE` writes the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_jpegs(folder: Path, count: int, seed: int = 0) -> list[str]:
    """`count` 500x375 JPEGs (quality 90) in `folder`; returns their paths."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:375, 0:500].astype(np.float32)
    paths = []
    for i in range(count):
        a, b, c = rng.uniform(0.005, 0.03, 3)
        base = np.stack([np.sin(a * x + i), np.cos(b * y - i), np.sin(c * (x + y))], axis=-1) * 100 + 128
        noise = rng.normal(0, 12, (375, 500, 3))
        path = folder / f"img_{i:06d}.jpg"
        Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(str(path))
    return paths


def peak_rss_of_predict(paths: list[str], folder: Path, batch_size: int) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of `keras-alexnet predict` on `paths` in a fresh process."""
    listing = folder / f"list_{len(paths)}.txt"
    listing.write_text("\n".join(paths) + "\n")
    output = folder / f"results_{len(paths)}.jsonl"
    command = [sys.executable, "-m", "keras_alexnet.cli.main", "predict", f"@{listing}", "--weights", "none"]
    command += ["--top", "1", "--batch-size", str(batch_size), "--output", str(output), "--overwrite"]
    wrapper = (
        "import resource, subprocess, sys, time; start = time.perf_counter(); "
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
        "wall = time.perf_counter() - start; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, wall, code)"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True, env=env)
    rss, wall, code = result.stdout.split()
    if code != "0":
        raise RuntimeError(f"predict failed ({code}): {result.stderr[-2000:]}")
    rows = output.read_bytes().count(b"\n")
    if rows != len(paths):
        raise RuntimeError(f"predict wrote {rows} rows for {len(paths)} images")
    return float(rss), float(wall)


def rates(paths: list[str], batch_size: int, workers: int | None) -> dict:
    """Images/s of decoding alone, the network alone and streaming (both), with the additive bound."""
    import keras

    import keras_alexnet
    from keras_alexnet.batch.inputs import InputItem, decode_stream
    from keras_alexnet.batch.stream import fast_forward, run_batches
    from keras_alexnet.eval_preprocessing import eval_preprocessing
    from keras_alexnet.preprocessing import preprocess_for

    keras.utils.set_random_seed(0)
    model = keras_alexnet.AlexNet()
    network = keras_alexnet.network_record(model)
    spec = eval_preprocessing(network)
    forward = fast_forward(model)
    in_flight = max(2 * batch_size, 32)

    def items():
        return (InputItem(p) for p in paths)

    x = preprocess_for(np.random.default_rng(0).uniform(0, 255, (batch_size, spec.crop, spec.crop, 3)), network)
    for _ in range(3):
        forward(x)  # warm-up (trace, oneDNN primitives)
    list(decode_stream(items(), spec, workers=workers, in_flight=in_flight))  # warm the page cache

    start = time.perf_counter()
    decoded = sum(1 for d in decode_stream(items(), spec, workers=workers, in_flight=in_flight) if d.image is not None)
    decode_rate = decoded / (time.perf_counter() - start)

    batches = max(1, len(paths) // batch_size)
    start = time.perf_counter()
    for _ in range(batches):
        forward(x)
    network_rate = batches * batch_size / (time.perf_counter() - start)

    start = time.perf_counter()
    done = sum(
        1
        for _, row in run_batches(
            decode_stream(items(), spec, workers=workers, in_flight=in_flight), forward, network, batch_size
        )
        if row is not None
    )
    streaming_rate = done / (time.perf_counter() - start)
    bound = 1.0 / (1.0 / decode_rate + 1.0 / network_rate)
    return {
        "images": len(paths),
        "decode_images_per_s": decode_rate,
        "network_images_per_s": network_rate,
        "streaming_images_per_s": streaming_rate,
        "additive_bound_images_per_s": bound,
        "streaming_over_bound": streaming_rate / bound,
    }


def measure(sizes: list[int], rate_images: int, batch_size: int, workers: int | None, log=print) -> dict:
    """The figures of the module docstring (synthesised images in a temporary folder, removed afterwards)."""
    sizes = sorted(sizes)
    folder = Path(tempfile.mkdtemp(prefix="keras_alexnet_batch_bench_"))
    try:
        count = max(sizes[-1], rate_images)
        start = time.perf_counter()
        paths = write_jpegs(folder, count)
        log(f"wrote {count} JPEGs of 500x375 in {time.perf_counter() - start:.0f} s")
        figures = {"batch_size": batch_size, "rates": rates(paths[:rate_images], batch_size, workers), "rss": {}}
        log(json.dumps(figures["rates"], indent=2))
        for n in sizes:
            rss, wall = peak_rss_of_predict(paths[:n], folder, batch_size)
            figures["rss"][n] = {"peak_rss_mb": rss, "wall_s": wall}
            log(f"predict on {n} images: peak RSS {rss:.0f} MB, {wall:.1f} s")
        low, high = sizes[0], sizes[-1]
        slope = (figures["rss"][high]["peak_rss_mb"] - figures["rss"][low]["peak_rss_mb"]) / ((high - low) / 1000)
        figures["rss_slope_mb_per_1000_images"] = slope
        figures["rss_sizes"] = [low, high]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def table(figures: dict) -> str:
    """The targets' table (markdown) of `measure`'s figures."""
    r, (low, high) = figures["rates"], figures["rss_sizes"]
    slope = figures["rss_slope_mb_per_1000_images"]
    return "\n".join(
        [
            "| Batch inference (streaming predict) | value | target |",
            "|---|---|---|",
            f"| peak RSS slope {low} -> {high} images, MB per 1,000 images | {slope:.2f} | <= 1 |",
            *(
                f"| peak RSS of predict on {n} images, MB | {e['peak_rss_mb']:.0f} | |"
                for n, e in figures["rss"].items()
            ),
            f"| decode alone, images/s | {r['decode_images_per_s']:.1f} | |",
            f"| network alone (b{figures['batch_size']}), images/s | {r['network_images_per_s']:.1f} | |",
            f"| streaming predict, images/s | {r['streaming_images_per_s']:.1f} | |",
            f"| streaming / (1/(1/decode + 1/network)) | {r['streaming_over_bound']:.2f} | >= 0.9 |",
        ]
    )


def section(settings, log) -> dict:
    """`python -m benchmarks.run --sections batch`: 2,000 and 10,000 images (`--quick`: 400 and 2,000)."""
    sizes, rate_images = ([400, 2000], 200) if settings.quick else ([2000, 10000], 1000)
    return measure(sizes, rate_images, 16, None, log=lambda message: log(f"  {message}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch_predict", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="2000,10000", help="image counts for the peak-RSS slope (default 2000,10000)"
    )
    parser.add_argument("--rate-images", type=int, default=1000, help="images for the rate measurements")
    parser.add_argument("--batch-size", type=int, default=16, help="batch size (predict's default: 16)")
    parser.add_argument("--workers", type=int, default=None, help="decoding threads (default: the CPU count)")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    figures = measure(sizes, args.rate_images, args.batch_size, args.workers, log=lambda m: print(m, flush=True))
    print()
    print(table(figures))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
