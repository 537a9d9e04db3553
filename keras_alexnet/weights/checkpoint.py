"""The checkpoint directory format, written atomically.

A checkpoint is Keras 3's own unzipped model directory (what `model.save("hf://...")`
writes and `keras.saving.load_model` reads) plus keras_alexnet's files:

    config.json          Keras model config
    metadata.json        Keras metadata (keras_version, date_saved)
    model.weights.h5     weights of the full model
    notop.weights.h5     weights without the classifier (include_top=False)
    keras_alexnet.json   the NetworkRecord: variant, classes, LRN, input size, preprocessing
    checksums.json       sha256 of every file above
    README.md            model card (YAML metadata + usage + citation)

The directory is assembled in a staging sibling and renamed into place, so a
crash never leaves a half-written checkpoint where a good one was; it replaces
only an empty directory or an earlier checkpoint (`keras_alexnet.outputs`).

Example:

>>> import tempfile, keras_alexnet
>>> from keras_alexnet.weights.checkpoint import save_checkpoint
>>> from keras_alexnet.weights.network import NetworkRecord
>>> model = keras_alexnet.AlexNet(variant="torchvision")
>>> out = save_checkpoint(model, tempfile.mkdtemp() + "/ckpt", NetworkRecord(variant="torchvision"))
>>> sorted(p.name for p in out.iterdir() if p.is_file())  # doctest: +NORMALIZE_WHITESPACE
['README.md', 'checksums.json', 'config.json', 'keras_alexnet.json', 'metadata.json',
 'model.weights.h5', 'notop.weights.h5']
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import keras

from keras_alexnet.errors import DamagedFileError, read_json_file
from keras_alexnet.outputs import apply_umask, check_output, publish, staging_directory
from keras_alexnet.weights.network import NETWORK_FILENAME, NETWORK_FIX, NetworkRecord
from keras_alexnet.weights.resolve import NOTOP_WEIGHTS_FILENAME, TOP_WEIGHTS_FILENAME

CHECKSUMS_FILENAME = "checksums.json"
MODEL_CARD_FILENAME = "README.md"
#: What `save_checkpoint` calls its results in messages.
CHECKPOINT_KIND = "checkpoint directory (with keras_alexnet.json)"


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_checkpoint_dir(path: str | os.PathLike) -> bool:
    """Whether `path` is a checkpoint directory (it has `keras_alexnet.json`): what a new checkpoint may replace."""
    return (Path(path) / NETWORK_FILENAME).is_file()


def save_checkpoint(
    model: keras.Model,
    directory: str | os.PathLike,
    network: NetworkRecord,
    *,
    record=None,
    model_card: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write `model` (built with its top) as a checkpoint directory, atomically.

    `directory` may be absent, empty or an earlier checkpoint; anything else
    is refused (`keras_alexnet.outputs.ExistingOutputError`) unless `overwrite`.

    Args:
        model: an AlexNet with its top, whose architecture matches `network`.
        directory: where the checkpoint goes.
        network: the network record the weights belong to.
        record: optional `WeightsRecord`, used for the model card.
        model_card: the README.md text; generated from `record`/`network` if None.
        overwrite: replace whatever is at `directory`, even if it is not a checkpoint.
    """
    directory = Path(directory)
    check_output(directory, is_checkpoint_dir, CHECKPOINT_KIND, overwrite=overwrite)
    needed = checkpoint_bytes(model)
    with staging_directory(
        directory.parent, directory.name, "save", needed_bytes=needed, what="a checkpoint"
    ) as staging:
        write_checkpoint(model, staging / "checkpoint", network, record=record, model_card=model_card)
        publish(staging / "checkpoint", directory, is_checkpoint_dir, CHECKPOINT_KIND, overwrite=overwrite)
    return directory


def checkpoint_bytes(model: keras.Model) -> int:
    """At least the disk space a checkpoint of `model` takes: float32 weights with and without the top, and 1 MB."""
    return int(model.count_params() * 4 * 1.1) + 2**20


def write_checkpoint(
    model: keras.Model, directory: Path, network: NetworkRecord, *, record=None, model_card: str | None = None
) -> Path:
    """Write the checkpoint files into the new directory `directory` (no staging: see `save_checkpoint`)."""
    from keras_alexnet.models.alexnet import AlexNet, has_top
    from keras_alexnet.weights.loading import copy_weights_by_name

    if not has_top(model):
        raise ValueError(
            "save_checkpoint needs the full model (include_top=True). "
            f"Received: a model without a 'predictions' layer ({model.name!r})"
        )
    model.save(directory, zipped=False)
    apply_umask(directory)
    notop = AlexNet(include_top=False, weights=None, variant=network.variant, lrn=network.lrn, name=model.name)
    copy_weights_by_name(model, notop)
    notop.save_weights(directory / NOTOP_WEIGHTS_FILENAME)
    network.write(directory)
    if model_card is None:
        from keras_alexnet.weights.model_card import build_model_card

        model_card = build_model_card(network, record)
    (directory / MODEL_CARD_FILENAME).write_text(model_card, encoding="utf-8")
    write_checksums(directory)
    return directory


def write_checksums(directory: Path) -> dict[str, str]:
    """Record the sha256 of every file in `directory` (but the card) in checksums.json."""
    files = sorted(
        p.name for p in directory.iterdir() if p.is_file() and p.name not in (CHECKSUMS_FILENAME, MODEL_CARD_FILENAME)
    )
    checksums = {name: sha256_file(directory / name) for name in files}
    (directory / CHECKSUMS_FILENAME).write_text(json.dumps(checksums, indent=2) + "\n")
    return checksums


#: A sha256 as checksums.json records it: 64 lower-case hex digits.
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: Most entries a checksums.json may list (a checkpoint has 6 files).
MAX_CHECKSUM_ENTRIES = 64


def is_plain_file_name(name) -> bool:
    """Whether `name` names a file directly inside a directory: no separator, no '..', not absolute, no NUL."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not any(character in name for character in ("/", "\\", "\0"))
        and not os.path.isabs(name)
    )


def read_checksums(path: str | os.PathLike, *, fix: str | None = None) -> dict[str, str]:
    """The `{file name: sha256}` of a checksums.json, checked: `DamagedFileError` naming `path` for anything else.

    Names must be plain file names (never a path that leads out of the directory), values sha256 hex digests.
    """
    fix = fix or NETWORK_FIX
    checksums = read_json_file(path, fix=fix)
    if len(checksums) > MAX_CHECKSUM_ENTRIES:
        raise DamagedFileError(path, f"it lists {len(checksums)} files, more than a checkpoint has", fix)
    for name, digest in checksums.items():
        if not is_plain_file_name(name):
            raise DamagedFileError(path, f"it names {name!r}, which is not a plain file name of the directory", fix)
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise DamagedFileError(path, f"its entry for {name!r} is not a sha256 hex digest: {digest!r:.80}", fix)
    return checksums


def verify_checksums(directory: str | os.PathLike) -> None:
    """Raise ValueError if a file listed in checksums.json is missing or differs (DamagedFileError if the list is)."""
    directory = Path(directory)
    path = directory / CHECKSUMS_FILENAME
    if not path.is_file():
        return
    for name, expected in read_checksums(path).items():
        file = directory / name
        if not file.is_file():
            raise ValueError(f"Checkpoint {directory} is incomplete: {name} is missing. Received: {directory}")
        actual = sha256_file(file)
        if actual != expected:
            raise ValueError(
                f"Checkpoint file {file} is corrupted: sha256 {actual}, expected {expected}. "
                f"Delete it and fetch it again. Received: {file}"
            )


__all__ = [
    "NETWORK_FILENAME",
    "TOP_WEIGHTS_FILENAME",
    "is_checkpoint_dir",
    "save_checkpoint",
    "sha256_file",
    "verify_checksums",
    "write_checkpoint",
]
