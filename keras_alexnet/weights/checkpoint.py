"""The checkpoint directory format (format 2: a KerasHub preset), written atomically.

A checkpoint is a KerasHub preset (`keras_alexnet.weights.preset_files`) plus keras_alexnet's files:

    config.json          the backbone ("keras_alexnet>AlexNetBackbone": conv1..pool5)
    model.weights.h5     the backbone's weights (what `AlexNet(include_top=False)` holds)
    task.json            the classifier ("keras_alexnet>AlexNetImageClassifier")
    task.weights.h5      its own weights: fc6, fc7, predictions
    preprocessor.json, image_converter.json, metadata.json   KerasHub's (the checkpoint's preprocessing)
    keras_alexnet.json   the NetworkRecord: variant, classes, LRN, input size, preprocessing; format_version 2
    sizes.json           size in bytes of every file above
    checksums.json       sha256 of every file above (sizes.json included): `{name: sha256}`
    README.md            model card (YAML metadata + usage + citation)

So one directory loads three ways: `keras_alexnet.AlexNet(weights=dir)` (the classifier; keras-hub not needed),
`keras_hub.models.ImageClassifier.from_preset(dir)` / `Backbone.from_preset(dir)`, and
`keras.saving.load_model(dir)` (the backbone, as for any KerasHub preset; `keras_alexnet.models.backbone`).
Format 1 (keras_alexnet.json without `format_version`, or 1) was Keras' own unzipped full model: config.json +
model.weights.h5 of the full functional model, and notop.weights.h5; it is still read, never misread as
format 2 (`keras_alexnet.models.config.read_format_version`), and the cache migrates its entries
(`keras_alexnet.weights.cache`).

Loading a checkpoint directory checks it against checksums.json first
(`verify_checkpoint`): every file's size on every load (a few microseconds),
its sha256 the first time the file is used in a process (about 0.3 s for the
244 MB weights; `known_sha256` remembers the digest of a file whose device,
inode, size, mtime and ctime are unchanged). checksums.json keeps the plain
`{name: sha256}` mapping earlier versions read; the sizes live beside it, and a
checkpoint without sizes.json is checked by sha256 alone.

The directory is assembled in a staging sibling and renamed into place, so a
crash never leaves a half-written checkpoint where a good one was; it replaces
only an empty directory or an earlier checkpoint (`keras_alexnet.outputs`).

Example:

>>> import tempfile, keras_alexnet
>>> from keras_alexnet.weights.checkpoint import check_checkpoint, save_checkpoint
>>> from keras_alexnet.weights.network import NetworkRecord
>>> model = keras_alexnet.AlexNet(variant="torchvision")
>>> out = save_checkpoint(model, tempfile.mkdtemp() + "/ckpt", NetworkRecord(variant="torchvision"))
>>> sorted(p.name for p in out.iterdir() if p.is_file())  # doctest: +NORMALIZE_WHITESPACE
['README.md', 'checksums.json', 'config.json', 'image_converter.json', 'keras_alexnet.json', 'metadata.json',
 'model.weights.h5', 'preprocessor.json', 'sizes.json', 'task.json', 'task.weights.h5']
>>> check_checkpoint(out).status
'ok'
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import keras

from keras_alexnet.errors import DamagedFileError, format_bytes, read_json_file
from keras_alexnet.models.build import has_top
from keras_alexnet.outputs import apply_umask, check_output, publish, staging_directory
from keras_alexnet.weights.checksums import known_sha256, sha256_file
from keras_alexnet.weights.model_card import build_model_card
from keras_alexnet.weights.network import NETWORK_FILENAME, NETWORK_FIX, NetworkRecord
from keras_alexnet.weights.preset_files import BACKBONE_WEIGHTS_FILENAME, TASK_WEIGHTS_FILENAME, write_preset_files

#: Format 1's weights of the full model (format 2 keeps the backbone's in the same file name).
TOP_WEIGHTS_FILENAME = "model.weights.h5"
#: Format 1's weights without the classifier (format 2's backbone file holds them).
NOTOP_WEIGHTS_FILENAME = "notop.weights.h5"
CHECKSUMS_FILENAME = "checksums.json"
SIZES_FILENAME = "sizes.json"
MODEL_CARD_FILENAME = "README.md"
#: What `save_checkpoint` calls its results in messages.
CHECKPOINT_KIND = "checkpoint directory (with keras_alexnet.json)"


def is_checkpoint_dir(path: str | os.PathLike) -> bool:
    """Whether `path` is a checkpoint directory (it has `keras_alexnet.json`): what a new checkpoint may replace.

    A preset KerasHub itself wrote (no keras_alexnet.json) is not one: a checkpoint never replaces it.
    """
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
    if not has_top(model):
        raise ValueError(
            "save_checkpoint needs the full model (include_top=True). "
            f"Received: a model without a 'predictions' layer ({model.name!r})"
        )
    directory.mkdir()
    write_preset_files(model, directory, network)
    network.write(directory)
    apply_umask(directory)
    if model_card is None:
        model_card = build_model_card(network, record)
    (directory / MODEL_CARD_FILENAME).write_text(model_card, encoding="utf-8")
    write_checksums(directory)
    return directory


def write_checksums(directory: str | os.PathLike) -> dict[str, str]:
    """Record the size (sizes.json) and sha256 (checksums.json) of every file in `directory` but the card.

    Also what to run after replacing a file of a checkpoint on purpose. Returns the checksums.json mapping.
    """
    directory = Path(directory)
    skipped = (CHECKSUMS_FILENAME, MODEL_CARD_FILENAME, SIZES_FILENAME)
    files = sorted(p.name for p in directory.iterdir() if p.is_file() and p.name not in skipped)
    sizes = {name: (directory / name).stat().st_size for name in files}
    (directory / SIZES_FILENAME).write_text(json.dumps(sizes, indent=2) + "\n")
    checksums = {name: sha256_file(directory / name) for name in sorted([*files, SIZES_FILENAME])}
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
    return _read_file_table(
        path, lambda digest: isinstance(digest, str) and _SHA256.fullmatch(digest), "a sha256 hex digest", fix
    )


def read_sizes(path: str | os.PathLike, *, fix: str | None = None) -> dict[str, int]:
    """The `{file name: size in bytes}` of a sizes.json, checked like `read_checksums` (`DamagedFileError`)."""
    return _read_file_table(
        path, lambda size: isinstance(size, int) and not isinstance(size, bool) and size >= 0, "a size in bytes", fix
    )


def _read_file_table(path, is_valid_value, what: str, fix: str | None) -> dict:
    """A JSON `{plain file name: value}` table of a checkpoint, each value checked with `is_valid_value`."""
    fix = fix or NETWORK_FIX
    table = read_json_file(path, fix=fix)
    if len(table) > MAX_CHECKSUM_ENTRIES:
        raise DamagedFileError(path, f"it lists {len(table)} files, more than a checkpoint has", fix)
    for name, value in table.items():
        if not is_plain_file_name(name):
            raise DamagedFileError(path, f"it names {name!r}, which is not a plain file name of the directory", fix)
        if not is_valid_value(value):
            raise DamagedFileError(path, f"its entry for {name!r} is not {what}: {value!r:.80}", fix)
    return table


#: The files loading reads (either format): one listed in checksums.json must be there (others may be absent, as in
#: a Hub snapshot).
LOADED_FILES = (NETWORK_FILENAME, BACKBONE_WEIGHTS_FILENAME, TASK_WEIGHTS_FILENAME, NOTOP_WEIGHTS_FILENAME)

#: How to repair a user's checkpoint directory that fails its checksums (keras_alexnet never moves a user's files).
CHECKPOINT_FIX = (
    "keras_alexnet changed nothing in the directory. Copy the checkpoint again from where it came from, or write "
    "it again (`keras-alexnet convert ...`, `keras_alexnet.weights.checkpoint.save_checkpoint`); if you replaced "
    "the file on purpose, record the new checksums with `keras_alexnet.weights.checkpoint.write_checksums(directory)`."
)


@dataclasses.dataclass(frozen=True)
class FileProblem:
    """One file of a checkpoint that fails its check: `kind` is "missing", "size", "sha256" or "unreadable"."""

    name: str
    kind: str
    expected_sha256: str | None = None
    actual_sha256: str | None = None
    expected_size: int | None = None
    actual_size: int | None = None
    error: DamagedFileError | None = None  # "unreadable": checksums.json / sizes.json itself is damaged

    def describe(self) -> str:
        """One phrase: "file X: expected sha256 ..., got ..." and the like."""
        if self.kind == "missing":
            return f"{self.name} is missing ({CHECKSUMS_FILENAME} lists it)"
        if self.kind == "unreadable":
            return f"file {self.name}: {self.error.problem if self.error else 'unreadable'}"
        parts = []
        if self.expected_sha256 is not None and self.actual_sha256 is not None:
            parts.append(f"expected sha256 {self.expected_sha256}, got {self.actual_sha256}")
        if self.kind == "size":
            parts.append(f"expected {self.expected_size:,} bytes, got {self.actual_size:,}")
        return f"file {self.name}: " + "; ".join(parts)

    def to_dict(self) -> dict:
        fields = dataclasses.asdict(self)
        fields["error"] = self.error.problem if self.error else None
        return {"file": fields.pop("name"), **fields, "description": self.describe()}


@dataclasses.dataclass(frozen=True)
class CheckpointCheck:
    """The result of `check_checkpoint`: `status` is "ok", "damaged" or "incomplete" (damaged wins)."""

    directory: Path
    files: int = 0
    bytes: int = 0
    problems: tuple[FileProblem, ...] = ()
    listed: bool = True  # False: no checksums.json (nothing to check against)

    @property
    def status(self) -> str:
        if any(p.kind != "missing" for p in self.problems):
            return "damaged"
        return "incomplete" if self.problems else "ok"

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        """One line: "ok (N files, X MB, ...)", or the status and every problem."""
        if self.ok:
            return f"ok ({self.files} files, {format_bytes(self.bytes)}, sha256 verified)"
        return f"{self.status}: " + "; ".join(p.describe() for p in self.problems)

    def to_dict(self) -> dict:
        return {
            "directory": os.fspath(self.directory),
            "status": self.status,
            "files": self.files,
            "bytes": self.bytes,
            "problems": [p.to_dict() for p in self.problems],
        }


def check_checkpoint(
    directory: str | os.PathLike, *, require_all: bool = True, rehash: bool = False
) -> CheckpointCheck:
    """Check the files of a checkpoint directory against its checksums.json (and sizes.json); raise nothing.

    The size of every listed file is compared with sizes.json (when there is one) and its sha256 with
    checksums.json, from `known_sha256` unless `rehash`. A listed file that is absent is "missing"; with
    `require_all=False` only the `LOADED_FILES` must be there. No checksums.json: "missing" when
    `require_all`, else an unchecked (ok) result with `listed=False`.
    """
    directory = Path(directory)
    checksums_path = directory / CHECKSUMS_FILENAME
    if not checksums_path.is_file():
        if require_all:
            return CheckpointCheck(directory, problems=(FileProblem(CHECKSUMS_FILENAME, "missing"),))
        return CheckpointCheck(directory, listed=False)
    try:
        checksums = read_checksums(checksums_path)
        sizes: dict[str, int] = {}
        sizes_path = directory / SIZES_FILENAME
        if SIZES_FILENAME in checksums and sizes_path.is_file():
            problem = _check_file(sizes_path, checksums[SIZES_FILENAME], None, rehash)
            if problem is not None:
                return CheckpointCheck(directory, problems=(problem,))
            sizes = read_sizes(sizes_path)
    except DamagedFileError as error:
        return CheckpointCheck(directory, problems=(FileProblem(error.path.name, "unreadable", error=error),))
    problems, files, total = [], 0, 0
    for name, expected in checksums.items():
        path = directory / name
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            if require_all or name in LOADED_FILES:
                problems.append(FileProblem(name, "missing"))
            continue
        files += 1
        total += stat.st_size
        problem = _check_file(path, expected, sizes.get(name), rehash, stat)
        if problem is not None:
            problems.append(problem)
    return CheckpointCheck(directory, files=files, bytes=total, problems=tuple(problems))


def _check_file(
    path: Path, expected: str, size: int | None, rehash: bool, stat: os.stat_result | None = None
) -> FileProblem | None:
    """The problem of one file, or None: a wrong size is reported without hashing unless `rehash`."""
    stat = stat or path.stat()
    if size is not None and stat.st_size != size:
        actual = sha256_file(path) if rehash else None
        return FileProblem(path.name, "size", expected, actual, size, stat.st_size)
    actual = sha256_file(path) if rehash else known_sha256(path, stat)
    if actual != expected:
        return FileProblem(path.name, "sha256", expected, actual, size, stat.st_size)
    return None


def verify_checkpoint(
    directory: str | os.PathLike, *, require_all: bool = False, fix: str = CHECKPOINT_FIX
) -> CheckpointCheck:
    """`check_checkpoint`, raising `DamagedFileError` (naming the first bad file, and `fix`) unless it is ok.

    What loading a checkpoint directory runs (`keras_alexnet.weights.resolve.read_checkpoint_dir`). A
    damaged checksums.json / sizes.json raises the `DamagedFileError` its reader raised.
    """
    check = check_checkpoint(directory, require_all=require_all)
    if check.ok:
        return check
    problem = check.problems[0]
    if problem.error is not None:
        raise problem.error
    path = check.directory / problem.name
    if problem.kind == "missing":
        raise DamagedFileError(check.directory, f"it is incomplete: {problem.describe()}", fix)
    what = "it is corrupted (truncated or extended)" if problem.kind == "size" else "it is corrupted"
    raise DamagedFileError(path, f"{what}: {problem.describe().removeprefix(f'file {problem.name}: ')}", fix)


def verify_checksums(directory: str | os.PathLike) -> None:
    """Raise if a file listed in checksums.json is missing or differs (`DamagedFileError`, a ValueError)."""
    directory = Path(directory)
    if (directory / CHECKSUMS_FILENAME).is_file():
        verify_checkpoint(directory, require_all=True, fix="Write or fetch the checkpoint again.")


__all__ = [
    "NETWORK_FILENAME",
    "TOP_WEIGHTS_FILENAME",
    "CheckpointCheck",
    "FileProblem",
    "check_checkpoint",
    "is_checkpoint_dir",
    "known_sha256",
    "save_checkpoint",
    "sha256_file",
    "verify_checkpoint",
    "verify_checksums",
    "write_checkpoint",
    "write_checksums",
]
