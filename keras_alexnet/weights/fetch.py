"""Obtain a registered checkpoint: the local cache, the pinned Hub copy, then the public originals.

`fetch_registered(record)` tries, in order:

1. the converted checkpoint in the local cache (`keras_alexnet.weights.cache`): no network;
2. the record's pinned Hub copy, when one is published (verified against the registry's sha256);
3. each public original in turn (`download_original`): a file in a Hub repository with
   `hf_hub_download` (its cache, `HF_ENDPOINT`, `HF_HUB_OFFLINE`: in offline mode a Hub
   original already in the Hugging Face cache is still used), a URL with
   `keras_alexnet.weights.download.download` (progress bar, resumed `.part`, deadline and
   minimum rate, Git-LFS pointer detection); verify its size and checksums (a mismatch
   deletes the file and moves on to the next original); hand it to the `Conversion` the caller
   gives (`keras_alexnet.pretrained`, above `convert/`: convert, check, move into the cache
   atomically). Without one, an original is reported as not converted.

One process at a time fetches a record (a lock file in the cache); another one waits,
says so once ("waiting for another process downloading ..."), then uses the result.
The next call finds the cache and needs no network. Tests and private mirrors
pass a modified record: `dataclasses.replace(record, originals=(...))`.

Example:

>>> from keras_alexnet.weights.fetch import cached_checkpoint
>>> from keras_alexnet.weights.registry import get_weights_record
>>> cached_checkpoint(get_weights_record("imagenet")) is None or True
True
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from keras_alexnet.errors import format_bytes
from keras_alexnet.weights.cache import cache_dir, checkpoint_cache_dir, verified_checkpoint
from keras_alexnet.weights.checksums import ChecksumMismatchError, checksum_matches, file_digests, verify_original
from keras_alexnet.weights.download import (
    DownloadError,
    LfsPointerError,
    download,
    download_from_hub,
    lfs_pointer,
    lfs_pointer_message,
    log,
)
from keras_alexnet.weights.hub import _delete_cached, is_offline, resolve_registered_hub_copy
from keras_alexnet.weights.registry import Original, WeightsRecord
from keras_alexnet.weights.resolved import ResolvedWeights, WeightsUnavailableError


@dataclasses.dataclass(frozen=True)
class Conversion:
    """How a verified original becomes a cache entry; given by a layer above `convert/` (`keras_alexnet.pretrained`).

    `available(format)`: whether the format's converter can run here (its optional dependencies installed);
    `into_cache(record, path, original)`: convert, check and move into the cache, returning the entry.
    """

    available: Callable[[str], bool]
    into_cache: Callable[[WeightsRecord, Path, Original], ResolvedWeights]


def cached_checkpoint(record: WeightsRecord, *, repair: bool = False) -> ResolvedWeights | None:
    """The converted checkpoint of `record` in the local cache, if complete and intact (checked against its
    checksums.json); with `repair` (under the lock) a damaged entry is set aside (`cache.verified_checkpoint`)."""
    return verified_checkpoint(record, repair=repair)


_log = log


@contextlib.contextmanager
def record_lock(record: WeightsRecord) -> Iterator[None]:
    """Hold the record's lock file; when another process holds it, say so once, then wait for it."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(cache_dir() / f".{record.name}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        _log(
            f"waiting for another process downloading {record.name!r} (it holds {lock.lock_file}; it downloads and "
            "converts it once, then this one loads the result) ..."
        )
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def fetch_registered(
    record: WeightsRecord,
    *,
    conversion: Conversion | None = None,
    hub_org: str | None = None,
    progress: bool = True,
    keep_original: bool = False,
) -> ResolvedWeights:
    """Return the local checkpoint of `record`: the cache, the Hub copy, then (with `conversion`) an original.

    `keras_alexnet.pretrained.fetch_registered` is this with the converters (what `AlexNet(weights=...)`
    and `keras-alexnet weights fetch` use); without `conversion` no original is downloaded.
    """
    cached = cached_checkpoint(record)
    if cached is not None:
        return cached
    with record_lock(record):
        cached = cached_checkpoint(record, repair=True)  # another process may have just finished
        if cached is not None:
            return cached
        failures: list[str] = []
        if record.hub.published:
            try:
                return resolve_registered_hub_copy(record, hub_org)
            except (WeightsUnavailableError, ChecksumMismatchError) as error:
                failures.append(f"Hub copy: {error}")
        offline = is_offline()
        count = len(record.originals)
        for number, original in enumerate(record.originals, 1):
            if offline and not original.is_hub:
                failures.append(f"{original.location}: not tried, offline mode is on (HF_HUB_OFFLINE)")
                continue
            if conversion is None:
                failures.append(f"{original.location}: not tried, no converter given (keras_alexnet.pretrained)")
                continue
            if not conversion.available(original.format):
                failures.append(f"{original.location}: skipped, the {original.format} converter is unavailable")
                continue
            what = original.format + (f", {format_bytes(original.size)}" if original.size else "")
            _log(f"fetching original {number}/{count} of {record.name!r}: {original.location} ({what})")
            try:
                path = download_original(original, progress=progress)
            except (DownloadError, ChecksumMismatchError) as error:
                failures.append(f"{original.location}: {error}")
                then = "trying the next one" if number < count else "no original left to try"
                _log(f"original {number}/{count} of {record.name!r} failed ({error}); {then}")
                continue
            resolved = conversion.into_cache(record, path, original)
            if not keep_original and not original.is_hub:  # a Hub original stays in the Hugging Face cache
                path.unlink(missing_ok=True)
            return resolved
        raise WeightsUnavailableError(_unavailable_message(record, failures))


def download_original(original: Original, *, progress: bool = True) -> Path:
    """The verified local copy of `original`: downloaded (or found in its cache) and checked (size, checksums).

    A URL original goes to `<cache>/downloads/<filename>` (resuming its `.part`); a Hub original
    to the Hugging Face cache, through `hf_hub_download` (in offline mode: from that cache only).
    A file that fails verification is deleted (from whichever cache) and `ChecksumMismatchError`
    says why; a host that serves a Git-LFS pointer instead of the file is `LfsPointerError`.
    """
    if original.is_hub:
        path = download_from_hub(
            original.repo_id,
            original.path_in_repo,
            original.revision,
            expected_size=original.size,
            progress=progress,
            offline=is_offline(),
        )
        _check_not_a_pointer(path, original, delete=_delete_cached)
        verify_original(path, original, delete=_delete_cached)  # the snapshot link and its blob
        return path
    dest = cache_dir() / "downloads" / original.filename
    if not dest.is_file():
        download(
            original.url,
            dest,
            expected_size=original.size,
            verify=lambda path: _matches(path, original),
            progress=progress,
        )
    _check_not_a_pointer(dest, original, delete=lambda path: path.unlink(missing_ok=True))
    verify_original(dest, original)
    return dest


def _matches(path: Path, original: Original) -> bool:
    """Whether `path` has `original`'s size (when recorded) and checksums."""
    if original.size is not None and path.stat().st_size != original.size:
        return False
    return checksum_matches(file_digests(path), original)


def _check_not_a_pointer(path: Path, original: Original, *, delete) -> None:
    pointer = lfs_pointer(path)
    if pointer is not None:
        delete(path)
        raise LfsPointerError(f"{original.filename}: {lfs_pointer_message(original.location, pointer)}")


def known_original(record: WeightsRecord, path: str | os.PathLike) -> Original:
    """The original of `record` that the file `path` is (by checksum); `ChecksumMismatchError` if none."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"No such file: {path}. Pass the downloaded original of {record.name!r}. Received: {path}")
    digests = file_digests(path)
    for original in record.originals:
        if checksum_matches(digests, original):
            return original
    expected = ", ".join(f"{o.filename} ({o.checksum})" for o in record.originals)
    raise ChecksumMismatchError(
        f"{path} is not a known original of {record.name!r}: its sha256 is {digests['sha256']} and its sha1 "
        f"{digests['sha1']}; expected one of {expected}. To convert another file, use `keras-alexnet convert`. "
        f"Received: {path}"
    )


def _unavailable_message(record: WeightsRecord, failures: list[str]) -> str:
    tried = "\n".join(f"  - {failure}" for failure in failures) or "  - (no source to try)"
    first = record.originals[0] if record.originals else None
    if first is None:
        how = f"copy a converted checkpoint of {record.name!r} here and pass its directory as `weights=`"
    else:
        get = (
            f"run `hf download {first.repo_id} {first.path_in_repo}"
            + (f" --revision {first.revision}" if first.revision != "main" else "")
            + f"` (or download {first.url})"
            if first.is_hub
            else f"download {first.url}"
        )
        how = (
            f"{get} on a machine with network access, copy the file here and run "
            f"`keras-alexnet weights fetch {record.name} --from {first.filename}`"
        )
    return (
        f"The pretrained weights {record.name!r} are not available on this machine: there is no converted copy "
        f"in {checkpoint_cache_dir(record.name)}, and every source failed:\n{tried}\n"
        f"To work offline, {how}, or pass a checkpoint directory (`weights='/path/to/checkpoint'`). "
        "keras_alexnet never falls back to random weights."
    )
