"""Nearest neighbours in feature space (the paper's Figure 4): search an index, draw the grid.

Distances: "euclidean" (the paper's) or "cosine" (1 - cosine similarity; a
zero vector, possible after ReLU, is at distance 1 from everything). The
index is scanned in chunks, keeping the k best per query, so memory stays
bounded whatever the index size.

Example:

>>> import numpy as np
>>> from keras_alexnet.analysis.neighbours import top_k
>>> index = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0]], "float32")
>>> distances, rows = top_k(np.array([[0.0, 0.0]], "float32"), [(0, index)], k=2)
>>> rows.tolist(), distances.round(3).tolist()
([[0, 2]], [[0.0, 1.0]])
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

METRICS = ("euclidean", "cosine")


def pairwise_distances(queries: np.ndarray, rows: np.ndarray, metric: str = "euclidean") -> np.ndarray:
    """(Q, R) distances between query vectors and index rows."""
    if metric not in METRICS:
        raise ValueError(f"`metric` must be one of {METRICS}. Received: metric={metric!r}")
    queries = np.asarray(queries, dtype=np.float64)
    rows = np.asarray(rows, dtype=np.float64)
    if metric == "euclidean":
        squared = (queries**2).sum(1)[:, None] + (rows**2).sum(1)[None, :] - 2.0 * queries @ rows.T
        return np.sqrt(np.maximum(squared, 0.0))
    query_norms = np.linalg.norm(queries, axis=1)[:, None]
    row_norms = np.linalg.norm(rows, axis=1)[None, :]
    denominator = query_norms * row_norms
    similarity = np.where(denominator > 0, (queries @ rows.T) / np.where(denominator > 0, denominator, 1.0), 0.0)
    return 1.0 - similarity


def top_k(
    queries: np.ndarray,
    chunks: Iterable[tuple[int, np.ndarray]],
    k: int,
    metric: str = "euclidean",
    exclude: list[set[int]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The `k` nearest index rows of each query, scanning (first row, chunk) pairs.

    `exclude[q]` is a set of row numbers query `q` may not return (itself).
    Returns (distances, rows), each (Q, k'), nearest first, k' = min(k, available rows);
    ties are broken by row number.
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"`k` must be a positive integer. Received: k={k!r}")
    queries = np.asarray(queries)
    best_d = np.full((len(queries), 0), np.inf)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    for start, chunk in chunks:
        distances = pairwise_distances(queries, chunk, metric)
        row_ids = np.arange(start, start + len(chunk))
        if exclude:
            for q, excluded in enumerate(exclude):
                hits = [r - start for r in excluded if start <= r < start + len(chunk)]
                distances[q, hits] = np.inf
        all_d = np.concatenate([best_d, distances], axis=1)
        all_i = np.concatenate([best_i, np.broadcast_to(row_ids, distances.shape)], axis=1)
        order = np.lexsort((all_i, all_d), axis=1)[:, :k]
        best_d = np.take_along_axis(all_d, order, axis=1)
        best_i = np.take_along_axis(all_i, order, axis=1)
    available = np.isfinite(best_d).all(axis=0)
    return best_d[:, available], best_i[:, available]


def plot_neighbours(
    query_images: list[np.ndarray],
    query_names: list[str],
    neighbour_images: list[list[np.ndarray]],
    distances: np.ndarray,
    path: str | os.PathLike,
    title: str,
) -> Path:
    """One row per query: the query, then its neighbours with their distances."""
    from keras_alexnet.analysis.plotting import image_grid, thumbnail

    rows = []
    for q, name in enumerate(query_names):
        row = [(thumbnail(query_images[q]), f"query: {Path(name).name}"[:28])]
        row += [(thumbnail(image), f"#{j + 1}  d={distances[q, j]:.3g}") for j, image in enumerate(neighbour_images[q])]
        rows.append(row)
    return image_grid(rows, path, title=title)
