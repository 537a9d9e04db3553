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

The directory is assembled in a temporary sibling and renamed into place, so a
crash never leaves a half-written checkpoint where a good one was.

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
import shutil
import tempfile
from pathlib import Path

import keras

from keras_alexnet.weights.network import NETWORK_FILENAME, NetworkRecord
from keras_alexnet.weights.resolve import NOTOP_WEIGHTS_FILENAME, TOP_WEIGHTS_FILENAME

CHECKSUMS_FILENAME = "checksums.json"
MODEL_CARD_FILENAME = "README.md"


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_checkpoint(
    model: keras.Model,
    directory: str | os.PathLike,
    network: NetworkRecord,
    *,
    record=None,
    model_card: str | None = None,
    overwrite: bool = True,
) -> Path:
    """Write `model` (built with its top) as a checkpoint directory, atomically.

    Args:
        model: an AlexNet with its top, whose architecture matches `network`.
        directory: where the checkpoint goes.
        network: the network record the weights belong to.
        record: optional `WeightsRecord`, used for the model card.
        model_card: the README.md text; generated from `record`/`network` if None.
        overwrite: replace an existing checkpoint at `directory`.
    """
    from keras_alexnet.models.alexnet import AlexNet, has_top
    from keras_alexnet.weights.loading import copy_weights_by_name

    directory = Path(directory)
    if directory.exists() and not overwrite:
        raise ValueError(f"{directory} exists; pass overwrite=True to replace it. Received: {directory}")
    if not has_top(model):
        raise ValueError(
            "save_checkpoint needs the full model (include_top=True). "
            f"Received: a model without a 'predictions' layer ({model.name!r})"
        )
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        model.save(staging, zipped=False)
        notop = AlexNet(include_top=False, weights=None, variant=network.variant, lrn=network.lrn, name=model.name)
        copy_weights_by_name(model, notop)
        notop.save_weights(staging / NOTOP_WEIGHTS_FILENAME)
        network.write(staging)
        if model_card is None:
            from keras_alexnet.weights.model_card import build_model_card

            model_card = build_model_card(network, record)
        (staging / MODEL_CARD_FILENAME).write_text(model_card, encoding="utf-8")
        write_checksums(staging)
        _replace_directory(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def write_checksums(directory: Path) -> dict[str, str]:
    """Record the sha256 of every file in `directory` (but the card) in checksums.json."""
    files = sorted(
        p.name for p in directory.iterdir() if p.is_file() and p.name not in (CHECKSUMS_FILENAME, MODEL_CARD_FILENAME)
    )
    checksums = {name: sha256_file(directory / name) for name in files}
    (directory / CHECKSUMS_FILENAME).write_text(json.dumps(checksums, indent=2) + "\n")
    return checksums


def verify_checksums(directory: str | os.PathLike) -> None:
    """Raise ValueError if a file listed in checksums.json is missing or differs."""
    directory = Path(directory)
    path = directory / CHECKSUMS_FILENAME
    if not path.is_file():
        return
    for name, expected in json.loads(path.read_text()).items():
        file = directory / name
        if not file.is_file():
            raise ValueError(f"Checkpoint {directory} is incomplete: {name} is missing. Received: {directory}")
        actual = sha256_file(file)
        if actual != expected:
            raise ValueError(
                f"Checkpoint file {file} is corrupted: sha256 {actual}, expected {expected}. "
                f"Delete it and fetch it again. Received: {file}"
            )


def _replace_directory(staging: Path, directory: Path) -> None:
    """Move `staging` to `directory`, replacing it with one rename where possible."""
    if not directory.exists():
        os.replace(staging, directory)
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
    os.replace(directory, trash / "old")
    os.replace(staging, directory)
    shutil.rmtree(trash, ignore_errors=True)


__all__ = ["NETWORK_FILENAME", "TOP_WEIGHTS_FILENAME", "save_checkpoint", "sha256_file", "verify_checksums"]
