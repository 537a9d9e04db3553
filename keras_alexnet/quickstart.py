"""The first run: train the full AlexNet on the embedded digits, then use the checkpoint it wrote.

`run_quickstart(run_dir)` trains the "original" network (227x227, LRN, two towers, every layer from
random weights) with the `quickstart` preset (`keras_alexnet.training.presets`), then goes the
package's whole way on the checkpoint it wrote: classifies held-out digit images with their true
labels (as `keras-alexnet predict --weights RUN_DIR/checkpoint` does), draws conv1's kernels per
tower (`keras-alexnet kernels`), and plots the curves. Everything goes into `run_dir`:

    checkpoint/     the trained weights with their class names and pixel mean (`--weights` anywhere)
    samples/        held-out validation digits as PNG files, named by their true label
    results.json    val_top1_accuracy, the final metrics, the sample predictions, the outputs, seconds
    curves.png      loss, top-1/top-5 error and learning rate, a point per quarter of the data
    kernels.png     conv1's 96 kernels, one block per tower (and kernels.json)
    config.json, log.csv, pixel_stats.npz, model.keras, tensorboard/, backups: as `train` writes them

Example (about 4 minutes on 2 CPU cores, so not run as a doctest):

    from keras_alexnet.quickstart import run_quickstart
    result = run_quickstart("runs/quickstart")
    print(result["val_top1_accuracy"])
"""

from __future__ import annotations

import os
import time
from pathlib import Path

DEFAULT_RUN_DIR = "runs/quickstart"
SAMPLES_DIRNAME = "samples"
KERNELS_FILENAME = "kernels.png"
#: Held-out digits shown after training: the first validation image of each of the digits 0 .. 7.
SAMPLE_COUNT = 8


def free_run_dir(requested: str | os.PathLike | None) -> Path:
    """The run directory: `requested` (which must be absent or empty), else the first free runs/quickstart[-N].

    Nothing is ever replaced: a second quickstart without `--run-dir` goes to runs/quickstart-2.
    """
    if requested is not None:
        path = Path(requested)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ValueError(
                f"{path} already exists and is not an empty directory; the quickstart writes a new run, so choose "
                f"another --run-dir (or leave it out: runs/quickstart, runs/quickstart-2, ... are used in turn). "
                f"Received: --run-dir {path}"
            )
        return path
    base = Path(DEFAULT_RUN_DIR)
    for index in range(1, 10_000):
        path = base if index == 1 else base.with_name(f"{base.name}-{index}")
        if not path.exists() or (path.is_dir() and not any(path.iterdir())):
            return path
    raise ValueError(f"runs/quickstart-1 ... -9999 are all taken; pass --run-dir. Received: {base}")


def write_samples(directory: Path, count: int = SAMPLE_COUNT, resize: int = 256) -> list[tuple[Path, str]]:
    """Write `count` validation digits (not trained on) as `resize`-pixel PNGs; returns (path, true label)."""
    import numpy as np

    from keras_alexnet.data import transforms
    from keras_alexnet.data.sources import digits_arrays
    from keras_alexnet.outputs import write_file_atomic

    images, labels = digits_arrays("validation")
    order = [int(np.flatnonzero(labels == digit)[0]) for digit in range(min(count, 10))]  # the first of each
    directory.mkdir(parents=True, exist_ok=True)
    samples = []
    for rank, i in enumerate(order):
        square = transforms.resize_and_center_crop(images[i], resize)  # the training pipeline's own upscaling
        pixels = np.clip(np.round(np.asarray(square)), 0, 255).astype(np.uint8)
        path = directory / f"{rank:02d}_digit_{labels[i]}.png"
        write_file_atomic(path, lambda staged, pixels=pixels: _save_png(pixels, staged))
        samples.append((path, str(labels[i])))
    return samples


def _save_png(pixels, path) -> None:
    from PIL import Image

    Image.fromarray(pixels).save(path, format="PNG")


def classify_samples(checkpoint: Path, samples: list[tuple[Path, str]], top: int = 3) -> list[dict]:
    """Classify the sample files with the checkpoint, exactly as `keras-alexnet predict --weights DIR` does."""
    import numpy as np

    import keras_alexnet
    from keras_alexnet.eval_preprocessing import eval_preprocessing
    from keras_alexnet.image_io import load_image
    from keras_alexnet.labels import top_k_labels
    from keras_alexnet.preprocessing import preprocess_for

    model = keras_alexnet.AlexNet(weights=str(checkpoint))
    network = keras_alexnet.network_record(model)
    spec = eval_preprocessing(network)
    batch = np.stack(
        [load_image(path, size=spec.crop, resize=spec.resize, resize_mode=spec.resize_mode) for path, _ in samples]
    )
    labels = top_k_labels(model.predict(preprocess_for(batch, network), verbose=0), network, top=top)
    return [
        {"image": str(path), "true": truth, "top": [label.to_dict() for label in row]}
        for (path, truth), row in zip(samples, labels, strict=True)
    ]


def draw_kernels(checkpoint: Path, output: Path) -> dict:
    """conv1's kernels of the checkpoint, one block per tower, as `keras-alexnet kernels` draws them."""
    from keras_alexnet.analysis.kernels import conv1_kernels, kernel_report, model_towers, plot_kernels, write_report
    from keras_alexnet.analysis.model_io import load_model

    model, network = load_model(str(checkpoint), include_top=False)
    kernels = conv1_kernels(model, network)
    report = kernel_report(kernels, groups=model_towers(model))
    plot_kernels(kernels, report, output, title="conv1 kernels after the quickstart (digits)")
    write_report(report, output.with_suffix(".json"))
    return report


def run_quickstart(run_dir: str | os.PathLike | None = None, *, seed: int = 0, verbose: int = 2, **overrides) -> dict:
    """Train with the quickstart preset into `run_dir`, use the checkpoint, and return results.json's content.

    `overrides`: any `TrainConfig` field on top of the preset (e.g. `epochs` for a shorter run).
    """
    import json

    from keras_alexnet.training import train
    from keras_alexnet.training.config import save_json_atomic
    from keras_alexnet.training.presets import preset_config
    from keras_alexnet.training.trainer import RESULTS_FILENAME

    started = time.time()
    run_dir = free_run_dir(run_dir)
    config = preset_config("quickstart", run_dir=str(run_dir), seed=seed, verbose=verbose, **overrides)
    result = train(config)
    checkpoint = result.run_dir / "checkpoint"
    trained = time.time()
    samples = classify_samples(checkpoint, write_samples(run_dir / SAMPLES_DIRNAME))
    kernels = draw_kernels(checkpoint, run_dir / KERNELS_FILENAME)
    results = json.loads((run_dir / RESULTS_FILENAME).read_text())
    results["quickstart"] = {
        "seed": seed,
        "preset": "quickstart (keras_alexnet/training/presets.py)",
        "training_seconds": trained - started,
        "seconds": time.time() - started,
        "samples": samples,
        "samples_correct": sum(s["top"][0]["label"] == s["true"] for s in samples),
        "kernels": {tower["label"]: tower["colour_fraction"] for tower in kernels["towers"]},
        "outputs": {
            "checkpoint": str(checkpoint),
            "samples": str(run_dir / SAMPLES_DIRNAME),
            "curves": str(run_dir / "curves.png"),
            "kernels": str(run_dir / KERNELS_FILENAME),
            "results": str(run_dir / RESULTS_FILENAME),
        },
    }
    save_json_atomic(run_dir / RESULTS_FILENAME, results)
    return results
