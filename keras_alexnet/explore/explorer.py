"""What the explore page shows about one model, as JSON-ready dicts (no web code here).

An `Explorer` holds the model, its `NetworkRecord` and one probe model that returns, in a single forward
pass, every feature-map layer, the classifier's probabilities and the layer a neighbour index was built
on. `analyse(image)` keeps those outputs for an image (a few recent images are cached, so that choosing
another layer does not run the network again) and the `*_json` methods turn them into what the panels
draw: the top-5 (named through `keras_alexnet.labels`), a layer's maps as a grid, LRN's effect on norm1,
conv1's kernels per tower and the nearest images of an index.

Example:

>>> from keras_alexnet.explore.explorer import grid_columns
>>> grid_columns(96, towers=2), grid_columns(256, towers=2)  # tower 1 fills the upper rows, tower 2 the lower
(12, 32)
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os
import secrets
import threading
from pathlib import Path

import keras
import numpy as np

from keras_alexnet.analysis.activations import activation_mosaic
from keras_alexnet.analysis.kernels import conv1_kernels, kernel_mosaic, kernel_report, model_towers
from keras_alexnet.analysis.layers import spatial_layer_names
from keras_alexnet.eval_preprocessing import eval_preprocessing
from keras_alexnet.explore.encode import png_data_uri
from keras_alexnet.explore.neighbours import DEFAULT_K, NeighbourIndex
from keras_alexnet.models.config import VARIANT_NAMES
from keras_alexnet.weights.network import NetworkRecord

#: Predictions listed per image.
TOP = 5
#: Channels of conv1/norm1 drawn in the LRN panel (the most active ones).
LRN_CHANNELS = 6
#: Analysed images kept in memory for the layer selector (outputs of every layer: ~10 MB each).
CACHE_SIZE = 8
#: Side of the neighbour thumbnails, in pixels.
THUMBNAIL = 128


@dataclasses.dataclass
class ImageResult:
    """One analysed image: its crop as fed to the network, every probed layer's output, the probabilities."""

    id: str
    name: str
    image: np.ndarray
    outputs: dict[str, np.ndarray]
    probabilities: np.ndarray
    path: str | None = None


def grid_columns(channels: int, towers: int = 1) -> int:
    """Columns of a feature-map grid: about 1.5 times wider than tall; a tower's channels fill whole rows."""
    columns = math.ceil(math.sqrt(channels * 1.5))
    if towers > 1 and channels % towers == 0:
        per_tower = channels // towers
        divisors = [d for d in range(columns, per_tower + 1) if per_tower % d == 0]
        columns = divisors[0] if divisors else columns
    return columns


class Explorer:
    """The model behind the page and everything the panels compute from it."""

    def __init__(
        self,
        model: keras.Model,
        network: NetworkRecord,
        *,
        weights: str | os.PathLike | None = None,
        seed: int | None = 0,
        index: NeighbourIndex | None = None,
        samples: list[str | os.PathLike] | tuple = (),
    ):
        if "predictions" not in [layer.name for layer in model.layers]:
            raise ValueError(
                "The explore page needs the model with its classifier (include_top=True). "
                f"Received: a model without a 'predictions' layer ({model.name!r})"
            )
        self.model, self.network = model, network
        self.weights = None if weights is None else os.fspath(weights)
        self.seed = seed
        self.index = index
        self.towers = model_towers(model)
        self.spec = eval_preprocessing(network)
        self.layers = spatial_layer_names(model)
        probed = [*self.layers, "predictions"]
        if index is not None:
            if index.layer not in [layer.name for layer in model.layers]:
                raise ValueError(
                    f"The index was built on the layer {index.layer!r}, which this model does not have. "
                    f"Received: --index {os.fspath(index.path)!r}"
                )
            dim = math.prod(model.get_layer(index.layer).output.shape[1:])
            if dim != index.dim:
                raise ValueError(
                    f"The index holds {index.dim}-d {index.layer} features, this model's {index.layer} has {dim}; "
                    f"use the weights the index was built with. Received: --index {os.fspath(index.path)!r}"
                )
            if index.layer not in probed:
                probed.append(index.layer)
        self._probed = probed
        self._probe = keras.Model(model.input, [model.get_layer(name).output for name in probed])
        self._lock = threading.Lock()
        self._cache: collections.OrderedDict[str, ImageResult] = collections.OrderedDict()
        self.samples = [Path(p) for p in samples]
        self._thumbnails: dict[str, str | None] = {}

    # -- images -------------------------------------------------------------------------------------------------

    def load(self, path: str | os.PathLike) -> np.ndarray:
        """`path` resized and cropped as the checkpoint was evaluated (uint8 RGB); ImageReadError if unreadable."""
        from keras_alexnet.image_io import load_image

        return load_image(path, size=self.spec.crop, resize=self.spec.resize, resize_mode=self.spec.resize_mode)

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """A uint8 RGB crop as the network's input batch of one."""
        from keras_alexnet.preprocessing import preprocess_for

        return np.asarray(preprocess_for(np.asarray(image)[None], self.network), dtype=np.float32)

    def analyse(self, image: np.ndarray, name: str, *, path: str | None = None, id: str | None = None) -> ImageResult:
        """Run the network on one crop (uint8 RGB, the input size) and keep every probed output."""
        image = np.asarray(image)
        size = self.network.input_size
        if image.shape != (size, size, 3):
            raise ValueError(f"Expected a {size}x{size} RGB crop. Received: an image of shape {image.shape}")
        batch = self.preprocess(image)
        with self._lock:
            outputs = self._probe(batch, training=False)
        arrays = [keras.ops.convert_to_numpy(output)[0] for output in outputs]
        if keras.config.image_data_format() == "channels_first":
            arrays = [np.moveaxis(a, 0, -1) if a.ndim == 3 else a for a in arrays]
        values = dict(zip(self._probed, arrays, strict=True))
        result = ImageResult(
            id=id or secrets.token_hex(8),
            name=name,
            image=image,
            outputs=values,
            probabilities=values["predictions"].astype(np.float64),
            path=path,
        )
        with self._lock:
            self._cache[result.id] = result
            self._cache.move_to_end(result.id)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def cached(self, image_id: str) -> ImageResult | None:
        """The analysed image `image_id` if it is still cached."""
        with self._lock:
            return self._cache.get(image_id)

    def sample(self, number: int) -> ImageResult:
        """Analyse bundled sample `number` (cached under the id `sample-<number>`)."""
        if not 0 <= number < len(self.samples):
            raise ValueError(f"There are {len(self.samples)} sample images. Received: sample {number}")
        image_id = f"sample-{number}"
        found = self.cached(image_id)
        if found is not None:
            return found
        path = self.samples[number]
        return self.analyse(self.load(path), path.name, path=os.fspath(path.resolve()), id=image_id)

    # -- JSON for the panels --------------------------------------------------------------------------------------

    def info_json(self) -> dict:
        """What the page says about the model, the index and the samples."""
        from keras_alexnet.image_io import MAX_IMAGE_PIXELS
        from keras_alexnet.labels import is_imagenet

        random = self.weights is None
        index = None
        if self.index is not None:
            warning = self.index.mismatch(self.weights, self.network.variant, self.seed)
            index = {**self.index.describe(), "warning": warning}
        names = "ImageNet's 1000 classes" if is_imagenet(self.network) else None
        if names is None:
            names = "the checkpoint's class names" if self.network.class_names else "class numbers (no names recorded)"
        return {
            "weights": self.weights or f"random weights (seed {self.seed})",
            "random": random,
            "variant": self.network.variant,
            "classes": self.network.classes,
            "class_names": names,
            "preprocessing": self.spec.describe(),
            "input_size": self.network.input_size,
            "towers": self.towers,
            "layers": self.layers,
            "default_layer": self.layers[0],
            "has_lrn": "norm1" in self.layers,
            "index": index,
            "samples": [{"number": i, "name": p.name} for i, p in enumerate(self.samples)],
            "max_image_pixels": MAX_IMAGE_PIXELS,
        }

    def top_json(self, result: ImageResult, top: int = TOP) -> list[dict]:
        """The `top` most probable classes: rank, index, id, name, score (a probability in [0, 1])."""
        from keras_alexnet.labels import top_k_labels

        labels = top_k_labels(result.probabilities[None], self.network, top=min(top, self.network.classes))[0]
        return [
            {"rank": rank, "index": label.index, "id": label.id, "name": label.name, "score": label.score}
            for rank, label in enumerate(labels, start=1)
        ]

    def activations_json(self, result: ImageResult, layer: str) -> dict:
        """`layer`'s feature maps as one grid image (each map scaled to its own range)."""
        if layer not in self.layers:
            raise ValueError(
                f"Unknown layer {layer!r}; layers with feature maps: {', '.join(self.layers)}. "
                f"Received: layer={layer!r}"
            )
        maps = result.outputs[layer]
        height, width, channels = maps.shape
        towers = self.towers if channels % max(self.towers, 1) == 0 else 1
        columns = grid_columns(channels, towers)
        return {
            "layer": layer,
            "shape": [int(height), int(width), int(channels)],
            "columns": columns,
            "rows": math.ceil(channels / columns),
            "towers": towers,
            "max": float(maps.max()),
            "mean": float(maps.mean()),
            "active_fraction": float((maps > 0).mean()),
            "png": png_data_uri(activation_mosaic(maps, columns)),
        }

    def lrn_json(self, result: ImageResult, channels: int = LRN_CHANNELS) -> dict:
        """LRN's effect on norm1: conv1's output (before) and norm1's (after) for the most active channels."""
        if "norm1" not in self.layers or "conv1" not in self.layers:
            return {"available": False, "reason": f"the {self.network.variant!r} variant has no LRN layer"}
        before = result.outputs["conv1"].astype(np.float64)
        after = result.outputs["norm1"].astype(np.float64)
        lrn = self.model.get_layer("norm1")
        positive = before > 0
        ratio = np.where(positive, after / np.where(positive, before, 1.0), np.nan)
        chosen = np.argsort(-before.mean(axis=(0, 1)), kind="stable")[:channels]
        rows = []
        for channel in chosen:
            scale = before[..., channel].max()
            scale = scale if scale > 0 else 1.0
            values = ratio[..., channel][positive[..., channel]]
            rows.append(
                {
                    "channel": int(channel),
                    "tower": int(channel // (before.shape[-1] // self.towers)) + 1 if self.towers > 1 else 1,
                    "before_max": float(before[..., channel].max()),
                    "after_max": float(after[..., channel].max()),
                    "ratio_median": float(np.median(values)) if values.size else None,
                    "before": png_data_uri(before[..., channel] / scale),
                    "after": png_data_uri(after[..., channel] / scale),
                    "ratio": png_data_uri(np.clip(ratio[..., channel], 0.0, 1.0)),
                }
            )
        kept = ratio[positive]
        config = lrn.get_config()
        alpha = config["alpha"]
        alpha_text = f"α/n = {alpha:g}/{config['size']}" if config["average"] else f"α = {alpha:g}"
        return {
            "available": True,
            "formula": f"b = a / (k + {'α/n' if config['average'] else 'α'} · Σ a²)^β over n = {config['size']} "
            f"neighbouring channels; k = {config['k']:g}, {alpha_text}, β = {config['beta']:g}",
            "max_ratio": float(config["k"] ** -config["beta"]),
            "ratio_min": float(kept.min()) if kept.size else None,
            "ratio_median": float(np.median(kept)) if kept.size else None,
            "ratio_max": float(kept.max()) if kept.size else None,
            "active_fraction": float(positive.mean()),
            "mean_before": float(before.mean()),
            "mean_after": float(after.mean()),
            "channels": rows,
        }

    def neighbours_json(self, result: ImageResult, k: int = DEFAULT_K) -> dict | None:
        """The `k` nearest index images of `result` in the index's feature space, with thumbnails (None: no index)."""
        if self.index is None:
            return None
        feature = result.outputs[self.index.layer].reshape(-1)
        found = self.index.nearest(feature, k=k, exclude_path=result.path)
        for row in found:
            row["image"] = self._thumbnail(row["path"])
        return {"layer": self.index.layer, "metric": self.index.metric, "neighbours": found}

    def _thumbnail(self, path: str) -> str | None:
        if path not in self._thumbnails:
            from keras_alexnet.image_io import ImageReadError

            try:
                self._thumbnails[path] = png_data_uri(self.load(path), max_side=THUMBNAIL)
            except (ImageReadError, OSError):
                self._thumbnails[path] = None
        return self._thumbnails[path]

    def analysis_json(self, result: ImageResult, layers: list[str] | None = None) -> dict:
        """Everything the image panels show for `result`; activations of `layers` (default: the first layer)."""
        layers = [self.layers[0]] if layers is None else layers
        return {
            "id": result.id,
            "name": result.name,
            "image": png_data_uri(result.image),
            "top": self.top_json(result),
            "activations": {layer: self.activations_json(result, layer) for layer in layers},
            "lrn": self.lrn_json(result),
            "neighbours": self.neighbours_json(result),
        }

    def kernels_json(self) -> dict:
        """conv1's kernels, one mosaic per tower, with each tower's colour numbers (as `keras-alexnet kernels`)."""
        kernels = conv1_kernels(self.model, self.network)
        report = kernel_report(kernels, groups=self.towers)
        blocks = []
        for tower in report["towers"]:
            first, last = tower["first_kernel"], tower["last_kernel"]
            blocks.append({**tower, "png": png_data_uri(kernel_mosaic(kernels[first : last + 1], columns=16))})
        return {
            "count": int(len(kernels)),
            "kernel_shape": [int(s) for s in kernels.shape[1:]],
            "channel_order": self.network.channel_order,
            "towers": blocks,
            "per_kernel": report["per_kernel"],
        }

    def architecture_json(self) -> dict:
        """Both variants' architecture panels: this model's first (its own class count), then the other one."""
        from keras_alexnet.explore.architecture import architecture, variant_architecture

        variants = [{"variant": self.network.variant, "this_model": True, **architecture(self.model)}]
        for name in VARIANT_NAMES:
            if name != self.network.variant:
                variants.append({"variant": name, "this_model": False, **variant_architecture(name)})
        return {"variants": variants}
