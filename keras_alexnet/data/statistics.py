"""Training-set pixel statistics: the mean image / per-channel mean and the RGB PCA.

The paper subtracts "the mean activity over the training set from each pixel"
and its "fancy PCA" uses the eigen-decomposition of the 3x3 covariance of the
RGB pixel values over the training set. Means are in 0-255 pixel units; the
covariance and its eigenvalues are of RGB values scaled to [0, 1] (so that
ImageNet gives the familiar eigenvalues 0.2175, 0.0188, 0.0045). Both are computed once, over the
256 x 256 training images (shorter side to 256, centre crop), in a single
streaming pass with float64 accumulators, and saved as `pixel_stats.npz` (the
arrays) plus `pixel_stats.json` (readable summary) beside the run.
`keras-alexnet stats` is the command that computes them.

Example:

>>> import numpy as np
>>> from keras_alexnet.data.statistics import PixelStatistics
>>> rng = np.random.default_rng(0)
>>> stats = PixelStatistics.from_images(rng.integers(0, 256, (4, 8, 8, 3)))
>>> stats.mean_image.shape, stats.channel_mean.shape, stats.eigenvectors.shape
((8, 8, 3), (3,), (3, 3))
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from keras_alexnet.outputs import write_file_atomic

STATS_NPZ = "pixel_stats.npz"
STATS_JSON = "pixel_stats.json"


@dataclasses.dataclass
class PixelStatistics:
    """Mean image, per-channel mean and RGB covariance eigen-decomposition (pixels 0-255, RGB)."""

    mean_image: np.ndarray  # (S, S, 3) float32
    channel_mean: np.ndarray  # (3,)
    covariance: np.ndarray  # (3, 3), of RGB values scaled to [0, 1]
    eigenvalues: np.ndarray  # (3,), descending, of `covariance`
    eigenvectors: np.ndarray  # (3, 3), columns are eigenvectors
    num_images: int
    source: str = ""

    @classmethod
    def from_images(cls, images, source: str = "") -> PixelStatistics:
        """Statistics of an iterable of image batches or one (N, S, S, 3) array."""
        accumulator = _Accumulator()
        if isinstance(images, np.ndarray):
            images = [images]
        for batch in images:
            accumulator.add(np.asarray(batch))
        return accumulator.result(source)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write `pixel_stats.npz` and `pixel_stats.json` into `directory` (atomically); returns the npz path."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("source",)}
        arrays["source"] = np.array(self.source)
        write_file_atomic(directory / STATS_NPZ, lambda f: np.savez(f, **arrays))
        summary = {
            "source": self.source,
            "num_images": int(self.num_images),
            "image_size": list(self.mean_image.shape),
            "channel_mean_rgb": self.channel_mean.tolist(),
            "eigenvalues": self.eigenvalues.tolist(),
            "eigenvectors_columns": self.eigenvectors.tolist(),
        }
        write_file_atomic(directory / STATS_JSON, lambda f: f.write(json.dumps(summary, indent=2).encode()))
        return directory / STATS_NPZ

    @classmethod
    def load(cls, path: str | os.PathLike) -> PixelStatistics:
        """Read statistics from a `pixel_stats.npz` file or a directory holding one."""
        path = Path(path)
        if path.is_dir():
            path = path / STATS_NPZ
        if not path.is_file():
            raise ValueError(
                f"No pixel statistics at {path}; compute them with `keras-alexnet stats`. Received: {path}"
            )
        with np.load(path) as data:
            values = {k: data[k] for k in data.files}
        return cls(
            mean_image=values["mean_image"].astype(np.float32),
            channel_mean=values["channel_mean"].astype(np.float32),
            covariance=values["covariance"],
            eigenvalues=values["eigenvalues"].astype(np.float32),
            eigenvectors=values["eigenvectors"].astype(np.float32),
            num_images=int(values["num_images"]),
            source=str(values["source"]),
        )


class _Accumulator:
    def __init__(self):
        self.sum_image = None
        self.count = 0
        self.pixel_sum = np.zeros(3)
        self.outer_sum = np.zeros((3, 3))
        self.pixels = 0

    def add(self, batch: np.ndarray) -> None:
        if batch.ndim == 3:
            batch = batch[None]
        if batch.ndim != 4 or batch.shape[-1] != 3:
            raise ValueError(f"Expected RGB images of shape (N, H, W, 3). Received: shape {batch.shape}")
        batch = batch.astype(np.float64)
        total = batch.sum(axis=0)
        self.sum_image = total if self.sum_image is None else self.sum_image + total
        self.count += batch.shape[0]
        pixels = batch.reshape(-1, 3)
        self.pixel_sum += pixels.sum(axis=0)
        self.outer_sum += pixels.T @ pixels
        self.pixels += pixels.shape[0]

    def result(self, source: str) -> PixelStatistics:
        if not self.count:
            raise ValueError("Cannot compute pixel statistics of an empty dataset. Received: 0 images")
        mean = self.pixel_sum / self.pixels
        # The PCA uses RGB values in [0, 1] (the convention behind the widely used ImageNet
        # eigenvalues 0.2175, 0.0188, 0.0045), so that alpha ~ N(0, 0.1) gives shifts of a few levels.
        covariance = (self.outer_sum / self.pixels - np.outer(mean, mean)) / 255.0**2
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        order = np.argsort(eigenvalues)[::-1]
        eigenvalues = np.clip(eigenvalues[order], 0.0, None)
        return PixelStatistics(
            mean_image=(self.sum_image / self.count).astype(np.float32),
            channel_mean=mean.astype(np.float32),
            covariance=covariance,
            eigenvalues=eigenvalues.astype(np.float32),
            eigenvectors=eigenvectors[:, order].astype(np.float32),
            num_images=self.count,
            source=source,
        )


def compute_statistics(source, side: int = 256, batch_size: int = 64, limit: int | None = None) -> PixelStatistics:
    """Stream an `ImageSource` (resized to `side`, centre-cropped) and compute its statistics."""
    import tensorflow as tf

    from keras_alexnet.data.transforms import resize_and_center_crop

    dataset = source.dataset.take(limit) if limit else source.dataset
    dataset = dataset.map(lambda image, label: resize_and_center_crop(image, side), num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    return PixelStatistics.from_images((batch.numpy() for batch in dataset), source=f"{source.name}:{source.split}")
