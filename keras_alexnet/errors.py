"""The documented exception types of keras_alexnet, and the disk-space checks every writer uses.

Bad arguments raise a plain `ValueError` ending in `Received: ...`. Failures
that a caller may want to tell apart have their own class here:

- `NotEnoughSpaceError` (an `OSError` with `errno.ENOSPC`): a write needs more
  space than the disk has; `.path` is where it was writing, `.needed` the
  bytes it needed (None where unknown).
- `DamagedFileError` (a `ValueError`): a weights, `.keras` or JSON file that
  exists but cannot be read (truncated, random bytes, wrong shape); `.path`
  names it, the message says how to get an intact copy.
- `OperationFailedError` (a `RuntimeError`): an operation keras_alexnet ran
  failed for a reason it detected and explains, not because of a bad argument:
  `TrainingDivergedError` (the loss became NaN/inf), `ExportMismatchError`
  (an exported artifact disagrees with the Keras model). The CLI prints these
  in one line; any other `RuntimeError` (from TensorFlow, a bug) keeps its
  traceback.

`check_free_space(directory, needed_bytes, what)` refuses a write before it
starts; `disk_full_as_error(path)` turns an ENOSPC raised in the middle of a
write into a `NotEnoughSpaceError` naming `path`. `read_json_file(path, ...)`
reads a small JSON file keras_alexnet wrote (or a Hub repo sent), refusing one
that is too large, not JSON or not an object with `DamagedFileError`.

Example:

>>> import errno, tempfile
>>> from keras_alexnet.errors import NotEnoughSpaceError, check_free_space, disk_full_as_error
>>> directory = tempfile.mkdtemp()
>>> check_free_space(directory, 1, "a test file")
>>> try:
...     with disk_full_as_error(directory, needed_bytes=2_000_000):
...         raise OSError(errno.ENOSPC, "No space left on device")
... except NotEnoughSpaceError as error:
...     print(error.needed, "No space left" in str(error))
2000000 True
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "DamagedFileError",
    "MissingDependencyError",
    "ExportMismatchError",
    "NotEnoughSpaceError",
    "OperationFailedError",
    "TrainingDivergedError",
    "check_free_space",
    "disk_full_as_error",
    "format_bytes",
    "require",
    "read_json_file",
]

#: The largest metadata JSON file (keras_alexnet.json, checksums.json, ...) that is read: they hold a few hundred bytes.
MAX_JSON_BYTES = 1 << 20


def format_bytes(count: int | float) -> str:
    """`count` bytes in the largest unit that keeps it >= 1 (B, KB, MB, GB, TB; powers of 1000)."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


class NotEnoughSpaceError(OSError):
    """A write needs more disk space than is free: `.path` (where), `.needed` (bytes, or None), `.free` (bytes)."""

    def __init__(self, path: str | os.PathLike, needed: int | None = None, free: int | None = None, what: str = ""):
        self.path = Path(path)
        self.needed = needed
        self.free = free
        self.what = what
        subject = f"Writing {what} to {self.path}" if what else f"Writing to {self.path}"
        parts = [f"{subject} failed: No space left on device."]
        if needed is not None:
            parts.append(f"It needs {format_bytes(needed)}")
            parts[-1] += f" and {format_bytes(free)} is free." if free is not None else "."
        elif free is not None:
            parts.append(f"{format_bytes(free)} is free.")
        parts.append("Free some space there or choose another directory.")
        message = " ".join(parts) + f" Received: path={os.fspath(self.path)!r}"
        super().__init__(errno.ENOSPC, message)
        # OSError(errno, strerror) leaves .filename None; set it so handlers that name the file find it.
        self.filename = os.fspath(self.path)

    def __str__(self) -> str:
        return self.strerror or ""

    def __reduce__(self):
        return (type(self), (self.path, self.needed, self.free, self.what))


class DamagedFileError(ValueError):
    """A file exists but is not readable as what it should be (truncated, corrupt, wrong shape)."""

    def __init__(self, path: str | os.PathLike, problem: str, fix: str | None = None):
        self.path = Path(path)
        self.problem = problem
        self.fix = (
            fix or "Replace it with an intact copy (download or convert it again, e.g. `keras-alexnet weights fetch`)."
        )
        super().__init__(f"{self.path} is damaged: {problem}. {self.fix} Received: path={os.fspath(self.path)!r}")

    def __reduce__(self):
        return (type(self), (self.path, self.problem, self.fix))


class OperationFailedError(RuntimeError):
    """An operation failed for a reason keras_alexnet detected; the message says what happened and what to do."""


class TrainingDivergedError(OperationFailedError):
    """Training stopped because the loss became NaN or infinite; the message names the last good checkpoint."""


class ExportMismatchError(OperationFailedError):
    """An exported model's outputs differ from the Keras model's beyond the tolerance; nothing was written."""


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def check_free_space(directory: str | os.PathLike, needed_bytes: int, what: str) -> None:
    """Raise `NotEnoughSpaceError` unless the disk holding `directory` has `needed_bytes` free.

    `directory` need not exist yet: the nearest existing ancestor is measured.
    `what` names what is to be written ("a checkpoint", "the export") in the message.
    """
    if needed_bytes < 0:
        raise ValueError(f"needed_bytes must be >= 0. Received: needed_bytes={needed_bytes!r}")
    free = shutil.disk_usage(_existing_ancestor(Path(directory))).free
    if free < needed_bytes:
        raise NotEnoughSpaceError(directory, needed=needed_bytes, free=free, what=what)


@contextlib.contextmanager
def disk_full_as_error(path: str | os.PathLike, needed_bytes: int | None = None, what: str = "") -> Iterator[None]:
    """Turn an `OSError` with `errno.ENOSPC` (or EDQUOT) raised inside into `NotEnoughSpaceError` naming `path`.

    Other errors pass through unchanged; a `NotEnoughSpaceError` raised inside is kept as it is.
    """
    try:
        yield
    except NotEnoughSpaceError:
        raise
    except OSError as error:
        if error.errno not in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise
        free = None
        with contextlib.suppress(OSError):
            free = shutil.disk_usage(_existing_ancestor(Path(path))).free
        raise NotEnoughSpaceError(path, needed=needed_bytes, free=free, what=what) from error


def read_json_file(
    path: str | os.PathLike, *, fix: str | None = None, max_bytes: int = MAX_JSON_BYTES, expect: type = dict
):
    """The JSON value in `path`, which must be an `expect` (a dict by default) and at most `max_bytes` long.

    Raises `DamagedFileError` naming `path` (and `fix`, how to get a good copy) for a file that is too large,
    not UTF-8, not JSON, or of the wrong shape; a missing file is a `FileNotFoundError` as for `open`.
    """
    path = Path(path)
    with open(path, "rb") as file:
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DamagedFileError(path, f"it is larger than {format_bytes(max_bytes)}, far more than it should hold", fix)
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        problem = "it is empty" if not data.strip() else f"it is not valid JSON ({error})"
        raise DamagedFileError(path, problem, fix) from error
    if not isinstance(value, expect):
        kinds = {dict: "a JSON object", list: "a JSON list"}
        raise DamagedFileError(
            path, f"it holds {type(value).__name__} where {kinds.get(expect, expect.__name__)} was expected", fix
        )
    return value


class MissingDependencyError(ImportError):
    """An optional package is needed for what was asked: `.module`, and `.extra` (the pip extra that brings it)."""

    def __init__(self, module: str, extra: str, purpose: str):
        self.module, self.extra, self.purpose = module, extra, purpose
        super().__init__(
            f"{purpose} needs the Python package {module!r}, which is not installed. Install it with "
            f'`pip install "keras-alexnet[{extra}]"`. Received: import {module}'
        )

    def __reduce__(self):
        return (type(self), (self.module, self.extra, self.purpose))


def require(module: str, extra: str, purpose: str):
    """Import and return `module`, or raise `MissingDependencyError` naming the pip extra that brings it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is not None and error.name.split(".")[0] != module.split(".")[0]:
            raise  # the module is there but one of its own imports is broken: keep that traceback
        raise MissingDependencyError(module, extra, purpose) from error
