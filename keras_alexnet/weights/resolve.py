"""Turn a `weights=` argument into local files, without ever guessing.

`resolve_weights` accepts a registry name ("imagenet", "bvlc_imagenet1k", ...),
an `hf://org/repo[@revision]` URI, a checkpoint directory, a `.weights.h5`
file or a `.keras` file. It returns a `ResolvedWeights` naming the local
files and the `NetworkRecord` they belong to (None for a bare `.weights.h5`,
whose network the builder's arguments decide). A checkpoint directory is
checked against its checksums.json before it is used (`read_checkpoint_dir`).

Example:

>>> from keras_alexnet.weights.resolve import is_valid_weights_argument
>>> is_valid_weights_argument("imagenet"), is_valid_weights_argument("no-such-file.h5")
(True, False)
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from keras_alexnet.weights.network import NETWORK_FILENAME, NetworkRecord
from keras_alexnet.weights.registry import get_weights_record, is_registered

TOP_WEIGHTS_FILENAME = "model.weights.h5"
NOTOP_WEIGHTS_FILENAME = "notop.weights.h5"
HF_PREFIX = "hf://"


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights were asked for but cannot be obtained here."""


@dataclasses.dataclass(frozen=True)
class ResolvedWeights:
    """Local files holding a set of weights, and the network they belong to."""

    description: str
    network: NetworkRecord | None
    top_path: Path | None = None
    notop_path: Path | None = None
    keras_path: Path | None = None


def is_valid_weights_argument(weights) -> bool:
    """True for None, a registry name or alias, an `hf://` URI, or an existing path."""
    if weights is None:
        return True
    if not isinstance(weights, str | os.PathLike):
        return False
    text = os.fspath(weights)
    return is_registered(text) or text.startswith(HF_PREFIX) or os.path.exists(text)


def resolve_weights(weights: str | os.PathLike) -> ResolvedWeights:
    """Find (and if needed fetch) the files behind a `weights=` argument."""
    text = os.fspath(weights)
    if is_registered(text):
        return resolve_registered(text)
    if text.startswith(HF_PREFIX):
        from keras_alexnet.weights.hub import resolve_hf_uri

        return resolve_hf_uri(text)
    return resolve_local_path(Path(text))


def resolve_registered(name: str) -> ResolvedWeights:
    """Resolve a registry name: local cache first, then the record's sources."""
    record = get_weights_record(name)
    from keras_alexnet.weights import fetch

    return fetch.fetch_registered(record)


def resolve_local_path(path: Path) -> ResolvedWeights:
    """Resolve a checkpoint directory, a `.weights.h5` file or a `.keras` file."""
    if path.is_dir():
        return read_checkpoint_dir(path)
    if path.is_file() and path.name.endswith(".weights.h5"):
        return ResolvedWeights(description=str(path), network=None, top_path=path)
    if path.is_file() and path.suffix == ".keras":
        return ResolvedWeights(description=str(path), network=None, keras_path=path)
    raise ValueError(
        "The `weights` argument should be None, 'imagenet', a registered weights name, "
        "an 'hf://org/repo' URI, a checkpoint directory, a '.weights.h5' file or a "
        f"'.keras' file. Received: weights={os.fspath(path)!r}"
    )


def read_checkpoint_dir(directory: Path, *, verify: bool = True) -> ResolvedWeights:
    """Read a keras_alexnet checkpoint directory (see `keras_alexnet.weights.checkpoint`).

    With `verify` (the default) its files are checked against its checksums.json first
    (`keras_alexnet.weights.checkpoint.verify_checkpoint`: sizes always, sha256 the first time in a
    process); a mismatch raises `keras_alexnet.errors.DamagedFileError` naming the file, and nothing in
    the directory is changed. `verify=False` is for a directory just checked (the cache).
    """
    if verify:
        from keras_alexnet.weights.checkpoint import verify_checkpoint

        verify_checkpoint(directory)
    network = NetworkRecord.read(directory)
    top = directory / TOP_WEIGHTS_FILENAME
    notop = directory / NOTOP_WEIGHTS_FILENAME
    if not top.is_file() and not notop.is_file():
        raise ValueError(
            f"Checkpoint directory {directory} has a {NETWORK_FILENAME} but neither "
            f"{TOP_WEIGHTS_FILENAME} nor {NOTOP_WEIGHTS_FILENAME}. Received: {directory}"
        )
    return ResolvedWeights(
        description=str(directory),
        network=network,
        top_path=top if top.is_file() else None,
        notop_path=notop if notop.is_file() else None,
    )
