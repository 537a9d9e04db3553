"""Feature vectors of a layer (fc7 by default, the paper's Section 6.1), image by image or for a folder.

Example:

>>> import keras_alexnet, numpy as np
>>> from keras_alexnet.analysis import feature_extractor
>>> extractor = feature_extractor(keras_alexnet.AlexNet(), layer="fc7")
>>> extractor.predict(np.zeros((2, 227, 227, 3)), verbose=0).shape
(2, 4096)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import numpy as np

from keras_alexnet.analysis.layers import get_layer
from keras_alexnet.eval_preprocessing import EvalPreprocessing, eval_preprocessing
from keras_alexnet.weights.network import NetworkRecord

#: File name extensions `list_images` picks up (case-insensitive).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def feature_extractor(model: keras.Model, layer: str = "fc7") -> keras.Model:
    """A model from `model`'s input to the output of `layer` (fc7: 4096-d, after its ReLU).

    Dropout is inactive at inference, so the features are deterministic.
    Raises ValueError listing the valid names if `layer` does not exist.
    """
    target = get_layer(model, layer)
    return keras.Model(model.input, target.output, name=f"{model.name}_{layer}")


def list_images(directory: str | os.PathLike) -> list[Path]:
    """Image files under `directory` (recursively, by extension), sorted for determinism."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"No such image folder. Received: {os.fspath(directory)!r}")
    paths = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not paths:
        raise ValueError(
            f"The folder has no images (looked for {', '.join(IMAGE_EXTENSIONS)}). Received: {os.fspath(directory)!r}"
        )
    return paths


def load_batch(
    paths: Sequence[Path],
    network: NetworkRecord,
    workers: int = 4,
    preprocessing: EvalPreprocessing | None = None,
) -> tuple[np.ndarray, list[int]]:
    """Load and preprocess images for `network`; returns the batch and the indices that loaded.

    Images are resized and cropped by `preprocessing` (default: as `network`'s checkpoint was evaluated,
    `keras_alexnet.eval_preprocessing.eval_preprocessing(network)`).
    """
    from keras_alexnet.image_io import ImageReadError, load_image
    from keras_alexnet.preprocessing import preprocess_for

    spec = preprocessing or eval_preprocessing(network)

    def load(path):
        try:
            return load_image(path, size=spec.crop, resize=spec.resize, resize_mode=spec.resize_mode)
        except ImageReadError as error:
            print(f"warning: skipping {error}", file=sys.stderr)
            return None

    with ThreadPoolExecutor(max_workers=workers) as pool:
        images = list(pool.map(load, paths))
    kept = [i for i, image in enumerate(images) if image is not None]
    if not kept:
        return np.zeros((0, spec.crop, spec.crop, 3), np.float32), kept
    batch = np.stack([images[i] for i in kept])
    return preprocess_for(batch, network), kept


def iter_features(
    extractor: keras.Model,
    paths: Sequence[Path],
    network: NetworkRecord,
    batch_size: int = 32,
    progress: bool = True,
    preprocessing: EvalPreprocessing | None = None,
) -> Iterator[tuple[np.ndarray, list[Path]]]:
    """Yield (features, paths) batch by batch; unreadable images are skipped with a warning.

    `preprocessing`: the resize and crop (default: as `network`'s checkpoint was evaluated).

    The next batch is read and decoded in a background thread while the network runs on the current
    one; at most two batches of images are in memory.
    """
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    chunks = [list(paths[start : start + batch_size]) for start in range(0, len(paths), batch_size)]
    with (
        tqdm(total=len(paths), unit="img", disable=not progress, file=sys.stderr) as bar,
        ThreadPoolExecutor(max_workers=1) as reader,
    ):
        pending = reader.submit(load_batch, chunks[0], network, 4, preprocessing) if chunks else None
        for i, chunk in enumerate(chunks):
            batch, kept = pending.result()
            if i + 1 < len(chunks):
                pending = reader.submit(load_batch, chunks[i + 1], network, 4, preprocessing)
            if kept:
                features = keras.ops.convert_to_numpy(extractor(batch, training=False))
                yield features.reshape(len(kept), -1).astype(np.float32), [chunk[j] for j in kept]
            bar.update(len(chunk))
