"""Checkpoints that are verified before they are trusted: a sha256 record beside each, the newest intact one wins.

Every checkpoint a training run writes (the `fit` loop's `backup/ckpt-N.weights.h5`, the custom loop's
TensorFlow `checkpoints/ckpt-N.index` + `.data-*`) gets a *record* `ckpt-N.json`, written atomically
after its files: each file's size and sha256, and the training position (epoch, batch, learning-rate
rule). At least two checkpoints are kept. `--resume` checks the newest first; a truncated or corrupted
one (size or sha256 differ), or one whose record is missing, is passed over for the newest intact one,
with one line saying which file was damaged and which one is used (`Choice.message`). When none is
intact, `DamagedCheckpointError` (a `keras_alexnet.errors.DamagedFileError`, so a `ValueError`) names the
files and the fix.

Checkpoints written before records existed are checked by reading them completely: every HDF5 dataset
of a `.weights.h5` file (h5py), every tensor of a TensorFlow checkpoint (TensorFlow verifies each
tensor's CRC32C).

Example:

>>> import pathlib, tempfile
>>> from keras_alexnet.training.checkpoints import check_record, write_record
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "ckpt-1.bin").write_bytes(b"weights")
>>> _ = write_record(d / "ckpt-1.json", [d / "ckpt-1.bin"], {"epoch": 1})
>>> check_record(d / "ckpt-1.json")
({'epoch': 1}, None)
>>> _ = (d / "ckpt-1.bin").write_bytes(b"weig")
>>> check_record(d / "ckpt-1.json")[1]
'ckpt-1.bin is truncated (4 of 7 bytes)'
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from keras_alexnet.errors import DamagedFileError
from keras_alexnet.outputs import is_staging, remove_stale_staging, staging_directory, write_file_atomic
from keras_alexnet.weights.checksums import sha256_file

RECORD_FORMAT = "keras_alexnet.checkpoint_record"
#: Checkpoints kept by the `fit` loop's backup (the newest and the one before it).
KEEP = 2
#: The `fit` backup's file names: `ckpt-N.weights.h5` and its record `ckpt-N.json`.
_BACKUP_FILE = re.compile(r"^ckpt-(?P<number>\d+)\.(?:weights\.h5|json)$")
#: Keras' `BackupAndRestore` names, written by earlier versions (no record).
LEGACY_WEIGHTS, LEGACY_METADATA = "latest.weights.h5", "training_metadata.json"

Check = Callable[[], tuple[dict | None, str | None]]


class DamagedCheckpointError(DamagedFileError):
    """No checkpoint in `.path` (a run's `backup/` or `checkpoints/`) is intact; the message names each and the fix."""


def file_entry(path: str | os.PathLike) -> dict:
    """A record's entry for one file: its size and sha256."""
    return {"bytes": os.stat(path).st_size, "sha256": sha256_file(path)}


def write_record(
    record: str | os.PathLike, files: dict[str, dict] | Iterable[str | os.PathLike], position: dict
) -> Path:
    """Write `record` atomically: `position` and each file's size and sha256 (files of `record`'s directory).

    `files` is a list of paths, or `{name: file_entry(path)}` for files hashed before they got their name.
    """
    record = Path(record)
    if not isinstance(files, dict):
        files = {Path(f).name: file_entry(f) for f in files}
    text = json.dumps({"format": RECORD_FORMAT, "version": 1, "files": files, "position": position}, indent=2)
    return write_file_atomic(record, lambda f: f.write(text.encode()))


def check_record(record: str | os.PathLike) -> tuple[dict | None, str | None]:
    """`(position, None)` if every file `record` lists has its recorded size and sha256, else `(None, problem)`."""
    record = Path(record)
    try:
        data = json.loads(record.read_text())
        files, position = data["files"], data["position"]
        if data.get("format") != RECORD_FORMAT or not isinstance(files, dict) or not isinstance(position, dict):
            raise ValueError("not a checkpoint record")
    except FileNotFoundError:
        return None, f"its record {record.name} is missing (the save was interrupted)"
    except (OSError, ValueError, KeyError, TypeError) as error:  # JSONDecodeError is a ValueError
        return None, f"its record {record.name} is unreadable ({error})"
    for name, expected in files.items():
        path = record.parent / name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None, f"{name} is missing"
        if size != expected["bytes"]:
            if size < expected["bytes"]:
                return None, f"{name} is truncated ({size} of {expected['bytes']} bytes)"
            return None, f"{name} has {size} bytes, {expected['bytes']} expected"
        if sha256_file(path) != expected["sha256"]:
            return None, f"{name} fails its sha256 check (corrupted)"
    return position, None


@dataclasses.dataclass
class Candidate:
    """One checkpoint: `path` (what is shown and loaded) and `check()` -> (position, problem)."""

    path: Path
    check: Check
    number: int = 0


@dataclasses.dataclass
class Choice:
    """The checkpoint to resume from, its position, and the newer ones passed over as damaged."""

    path: Path
    position: dict
    number: int = 0
    damaged: list[tuple[Path, str]] = dataclasses.field(default_factory=list)

    @property
    def message(self) -> str | None:
        """One line naming the damaged checkpoints and the one used (None when the newest was intact)."""
        if not self.damaged:
            return None
        return f"C{_describe(self.damaged)[1:]}; resuming from the newest intact checkpoint, {self.path}, instead."


def _describe(damaged: list[tuple[Path, str]]) -> str:
    def phrase(path: Path, problem: str) -> str:
        if problem.startswith(path.name + " "):  # the problem is the checkpoint file's own
            return f"checkpoint {path}{problem[len(path.name) :]}"
        return f"checkpoint {path} is damaged: {problem}"

    return "; ".join(phrase(path, problem) for path, problem in damaged)


def choose(candidates: list[Candidate], directory: Path) -> Choice | None:
    """The newest intact of `candidates` (newest first); None if there are none.

    Raises `DamagedCheckpointError` when there are candidates but none is intact.
    """
    damaged = []
    for candidate in candidates:
        position, problem = candidate.check()
        if problem is None:
            return Choice(candidate.path, position or {}, candidate.number, damaged)
        damaged.append((candidate.path, problem))
    if not damaged:
        return None
    raise DamagedCheckpointError(
        directory,
        f"none of its checkpoints is intact, so there is nothing to resume from ({_describe(damaged)})",
        f"Delete {directory} and train without --resume to start the run over, or train into another --run-dir.",
    )


# -- the fit loop's backup ---------------------------------------------------------------------------------------
def _check_legacy_weights(weights: Path, metadata: Path) -> Check:
    def check():
        import h5py

        try:
            position = json.loads(metadata.read_text())
            int(position["epoch"])
        except FileNotFoundError:
            return None, f"{metadata.name} is missing"
        except (OSError, ValueError, KeyError, TypeError) as error:
            return None, f"{metadata.name} is unreadable ({error})"
        try:
            with h5py.File(weights, "r") as file:
                file.visititems(lambda _, item: item[()] if isinstance(item, h5py.Dataset) else None)
        except (OSError, ValueError, KeyError, RuntimeError) as error:  # what h5py raises for damaged files
            return None, f"{weights.name} is not a readable HDF5 file ({error})"
        return position, None

    return check


class WeightsBackup:
    """The `fit` loop's checkpoints in `directory`: `ckpt-N.weights.h5` with records, the newest `keep` kept."""

    def __init__(self, directory: str | os.PathLike, keep: int = KEEP):
        if keep < 2:
            raise ValueError(f"Keep at least 2 checkpoints, so that a damaged one has a fallback. Received: {keep}")
        self.directory = Path(directory)
        self.keep = keep

    def weights_path(self, number: int) -> Path:
        return self.directory / f"ckpt-{number}.weights.h5"

    def record_path(self, number: int) -> Path:
        return self.directory / f"ckpt-{number}.json"

    def numbers(self) -> list[int]:
        """The checkpoint numbers present (complete or not), newest first; staging never counts."""
        try:
            names = [p.name for p in self.directory.iterdir() if not is_staging(p)]
        except FileNotFoundError:
            return []
        return sorted({int(m["number"]) for m in map(_BACKUP_FILE.match, names) if m}, reverse=True)

    def candidates(self) -> list[Candidate]:
        found = [
            Candidate(self.weights_path(n), lambda n=n: check_record(self.record_path(n)), n) for n in self.numbers()
        ]
        legacy = self.directory / LEGACY_WEIGHTS
        if legacy.exists():
            found.append(Candidate(legacy, _check_legacy_weights(legacy, self.directory / LEGACY_METADATA), 0))
        return found

    def select(self) -> Choice | None:
        """The checkpoint to resume from (see `choose`); stale staging of killed saves is removed first."""
        self.clean_staging()
        return choose(self.candidates(), self.directory)

    def clean_staging(self) -> None:
        remove_stale_staging(self.directory)
        remove_stale_staging(self.directory, LEGACY_WEIGHTS)  # earlier versions' `.latest.weights.h5.XXXXXXXX`

    def save(self, model, number: int, position: dict) -> Path:
        """Save `model`'s weights (with the optimizer state) as checkpoint `number`, then drop all but the newest.

        The weights go through a staging file; the record (sizes, sha256, `position`) is written before
        the weights are renamed into place, so a kill at any point leaves the earlier checkpoints intact.
        Checkpoints numbered above `number` are damaged leftovers passed over on resume; they are removed too.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        self.clean_staging()
        weights, record = self.weights_path(number), self.record_path(number)

        # The record (naming the final file, hashed while staged) is in place before the weights are.
        save_model_atomic(
            model,
            weights,
            before_rename=lambda staged: write_record(record, {weights.name: file_entry(staged)}, position),
        )
        kept = set(range(number - self.keep + 1, number + 1))
        for old in self.numbers():
            if old not in kept:
                self.weights_path(old).unlink(missing_ok=True)
                self.record_path(old).unlink(missing_ok=True)
        for name in (LEGACY_WEIGHTS, LEGACY_METADATA):
            (self.directory / name).unlink(missing_ok=True)
        return weights


# -- the custom loop's TensorFlow checkpoints ---------------------------------------------------------------------
def tf_checkpoint_files(prefix: str | os.PathLike) -> list[Path]:
    """The files of the TensorFlow checkpoint `prefix` (`.index` and `.data-*`)."""
    prefix = Path(prefix)
    return [prefix.with_name(prefix.name + ".index"), *sorted(prefix.parent.glob(prefix.name + ".data-*"))]


def tf_record_path(prefix: str | os.PathLike) -> Path:
    prefix = Path(prefix)
    return prefix.with_name(prefix.name + ".json")


def _check_tf_checkpoint(prefix: Path) -> Check:
    def check():
        if tf_record_path(prefix).exists():
            return check_record(tf_record_path(prefix))
        # No record (an earlier version's checkpoint, or a kill between the save and its record):
        # read every tensor; TensorFlow checks each one's CRC32C.
        import tensorflow as tf

        try:
            reader = tf.train.load_checkpoint(str(prefix))
            for key in reader.get_variable_to_dtype_map():
                reader.get_tensor(key)
        except (tf.errors.OpError, ValueError) as error:
            return None, f"it is not readable ({str(error).splitlines()[0][:300]})"
        return {}, None

    return check


def tf_candidates(directory: str | os.PathLike) -> list[Candidate]:
    """The TensorFlow checkpoints in `directory`, newest first: the `checkpoint` index's list, else the files."""
    import tensorflow as tf

    directory = Path(directory)
    state = tf.train.get_checkpoint_state(str(directory)) if directory.is_dir() else None
    prefixes = [Path(p) for p in state.all_model_checkpoint_paths] if state is not None else []
    prefixes = [p if p.is_absolute() else directory / p for p in prefixes][::-1]
    if not prefixes:  # no index, or an unreadable one: the checkpoint files themselves
        numbered = [(int(m[1]), p) for p in directory.glob("ckpt-*.index") if (m := re.match(r"ckpt-(\d+)$", p.stem))]
        prefixes = [p.with_suffix("") for _, p in sorted(numbered, reverse=True)]
    return [Candidate(p, _check_tf_checkpoint(p), i) for i, p in enumerate(prefixes)]


def select_tf_checkpoint(directory: str | os.PathLike) -> Choice | None:
    """The custom loop's checkpoint to resume from (see `choose`); a killed save's shards are removed first."""
    remove_tf_temporaries(directory)
    return choose(tf_candidates(directory), Path(directory))


def write_tf_record(prefix: str | os.PathLike, position: dict) -> Path:
    """The record of the TensorFlow checkpoint `prefix` (its files' sizes and sha256)."""
    return write_record(tf_record_path(prefix), tf_checkpoint_files(prefix), position)


def remove_tf_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Remove `ckpt-N_temp/`, what a TensorFlow save killed before it merged its shards leaves behind.

    Call it only where no save is in progress (before training starts: a multi-worker run's first save
    needs every worker past its restore).
    """
    removed = []
    for temp in Path(directory).glob("ckpt-*_temp"):
        if temp.is_dir() and re.fullmatch(r"ckpt-\d+_temp", temp.name):
            shutil.rmtree(temp, ignore_errors=True)
            removed.append(temp)
    return removed


def remove_orphan_tf_records(directory: str | os.PathLike) -> None:
    """Remove the records of checkpoints that TensorFlow's manager has deleted (their `.index` is gone)."""
    for record in Path(directory).glob("ckpt-*.json"):
        if not record.with_suffix(".index").exists():
            record.unlink(missing_ok=True)


__all__ = [
    "Candidate",
    "Choice",
    "DamagedCheckpointError",
    "WeightsBackup",
    "check_record",
    "file_entry",
    "choose",
    "select_tf_checkpoint",
    "sha256_file",
    "write_record",
    "remove_tf_temporaries",
    "write_tf_record",
]


def save_model_atomic(model, path: str | os.PathLike, *, before_rename: Callable[[Path], object] | None = None) -> Path:
    """`model.save(path)` (a .keras or .weights.h5 file) through a staging file and a rename.

    The staging directory is `keras_alexnet.outputs` staging named after this process
    (`.{name}.save.{pid}.{token}`): one left by a killed save is removed the next time `path` is
    written. A disk without room for the variables is refused before writing, one that fills up
    raises `keras_alexnet.errors.NotEnoughSpaceError` naming `path`. `before_rename(staged_file)`
    runs when the file is complete, before it takes `path`'s name.
    """
    path = Path(path)
    suffix = ".weights.h5" if path.name.endswith(".weights.h5") else path.suffix
    needed = _saved_bytes(model)
    with staging_directory(path.parent, path.name, "save", needed_bytes=needed, what="the model") as staging:
        staged = staging / f"staging{suffix}"
        if suffix == ".weights.h5":
            model.save_weights(staged)
        else:
            model.save(staged)
        if before_rename is not None:
            before_rename(staged)
        os.replace(staged, path)
    return path


def _saved_bytes(model) -> int:
    """About the size of the saved file: the model's variables and, once built, the optimizer's."""
    optimizer = getattr(model, "optimizer", None)
    variables = list(model.weights) + (list(optimizer.variables) if optimizer is not None and optimizer.built else [])
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables)
