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

from keras_alexnet.models.config import NETWORK_FILENAME, NetworkRecord, read_format_version
from keras_alexnet.weights.checkpoint import NOTOP_WEIGHTS_FILENAME, TOP_WEIGHTS_FILENAME, verify_checkpoint
from keras_alexnet.weights.preset_files import BACKBONE_WEIGHTS_FILENAME, TASK_WEIGHTS_FILENAME

HF_PREFIX = "hf://"


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights were asked for but cannot be obtained here."""


@dataclasses.dataclass(frozen=True)
class ResolvedWeights:
    """Local files holding a set of weights, and the network they belong to.

    `top_path`: every weight of the model (a `.weights.h5` file, format 1's model.weights.h5); `notop_path`: the
    conv stack's (format 1's notop.weights.h5, format 2's backbone model.weights.h5); `task_path`: the classifier's
    own layers (format 2's task.weights.h5, perhaps absent), loaded together with `notop_path`.
    """

    description: str
    network: NetworkRecord | None
    top_path: Path | None = None
    notop_path: Path | None = None
    keras_path: Path | None = None
    task_path: Path | None = None

    def files(self) -> dict:
        """The file fields, for building another `ResolvedWeights` of the same files."""
        return {
            "top_path": self.top_path,
            "notop_path": self.notop_path,
            "keras_path": self.keras_path,
            "task_path": self.task_path,
        }


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
    if read_format_version(directory) >= 2:
        return _read_preset_checkpoint(directory, network)
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


def _read_preset_checkpoint(directory: Path, network: NetworkRecord) -> ResolvedWeights:
    """Format 2: the backbone's model.weights.h5 (needed) and the task's task.weights.h5 (for the top)."""
    backbone = directory / BACKBONE_WEIGHTS_FILENAME
    task = directory / TASK_WEIGHTS_FILENAME
    if not backbone.is_file():
        raise ValueError(
            f"Checkpoint directory {directory} has a {NETWORK_FILENAME} (format 2) but no {BACKBONE_WEIGHTS_FILENAME} "
            f"(the backbone's weights). Received: {directory}"
        )
    return ResolvedWeights(
        description=str(directory),
        network=network,
        notop_path=backbone,
        task_path=task,  # loading says so when it is missing and the top is asked for
    )
