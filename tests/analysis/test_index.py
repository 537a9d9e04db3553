"""The on-disk feature index: a standard .npz written and read in chunks."""

from __future__ import annotations

import numpy as np
import pytest

from keras_alexnet.analysis.index import iter_index_chunks, read_index_metadata, write_index


def _batches(rng, sizes, dim=5):
    out, start = [], 0
    for size in sizes:
        out.append((rng.normal(size=(size, dim)).astype("float32"), [f"img{start + i}.jpg" for i in range(size)]))
        start += size
    return out


def test_round_trip_matches_numpy_load(tmp_path, rng):
    batches = _batches(rng, [3, 4, 1])
    path = tmp_path / "sub" / "index.npz"
    assert write_index(path, iter(batches), {"layer": "fc7", "seed": 0}, chunk_bytes=7) == {"rows": 8, "dim": 5}
    expected = np.concatenate([f for f, _ in batches])
    with np.load(path) as archive:  # independent reader: NumPy's own
        np.testing.assert_array_equal(archive["features"], expected)
        assert archive["paths"].tolist() == [f"img{i}.jpg" for i in range(8)]
        assert str(archive["layer"]) == "fc7"
    chunks = list(iter_index_chunks(path, rows_per_chunk=3))
    assert [start for start, _ in chunks] == [0, 3, 6]
    np.testing.assert_array_equal(np.concatenate([c for _, c in chunks]), expected)
    metadata = read_index_metadata(path)
    assert metadata["shape"] == (8, 5) and metadata["layer"] == "fc7" and metadata["seed"] == "0"
    assert metadata["weights"] is None
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary left behind


def test_errors(tmp_path, rng):
    with pytest.raises(ValueError, match="nothing to index"):
        write_index(tmp_path / "empty.npz", [], {})
    with pytest.raises(ValueError, match="must be an .npz"):
        write_index(tmp_path / "index.npy", _batches(rng, [1]), {})
    with pytest.raises(ValueError, match="one path per row"):
        write_index(tmp_path / "bad.npz", [(np.zeros((2, 3)), ["a"])], {})
    with pytest.raises(FileNotFoundError, match="keras-alexnet embed"):
        read_index_metadata(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not an index"):
        read_index_metadata(tmp_path / "junk.npz")
    good = tmp_path / "good.npz"
    write_index(good, _batches(rng, [2]), {})
    assert not (tmp_path / "bad.npz").exists()


def test_failed_write_keeps_the_previous_index(tmp_path, rng):
    path = tmp_path / "index.npz"
    write_index(path, _batches(rng, [2]), {"layer": "fc7"})
    before = path.read_bytes()

    def broken():
        yield _batches(rng, [1])[0]
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_index(path, broken(), {"layer": "fc6"})
    assert path.read_bytes() == before
