"""Turn a `weights=` argument into local files, without ever guessing.

`resolve_weights` accepts a registry name ("imagenet", "bvlc_imagenet1k", ...),
an `hf://org/repo[@revision]` URI, a checkpoint directory, a `.weights.h5`
file or a `.keras` file. It returns a `ResolvedWeights` naming the local
files and the `NetworkRecord` they belong to (None for a bare `.weights.h5`,
whose network the builder's arguments decide). A checkpoint directory is
checked against its checksums.json before it is used (`read_checkpoint_dir`).
A registered name not in the cache is fetched (the Hub copy, then with
`conversion` an original: `keras_alexnet.pretrained.resolve_weights`, which
`keras_alexnet.AlexNet` calls, passes the converters).

Example:

>>> from keras_alexnet.weights.resolve import is_valid_weights_argument
>>> is_valid_weights_argument("imagenet"), is_valid_weights_argument("no-such-file.h5")
(True, False)
"""

from __future__ import annotations

import os
from pathlib import Path

from keras_alexnet.weights.checkpoint import NOTOP_WEIGHTS_FILENAME, TOP_WEIGHTS_FILENAME
from keras_alexnet.weights.fetch import Conversion, fetch_registered
from keras_alexnet.weights.hub import resolve_hf_uri
from keras_alexnet.weights.registry import get_weights_record, is_registered
from keras_alexnet.weights.resolved import (
    HF_PREFIX,
    ResolvedWeights,
    WeightsUnavailableError,
    read_checkpoint_dir,
    resolve_local_path,
)

__all__ = [
    "HF_PREFIX",
    "NOTOP_WEIGHTS_FILENAME",
    "TOP_WEIGHTS_FILENAME",
    "ResolvedWeights",
    "WeightsUnavailableError",
    "is_valid_weights_argument",
    "read_checkpoint_dir",
    "resolve_local_path",
    "resolve_registered",
    "resolve_weights",
]


def is_valid_weights_argument(weights) -> bool:
    """True for None, a registry name or alias, an `hf://` URI, or an existing path."""
    if weights is None:
        return True
    if not isinstance(weights, str | os.PathLike):
        return False
    text = os.fspath(weights)
    return is_registered(text) or text.startswith(HF_PREFIX) or os.path.exists(text)


def resolve_weights(weights: str | os.PathLike, *, conversion: Conversion | None = None) -> ResolvedWeights:
    """Find (and if needed fetch) the files behind a `weights=` argument."""
    text = os.fspath(weights)
    if is_registered(text):
        return resolve_registered(text, conversion=conversion)
    if text.startswith(HF_PREFIX):
        return resolve_hf_uri(text)
    return resolve_local_path(Path(text))


def resolve_registered(name: str, *, conversion: Conversion | None = None) -> ResolvedWeights:
    """Resolve a registry name: local cache first, then the record's sources."""
    return fetch_registered(get_weights_record(name), conversion=conversion)
