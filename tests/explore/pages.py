"""Helpers shared by tests/explore and docs/images/make_explore_screenshots.py.

`make_checkpoint` writes a 10-class "original" AlexNet checkpoint whose classifier gives confident,
image-dependent predictions (its `predictions` layer is set so, not trained: a real training run would take
minutes), with class names, so that a wrong index/name/score mapping on the page cannot pass by looking
uniform. `make_index` embeds a folder of images with it (fc7, as `keras-alexnet embed` does).
`browser` launches Debian's chromium headless through Playwright.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import numpy as np

CHROMIUM = os.environ.get("KERAS_ALEXNET_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CLASS_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def make_checkpoint(directory: Path, seed: int = 1) -> Path:
    """A checkpoint of the 'original' variant with 10 named classes and a classifier set to be confident."""
    import keras

    import keras_alexnet
    from keras_alexnet.weights.checkpoint import save_checkpoint
    from keras_alexnet.weights.network import NetworkRecord

    keras.utils.set_random_seed(seed)
    model = keras_alexnet.AlexNet(variant="original", classes=len(CLASS_NAMES))
    layer = model.get_layer("predictions")
    rng = np.random.default_rng(seed)
    kernel = rng.normal(0.0, 0.05, size=tuple(layer.kernel.shape)).astype("float32")
    bias = np.linspace(2.0, -2.0, len(CLASS_NAMES)).astype("float32")  # distinct priors, image-dependent kernel
    layer.set_weights([kernel, bias])
    network = NetworkRecord(variant="original", classes=len(CLASS_NAMES), class_names=CLASS_NAMES, categories="test")
    return save_checkpoint(model, directory, network)


def write_images(directory: Path, count: int = 6, seed: int = 0) -> list[Path]:
    """`count` JPEG views (crops, mirrors, colour shifts) of the bundled sample photographs."""
    from PIL import Image, ImageOps

    from keras_alexnet.samples import sample_image_paths

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sources = [Image.open(p).convert("RGB") for p in sample_image_paths()]
    paths = []
    for i in range(count):
        image = sources[i % len(sources)]
        width, height = image.size
        left, top = int(rng.integers(0, width // 4)), int(rng.integers(0, height // 4))
        view = image.crop((left, top, left + width * 3 // 4, top + height * 3 // 4))
        if i % 3 == 1:
            view = ImageOps.mirror(view)
        if i % 3 == 2:
            view = Image.fromarray(np.clip(np.asarray(view) * [1.0, 0.8, 1.2], 0, 255).astype("uint8"))
        path = directory / f"view_{i}.jpg"
        view.save(path, quality=90)
        paths.append(path)
    return paths


def make_index(model, network, paths: list[Path], output: Path, weights: str) -> Path:
    """An fc7 index of `paths` (written with keras_alexnet.analysis.index, as `keras-alexnet embed` does)."""
    from keras_alexnet.analysis.features import feature_extractor, iter_features
    from keras_alexnet.analysis.index import write_index

    extractor = feature_extractor(model, "fc7")
    batches = iter_features(extractor, [p.resolve() for p in paths], network, batch_size=8, progress=False)
    metadata = {"layer": "fc7", "weights": os.path.abspath(weights), "variant": network.variant}
    write_index(output, batches, metadata)
    return output


@contextlib.contextmanager
def browser():
    """A headless Debian chromium driven by Playwright (its own browser download is never used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@contextlib.contextmanager
def serving(explorer, **kwargs):
    """The explore app for `explorer` on a free loopback port in a thread; yields the page's URL."""
    from keras_alexnet.explore.app import create_app
    from keras_alexnet.explore.server import bind, page_url, start_in_thread

    sock = bind("127.0.0.1", 0)
    server = start_in_thread(create_app(explorer, **kwargs), sock)
    try:
        yield page_url(sock)
    finally:
        server.should_exit = True
        server.thread.join(timeout=10)
        sock.close()
