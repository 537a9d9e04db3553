"""Obtain a registered checkpoint: the local cache, the pinned Hub copy, then the public originals.

`fetch_registered(record)` tries, in order:

1. the converted checkpoint in the local cache (`keras_alexnet.weights.cache`): no network;
2. the record's pinned Hub copy, when one is published (verified against the registry's sha256);
3. each public original (mirror) in turn: download with a progress bar, resuming a `.part` file;
   verify the checksum (a mismatch deletes the file and moves on); convert with
   `keras_alexnet.convert.convert_file`; check the converted network (parameter count,
   output shape, network record); move it into the cache atomically; load.

The next call finds the cache and needs no network. Tests and private mirrors
pass a modified record: `dataclasses.replace(record, originals=(...))`.

Example:

>>> from keras_alexnet.weights.fetch import cached_checkpoint
>>> from keras_alexnet.weights.registry import get_weights_record
>>> cached_checkpoint(get_weights_record("imagenet")) is None or True
True
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

from keras_alexnet.weights.cache import cache_dir, checkpoint_cache_dir
from keras_alexnet.weights.checksums import ChecksumMismatchError, file_digests, verify_original
from keras_alexnet.weights.download import DownloadError, download
from keras_alexnet.weights.network import NetworkRecord
from keras_alexnet.weights.registry import Original, WeightsRecord
from keras_alexnet.weights.resolve import ResolvedWeights, WeightsUnavailableError, read_checkpoint_dir

#: Converter module of each original format (a mirror is skipped when its converter is unavailable).
CONVERTER_MODULES = {
    "onnx": "keras_alexnet.convert.onnx_converter",
    "torchvision": "keras_alexnet.convert.torchvision_converter",
    "caffe": "keras_alexnet.convert.caffe_converter",
}


def cached_checkpoint(record: WeightsRecord, *, repair: bool = False) -> ResolvedWeights | None:
    """The converted checkpoint of `record` in the local cache, if complete and intact (checked against its
    checksums.json); with `repair` (under the lock) a damaged entry is set aside (`cache.verified_checkpoint`)."""
    from keras_alexnet.weights.cache import verified_checkpoint

    return verified_checkpoint(record, repair=repair)


def converter_available(format: str) -> bool:
    """Whether the converter for `format` can be imported here (torch / onnx / protobuf installed)."""
    try:
        importlib.import_module(CONVERTER_MODULES[format])
    except (ImportError, KeyError):
        return False
    return True


def _log(message: str) -> None:
    print(f"keras_alexnet: {message}", file=sys.stderr, flush=True)


def _lock(record: WeightsRecord):
    from filelock import FileLock

    cache_dir().mkdir(parents=True, exist_ok=True)
    return FileLock(str(cache_dir() / f".{record.name}.lock"))


def fetch_registered(
    record: WeightsRecord,
    *,
    hub_org: str | None = None,
    progress: bool = True,
    keep_original: bool = False,
) -> ResolvedWeights:
    """Return the local checkpoint of `record`, fetching and converting it if needed."""
    cached = cached_checkpoint(record)
    if cached is not None:
        return cached
    from keras_alexnet.weights.hub import is_offline, resolve_registered_hub_copy

    with _lock(record):
        cached = cached_checkpoint(record, repair=True)  # another process may have just finished
        if cached is not None:
            return cached
        failures: list[str] = []
        if record.hub.published:
            try:
                return resolve_registered_hub_copy(record, hub_org)
            except (WeightsUnavailableError, ChecksumMismatchError) as error:
                failures.append(f"Hub copy: {error}")
        if is_offline():
            failures.append("public originals: not tried, offline mode is on (HF_HUB_OFFLINE)")
        else:
            for original in record.originals:
                if not converter_available(original.format):
                    failures.append(f"{original.url}: skipped, the {original.format} converter is unavailable")
                    continue
                try:
                    path = _download_original(original, progress=progress)
                except (DownloadError, ChecksumMismatchError) as error:
                    failures.append(f"{original.url}: {error}")
                    continue
                resolved = convert_into_cache(record, path, original)
                if not keep_original:
                    path.unlink(missing_ok=True)
                return resolved
        raise WeightsUnavailableError(_unavailable_message(record, failures))


def _download_original(original: Original, *, progress: bool) -> Path:
    dest = cache_dir() / "downloads" / original.filename
    if not dest.is_file():
        download(original.url, dest, expected_size=original.size, progress=progress)
    verify_original(dest, original)
    return dest


def fetch_from_file(record: WeightsRecord, path: str | os.PathLike) -> ResolvedWeights:
    """Convert an original the user already has into the cache, after checking it is a known original."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"No such file: {path}. Pass the downloaded original of {record.name!r}. Received: {path}")
    digests = file_digests(path)
    from keras_alexnet.weights.checksums import checksum_matches

    for original in record.originals:
        if checksum_matches(digests, original):
            with _lock(record):
                return convert_into_cache(record, path, original)
    expected = ", ".join(f"{o.filename} ({o.checksum})" for o in record.originals)
    raise ChecksumMismatchError(
        f"{path} is not a known original of {record.name!r}: its sha256 is {digests['sha256']} and its sha1 "
        f"{digests['sha1']}; expected one of {expected}. To convert another file, use `keras-alexnet convert`. "
        f"Received: {path}"
    )


def convert_into_cache(record: WeightsRecord, source: Path, original: Original) -> ResolvedWeights:
    """Convert a verified original, check the result, and move it into the cache atomically."""
    from keras_alexnet.convert import convert_file
    from keras_alexnet.outputs import check_output, publish, staging_directory
    from keras_alexnet.weights.checkpoint import CHECKPOINT_KIND, is_checkpoint_dir

    target = checkpoint_cache_dir(record.name)
    check_output(target, is_checkpoint_dir, CHECKPOINT_KIND)
    _log(
        f"converting {record.name!r} from {original.url} ({original.format}, {original.checksum} verified; "
        f"license: {record.license}) into {target} ..."
    )
    start = time.perf_counter()
    with staging_directory(target.parent, target.name, "convert") as staging:
        converted = Path(
            convert_file(
                source, staging / "checkpoint", source_format=original.format, record=record, verify_checksum=False
            )
        )
        check_converted(converted, record)
        publish(converted, target, is_checkpoint_dir, CHECKPOINT_KIND)
    _log(f"converted {record.name!r} in {time.perf_counter() - start:.1f} s; later calls load {target}")
    return read_checkpoint_dir(target)


def check_converted(directory: Path, record: WeightsRecord) -> None:
    """Raise if the converted checkpoint is not the network `record` describes."""
    from keras_alexnet.models.alexnet import AlexNet

    network = NetworkRecord.read(directory)
    if network != record.network:
        raise ValueError(
            f"The converted checkpoint describes {network}, but {record.name!r} is {record.network}. "
            f"Received: {directory}"
        )
    model = AlexNet(weights=str(directory))
    params = model.count_params()
    shape = tuple(model.output_shape)
    if params != record.num_params or shape != (None, record.network.classes):
        raise ValueError(
            f"The converted {record.name!r} has {params:,} parameters and output shape {shape}; expected "
            f"{record.num_params:,} and {(None, record.network.classes)}. Received: {directory}"
        )


def _unavailable_message(record: WeightsRecord, failures: list[str]) -> str:
    tried = "\n".join(f"  - {failure}" for failure in failures) or "  - (no source to try)"
    first = record.originals[0] if record.originals else None
    how = (
        f"download {first.url} on a machine with network access, copy it here and run "
        f"`keras-alexnet weights fetch {record.name} --from {first.filename}`"
        if first
        else f"copy a converted checkpoint of {record.name!r} here and pass its directory as `weights=`"
    )
    return (
        f"The pretrained weights {record.name!r} are not available on this machine: there is no converted copy "
        f"in {checkpoint_cache_dir(record.name)}, and every source failed:\n{tried}\n"
        f"To work offline, {how}, or pass a checkpoint directory (`weights='/path/to/checkpoint'`). "
        "keras_alexnet never falls back to random weights."
    )
