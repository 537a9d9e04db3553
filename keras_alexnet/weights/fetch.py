"""Obtain a registered checkpoint: the local cache, else a clear error.

Example:

>>> from keras_alexnet.weights.fetch import cached_checkpoint
>>> from keras_alexnet.weights.registry import get_weights_record
>>> cached_checkpoint(get_weights_record("imagenet")) is None or True
True
"""

from __future__ import annotations

from keras_alexnet.weights.cache import checkpoint_cache_dir
from keras_alexnet.weights.network import NETWORK_FILENAME
from keras_alexnet.weights.registry import WeightsRecord
from keras_alexnet.weights.resolve import ResolvedWeights, WeightsUnavailableError, read_checkpoint_dir


def cached_checkpoint(record: WeightsRecord) -> ResolvedWeights | None:
    """The converted checkpoint of `record` in the local cache, if complete."""
    directory = checkpoint_cache_dir(record.name)
    if (directory / NETWORK_FILENAME).is_file():
        return read_checkpoint_dir(directory)
    return None


def fetch_registered(record: WeightsRecord) -> ResolvedWeights:
    """Return the local checkpoint of `record`, fetching it if possible."""
    cached = cached_checkpoint(record)
    if cached is not None:
        return cached
    original = record.originals[0]
    raise WeightsUnavailableError(
        f"The pretrained weights {record.name!r} are not available on this machine: there is no "
        f"converted copy in {checkpoint_cache_dir(record.name)} and no published Hub copy. "
        f"Download the original ({original.url}), convert it with "
        f"`keras-alexnet convert --from {original.format} {original.filename} -o DIR`, and pass "
        "`weights=DIR`. keras_alexnet never falls back to random weights."
    )
