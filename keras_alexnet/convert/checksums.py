"""Is a file the known public original? Checksums against the weights registry.

`check_original` hashes a file (sha256 and sha1 in one pass) and compares it
with the `originals` of the registered weights (or of one given record):

- "verified": the content matches a known original (sha256, sha1, or for
  torchvision the 8-hex-digit sha256 prefix that torchvision puts in its file
  names, which is all torchvision publishes; the size too, where recorded);
- "mismatch": the file is named like a known original but its content differs
  (a different release, a truncated download, or a stand-in);
- "unknown": any other file.

Only "verified" conversions reproduce the published checkpoints; the others
are converted all the same, with a warning.

Example:

>>> import tempfile, pathlib
>>> from keras_alexnet.convert.checksums import check_original
>>> path = pathlib.Path(tempfile.mkdtemp()) / "alexnet-owt-7be5be79.pth"
>>> _ = path.write_bytes(b"not the real file")
>>> check_original(path, "torchvision").verdict
'mismatch'
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from keras_alexnet.weights.checksums import checksum_matches, file_digests
from keras_alexnet.weights.registry import Original, WeightsRecord, list_weights

VERDICTS = ("verified", "mismatch", "unknown")


@dataclasses.dataclass(frozen=True)
class ChecksumReport:
    """The digests of a file and how they compare with the known originals."""

    path: Path
    size: int
    sha256: str
    sha1: str
    verdict: str
    record: WeightsRecord | None = None
    original: Original | None = None

    @property
    def short_message(self) -> str:
        """A few words: the verdict against the known originals."""
        if self.verdict == "verified":
            return f"matches the known original of {self.record.name!r}"
        if self.verdict == "mismatch":
            return (
                f"named like the original of {self.record.name!r} but differs (expected "
                f"{_expected_digest(self.original)}): NOT the published checkpoint"
            )
        return "not a known original: not a published checkpoint"

    @property
    def message(self) -> str:
        """One line for people: what the file is, judged by its checksum."""
        name = self.path.name
        if self.verdict == "verified":
            how = "sha256 prefix" if self.original.sha256 is None and self.original.sha1 is None else "checksum"
            return f"{name}: {how} matches the known original of {self.record.name!r} ({self.original.url})"
        if self.verdict == "mismatch":
            expected = _expected_digest(self.original)
            return (
                f"{name} is named like the known original of {self.record.name!r} but its content differs "
                f"(sha256 {self.sha256}, sha1 {self.sha1}, {self.size:,} bytes; expected {expected}); "
                "converting it anyway: the result is NOT the published checkpoint"
            )
        return (
            f"{name} is not a known original (sha256 {self.sha256}); converting it anyway: the result is "
            "not a published checkpoint"
        )


def matches(original: Original, sha256: str, sha1: str, size: int) -> bool:
    """True if the digests match every checksum `original` records (at least one), and its size if recorded."""
    if not (original.sha256 or original.sha1 or original.sha256_prefix):
        return False
    if original.size is not None and size != original.size:
        return False
    return checksum_matches({"sha256": sha256, "sha1": sha1}, original)


def check_original(
    path: str | os.PathLike, source_format: str | None = None, record: WeightsRecord | None = None
) -> ChecksumReport:
    """Compare `path` with the originals of `record` (default: every registered record) of `source_format`."""
    path = Path(path)
    digests = file_digests(path)
    sha256, sha1, size = digests["sha256"], digests["sha1"], path.stat().st_size
    records = [record] if record is not None else list_weights()
    candidates = [(r, o) for r in records for o in r.originals if source_format is None or o.format == source_format]
    report = dict(path=path, size=size, sha256=sha256, sha1=sha1)
    for r, o in candidates:
        if matches(o, sha256, sha1, size):
            return ChecksumReport(**report, verdict="verified", record=r, original=o)
    for r, o in candidates:
        if o.filename == path.name:
            return ChecksumReport(**report, verdict="mismatch", record=r, original=o)
    return ChecksumReport(**report, verdict="unknown")


def _expected_digest(original: Original) -> str:
    parts = []
    if original.sha256:
        parts.append(f"sha256 {original.sha256}")
    if original.sha1:
        parts.append(f"sha1 {original.sha1}")
    if original.sha256_prefix:
        parts.append(f"sha256 starting {original.sha256_prefix}")
    if original.size is not None:
        parts.append(f"{original.size:,} bytes")
    return ", ".join(parts) or "no recorded checksum"
