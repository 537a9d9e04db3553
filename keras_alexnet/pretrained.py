"""Registered pretrained weights, end to end: the cache, the Hub copy, then an original converted here.

`keras_alexnet.weights` finds checkpoints (cache, Hub, local paths) and downloads
originals but never converts: conversion (`keras_alexnet.convert`) sits above it.
This module joins the two for `keras_alexnet.AlexNet(weights=...)`, `from_hub`
and `keras-alexnet weights fetch`: `resolve_weights` / `fetch_registered` pass
`CONVERSION` (convert a verified original, check the converted network, move it
into the cache atomically) to `keras_alexnet.weights.fetch.fetch_registered`.

Example:

>>> from keras_alexnet.pretrained import resolve_weights
>>> import keras_alexnet, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.weights.h5"
>>> keras_alexnet.AlexNet(variant="torchvision").save_weights(path)
>>> resolve_weights(path).top_path == path
True
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from keras_alexnet.convert.api import convert_file, converter_available
from keras_alexnet.convert.assemble import load_converted
from keras_alexnet.outputs import check_output, publish, staging_directory
from keras_alexnet.weights import fetch, resolve
from keras_alexnet.weights.cache import checkpoint_cache_dir
from keras_alexnet.weights.checkpoint import CHECKPOINT_KIND, is_checkpoint_dir
from keras_alexnet.weights.network import NetworkRecord
from keras_alexnet.weights.registry import Original, WeightsRecord
from keras_alexnet.weights.resolved import ResolvedWeights, read_checkpoint_dir


def conversion() -> fetch.Conversion:
    """The converters, as `keras_alexnet.weights.fetch.fetch_registered` takes them."""
    return fetch.Conversion(available=converter_available, into_cache=convert_into_cache)


def resolve_weights(weights: str | os.PathLike) -> ResolvedWeights:
    """The local files behind a `weights=` argument, fetching and converting a registered checkpoint if needed."""
    return resolve.resolve_weights(weights, conversion=conversion())


def fetch_registered(
    record: WeightsRecord, *, hub_org: str | None = None, progress: bool = True, keep_original: bool = False
) -> ResolvedWeights:
    """The local checkpoint of `record`: the cache, the Hub copy, then each original downloaded and converted."""
    return fetch.fetch_registered(
        record, conversion=conversion(), hub_org=hub_org, progress=progress, keep_original=keep_original
    )


def fetch_from_file(record: WeightsRecord, path: str | os.PathLike) -> ResolvedWeights:
    """Convert an original the user already has into the cache, after checking it is a known original."""
    original = fetch.known_original(record, path)
    with fetch.record_lock(record):
        return convert_into_cache(record, Path(path), original)


def convert_into_cache(record: WeightsRecord, source: Path, original: Original) -> ResolvedWeights:
    """Convert a verified original, check the result, and move it into the cache atomically."""
    target = checkpoint_cache_dir(record.name)
    check_output(target, is_checkpoint_dir, CHECKPOINT_KIND)
    fetch.log(
        f"converting {record.name!r} from {original.location} ({original.format}, {original.checksum} verified; "
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
    fetch.log(f"converted {record.name!r} in {time.perf_counter() - start:.1f} s; later calls load {target}")
    return read_checkpoint_dir(target)


def check_converted(directory: Path, record: WeightsRecord) -> None:
    """Raise if the converted checkpoint is not the network `record` describes."""
    network = NetworkRecord.read(directory)
    if network != record.network:
        raise ValueError(
            f"The converted checkpoint describes {network}, but {record.name!r} is {record.network}. "
            f"Received: {directory}"
        )
    model = load_converted(directory)
    params = model.count_params()
    shape = tuple(model.output_shape)
    if params != record.num_params or shape != (None, record.network.classes):
        raise ValueError(
            f"The converted {record.name!r} has {params:,} parameters and output shape {shape}; expected "
            f"{record.num_params:,} and {(None, record.network.classes)}. Received: {directory}"
        )
