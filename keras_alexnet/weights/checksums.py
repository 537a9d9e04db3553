"""The one place keras_alexnet hashes files: sha256 (`sha256_file`, `known_sha256`), sha256+sha1 (`file_digests`).

Checkpoint directories (`keras_alexnet.weights.checkpoint`: checksums.json), training checkpoints'
records (`keras_alexnet.training.checkpoints`) and the originals' checks against the registry
(`verify_original` here, `keras_alexnet.convert.checksums`) all hash through these functions.

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
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: hashing depends on nothing else of the package
    from keras_alexnet.weights.registry import Original


#: sha256 of the files hashed in this process, by `_identity` (device, inode, size, mtime, ctime): see `known_sha256`.
_KNOWN_DIGESTS: dict[tuple[int, ...], str] = {}
#: Most digests remembered (the oldest are forgotten first).
MAX_KNOWN_DIGESTS = 4096


def _identity(stat: os.stat_result) -> tuple[int, ...]:
    """What changes whenever a file's content may have: a write moves mtime and ctime, `os.utime` moves ctime."""
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks (remembered for `known_sha256` when the file did not change meanwhile)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        before = _identity(os.fstat(f.fileno()))
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
        after = _identity(os.fstat(f.fileno()))
    if before == after:
        while len(_KNOWN_DIGESTS) >= MAX_KNOWN_DIGESTS:
            del _KNOWN_DIGESTS[next(iter(_KNOWN_DIGESTS))]
        _KNOWN_DIGESTS[after] = digest.hexdigest()
    return digest.hexdigest()


def known_sha256(path: str | os.PathLike, stat: os.stat_result | None = None) -> str:
    """`sha256_file(path)`, or the digest this process computed for the unchanged file (same `_identity`).

    The identity is not the path: a checkpoint renamed into place (staging -> cache) keeps its verdict, and a
    file rewritten in place (new mtime/ctime) or replaced (new inode) is hashed again.
    """
    known = _KNOWN_DIGESTS.get(_identity(stat if stat is not None else os.stat(path)))
    return known if known is not None else sha256_file(path)


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
