"""The neighbours panel's data: the images of a `keras-alexnet embed` index nearest to a query (Figure 4).

The index is scanned in chunks with `keras_alexnet.analysis.neighbours.top_k` (bounded memory);
neighbour images are loaded from the paths the index recorded and shown as thumbnails. An index built
with other weights than the page's model is still searched, with a warning on the page (the features
would not be comparable); one whose feature size differs is refused.

Example:

>>> import numpy as np, tempfile
>>> from keras_alexnet.analysis.index import write_index
>>> from keras_alexnet.explore.neighbours import NeighbourIndex
>>> path = tempfile.mktemp(suffix=".npz")
>>> _ = write_index(path, [(np.eye(3, dtype="float32"), ["a.jpg", "b.jpg", "c.jpg"])], {"layer": "fc7"})
>>> index = NeighbourIndex(path)
>>> [(row["name"], round(row["distance"], 3)) for row in index.nearest(np.array([1.0, 0.1, 0.0]), k=2)]
[('a.jpg', 0.1), ('b.jpg', 1.345)]
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from keras_alexnet.analysis.index import iter_index_chunks, read_index_metadata
from keras_alexnet.analysis.neighbours import top_k

#: Neighbours shown per query, as in the paper's Figure 4.
DEFAULT_K = 6


class NeighbourIndex:
    """An index file and what it records (layer, weights, variant, paths)."""

    def __init__(self, path: str | os.PathLike, metric: str = "euclidean"):
        self.path = Path(path)
        metadata = read_index_metadata(self.path)
        self.paths: list[str] = metadata["paths"]
        self.rows, self.dim = (int(n) for n in metadata["shape"])
        self.layer: str = metadata.get("layer") or "fc7"
        self.weights: str | None = metadata.get("weights")
        self.variant: str | None = metadata.get("variant")
        self.seed: str | None = metadata.get("seed")
        self.metric = metric
        self._row_of = {p: i for i, p in enumerate(self.paths)}

    def describe(self) -> dict:
        return {
            "path": os.fspath(self.path),
            "rows": self.rows,
            "dim": self.dim,
            "layer": self.layer,
            "weights": self.weights,
            "variant": self.variant,
            "metric": self.metric,
        }

    def mismatch(self, weights: str | None, variant: str, seed: int | None) -> str | None:
        """Why the index may not match the page's model (a warning shown on the page), or None."""
        if self.variant and self.variant != variant:
            return f"the index was built with the {self.variant!r} variant, the page shows {variant!r}"
        served = os.path.abspath(weights) if weights is not None and os.path.exists(weights) else weights
        if (self.weights or None) != served:
            built = self.weights or f"random weights (seed {self.seed})"
            return f"the index was built with {built}, the page shows {served or f'random weights (seed {seed})'}"
        if served is None and self.seed not in (None, str(seed)):
            return f"the index was built with random weights of seed {self.seed}, the page's have seed {seed}"
        return None

    def nearest(self, feature: np.ndarray, k: int = DEFAULT_K, exclude_path: str | None = None) -> list[dict]:
        """The `k` nearest rows of `feature`: [{rank, row, path, name, distance}], nearest first."""
        feature = np.asarray(feature, dtype=np.float32).reshape(1, -1)
        if feature.shape[1] != self.dim:
            raise ValueError(
                f"The query has {feature.shape[1]} features, the index {self.dim}; build the index with "
                f"`keras-alexnet embed` and the same weights and layer. Received: {os.fspath(self.path)!r}"
            )
        exclude = None
        if exclude_path is not None and exclude_path in self._row_of:
            exclude = [{self._row_of[exclude_path]}]
        distances, rows = top_k(feature, iter_index_chunks(self.path), k, self.metric, exclude)
        return [
            {
                "rank": rank,
                "row": int(row),
                "path": self.paths[row],
                "name": Path(self.paths[row]).name,
                "distance": float(distance),
            }
            for rank, (row, distance) in enumerate(zip(rows[0], distances[0], strict=True), start=1)
        ]
