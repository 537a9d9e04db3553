"""A feature index on disk: a standard `.npz` file written and read in chunks (bounded memory).

The file holds `features` (N, D) float32, `paths` (N,) and a few metadata
entries (`layer`, `weights`, `variant`, `preprocessing`, `seed`). It is a plain
NumPy archive (`np.load(path)` reads it), but `write_index` streams rows to a
temporary file and `iter_index_chunks` reads them back a chunk at a time, so
neither needs the whole matrix in memory.

Example:

>>> import numpy as np, tempfile
>>> from keras_alexnet.analysis.index import write_index, read_index_metadata
>>> path = tempfile.mktemp(suffix=".npz")
>>> write_index(path, [(np.ones((2, 3), "float32"), ["a.jpg", "b.jpg"])], {"layer": "fc7"})["rows"]
2
>>> read_index_metadata(path)["layer"], np.load(path)["features"].shape
('fc7', (2, 3))
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from keras_alexnet.outputs import check_output, publish, staging_directory

FEATURES = "features.npy"
PATHS = "paths.npy"
METADATA_KEYS = ("layer", "weights", "variant", "preprocessing", "seed")
#: What `write_index` calls its results in messages.
INDEX_KIND = "index (written by keras-alexnet embed)"


def write_index(
    path: str | os.PathLike,
    batches: Iterable[tuple[np.ndarray, list]],
    metadata: dict[str, str | int | None],
    chunk_bytes: int = 1 << 24,
    *,
    overwrite: bool = False,
) -> dict:
    """Stream (features, paths) batches into an `.npz` index at `path`, atomically.

    `path` may be absent or an earlier index; anything else is refused
    (`keras_alexnet.outputs.ExistingOutputError`) unless `overwrite`.
    Returns {"rows": N, "dim": D}. Raises ValueError if no batch has rows.
    """
    path = check_index_path(path, overwrite=overwrite)
    rows, dim, names = 0, None, []
    with staging_directory(path.parent, path.name, "index") as scratch:
        raw_path = Path(scratch) / "features.raw"
        with open(raw_path, "wb") as raw:
            for features, paths in batches:
                features = np.ascontiguousarray(features, dtype=np.float32)
                if dim is None:
                    dim = features.shape[1]
                if features.ndim != 2 or features.shape[1] != dim or len(features) != len(paths):
                    raise ValueError(
                        f"Every batch must be (rows, {dim}) features with one path per row. "
                        f"Received: features of shape {features.shape} and {len(paths)} paths"
                    )
                raw.write(features.tobytes())
                names.extend(os.fspath(p) for p in paths)
                rows += len(features)
        if rows == 0:
            raise ValueError("No image could be read, so there is nothing to index. Received: 0 feature rows")
        staging = Path(scratch) / "index.npz"
        with zipfile.ZipFile(staging, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            with archive.open(FEATURES, "w", force_zip64=True) as member:
                header = {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False}
                np.lib.format.write_array_header_2_0(member, {**header, "shape": (rows, dim)})
                with open(raw_path, "rb") as raw:
                    while chunk := raw.read(chunk_bytes):
                        member.write(chunk)
            with archive.open(PATHS, "w") as member:
                np.save(member, np.array(names, dtype=str))
            for key in METADATA_KEYS:
                with archive.open(f"{key}.npy", "w") as member:
                    value = metadata.get(key)
                    np.save(member, np.array("" if value is None else str(value)))
        publish(staging, path, is_index_file, INDEX_KIND, overwrite=overwrite)
    return {"rows": rows, "dim": dim}


def is_index_file(path: str | os.PathLike) -> bool:
    """Whether `path` is an index `write_index` wrote (a zip with the features and paths arrays)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return {FEATURES, PATHS} <= names


def check_index_path(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """`path` as a `Path`, after checking it is an `.npz` name where an index may be written."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"The index must be an .npz file. Received: {os.fspath(path)!r}")
    check_output(path, is_index_file, INDEX_KIND, overwrite=overwrite, directory=False)
    return path


def _open(path: str | os.PathLike) -> zipfile.ZipFile:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such index file; create one with `keras-alexnet embed`. Received: {path}")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValueError(f"{path} is not an index written by `keras-alexnet embed`. Received: {path}") from None
    if FEATURES not in archive.namelist() or PATHS not in archive.namelist():
        archive.close()
        raise ValueError(f"{path} has no features/paths arrays; is it an embed index? Received: {path}")
    return archive


def read_index_metadata(path: str | os.PathLike) -> dict:
    """The metadata, the paths, and the (rows, dim) shape of an index (features not loaded)."""
    with _open(path) as archive:
        with archive.open(PATHS) as member:
            paths = np.load(member).tolist()
        metadata = {}
        for key in METADATA_KEYS:
            if f"{key}.npy" in archive.namelist():
                with archive.open(f"{key}.npy") as member:
                    metadata[key] = str(np.load(member)) or None
        with archive.open(FEATURES) as member:
            shape, _, _ = _read_header(member)
    return {**metadata, "paths": paths, "shape": shape}


def _read_header(member) -> tuple[tuple[int, int], bool, np.dtype]:
    version = np.lib.format.read_magic(member)
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return reader(member)


def iter_index_chunks(path: str | os.PathLike, rows_per_chunk: int = 4096) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (first row, features chunk) over the index, `rows_per_chunk` rows at a time."""
    with _open(path) as archive, archive.open(FEATURES) as member:
        (rows, dim), fortran_order, dtype = _read_header(member)
        if fortran_order:
            raise ValueError(f"{path}: features stored in Fortran order are not supported. Received: {path}")
        row_bytes = dim * dtype.itemsize
        for start in range(0, rows, rows_per_chunk):
            count = min(rows_per_chunk, rows - start)
            data = member.read(count * row_bytes)
            if len(data) != count * row_bytes:
                raise ValueError(f"{path} is truncated at row {start}; embed the folder again. Received: {path}")
            yield start, np.frombuffer(data, dtype=dtype).reshape(count, dim).astype(np.float32)
