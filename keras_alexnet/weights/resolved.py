"""What resolving a `weights=` argument gives: `ResolvedWeights`, and reading a local checkpoint.

`keras_alexnet.weights.resolve.resolve_weights` dispatches a `weights=` argument
(registry name, `hf://` URI, path); this module holds what every source returns
(`ResolvedWeights`: the local files and the `NetworkRecord` they belong to) and
the local sources (`resolve_local_path`, `read_checkpoint_dir`).

Example:

>>> from pathlib import Path
>>> resolve_local_path(Path("weights.keras")) if Path("weights.keras").is_file() else "no such file"
'no such file'
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from keras_alexnet.models.config import NETWORK_FILENAME, NetworkRecord
from keras_alexnet.weights.checkpoint import NOTOP_WEIGHTS_FILENAME, TOP_WEIGHTS_FILENAME, verify_checkpoint

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
