"""Verify downloaded files against the checksums the registry records.

Example:

>>> import tempfile, pathlib
>>> from keras_alexnet.weights.checksums import file_digests
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
>>> _ = path.write_bytes(b"abc")
>>> file_digests(path)["sha256"][:16]
'ba7816bf8f01cfea'
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from keras_alexnet.weights.registry import Original


class ChecksumMismatchError(ValueError):
    """A file's checksum differs from the recorded one (the file has been deleted)."""


def file_digests(path: str | os.PathLike, chunk_size: int = 1 << 20) -> dict[str, str]:
    """sha256 and sha1 of a file, in one pass."""
    sha256, sha1 = hashlib.sha256(), hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            sha256.update(chunk)
            sha1.update(chunk)
    return {"sha256": sha256.hexdigest(), "sha1": sha1.hexdigest()}


def checksum_matches(digests: dict[str, str], original: Original) -> bool:
    """Whether `digests` (from `file_digests`) match every checksum `original` records."""
    if original.sha256 and digests["sha256"] != original.sha256.lower():
        return False
    if original.sha1 and digests["sha1"] != original.sha1.lower():
        return False
    return not (original.sha256_prefix and not digests["sha256"].startswith(original.sha256_prefix.lower()))


def verify_original(
    path: str | os.PathLike,
    original: Original,
    *,
    delete_on_mismatch: bool = True,
    delete: Callable[[Path], object] | None = None,
) -> str:
    """Check `path` against `original`'s size (first: cheap) and checksums; return "algorithm:hex" of what was verified.

    On a mismatch the file is deleted (unless `delete_on_mismatch=False`; with
    `delete(path)` when given, e.g. to remove a Hugging Face cache blob too) and
    `ChecksumMismatchError` names both sizes or both hashes.
    """
    path = Path(path)
    fate = "deleted" if delete_on_mismatch else "kept"
    remove = delete or (lambda p: p.unlink(missing_ok=True))
    size = path.stat().st_size
    if original.size is not None and size != original.size:
        if delete_on_mismatch:
            remove(path)
        raise ChecksumMismatchError(
            f"{original.filename} from {original.location} failed verification: it has {size:,} bytes, expected "
            f"{original.size:,}. The file was {fate}; it is truncated or not the published original. "
            f"Received: {path}"
        )
    digests = file_digests(path)
    if checksum_matches(digests, original):
        algorithm = "sha256" if original.sha256 or original.sha256_prefix else "sha1"
        return f"{algorithm}:{digests[algorithm]}"
    if delete_on_mismatch:
        remove(path)
    expected = original.checksum
    algorithm = expected.split(":")[0].removesuffix("-prefix")
    raise ChecksumMismatchError(
        f"{original.filename} from {original.location} failed verification: its {algorithm} is "
        f"{digests[algorithm]}, expected {expected}. The file was {fate}; it is corrupted or not the published "
        f"original. Received: {path}"
    )
