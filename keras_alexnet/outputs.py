"""Writing results without ever losing what was there: one mechanism for every command that writes.

Every result (a checkpoint directory, an export, an index, a plot, a JSON
file) is written into a *staging* sibling first and moved into place with a
rename only when it is complete, so a kill or a full disk never leaves half a
result under the real name. Three rules hold for every writer:

- **Never replace what keras_alexnet did not make.** `check_output` lets a
  result replace only an absent path, an empty directory, or an earlier result
  of the same kind (a checkpoint directory with `keras_alexnet.json`, an export
  with its marker, ...). Anything else is refused with an `ExistingOutputError`
  naming the path and `--overwrite` / `overwrite=True`.
- **Staging is named after its owner.** `make_staging` names it
  `.{name}.{kind}.{pid}.{token}`; `remove_stale_staging` (called each time a
  place is written to) removes staging whose process is gone, so debris from a
  killed run is cleaned up and never mistaken for a result. A result set aside
  by an interrupted replacement is put back, not deleted.
- **The user's umask decides the modes.** Staging directories are created
  0700 by `mkdtemp`; `make_staging` gives them the mode a plain `mkdir` would,
  so a cache filled in a Docker build or by another user stays readable.

Example:

>>> import pathlib, tempfile
>>> from keras_alexnet.outputs import make_staging, publish
>>> parent = pathlib.Path(tempfile.mkdtemp())
>>> staging = make_staging(parent, "result", "write")
>>> _ = (staging / "data.txt").write_text("42")
>>> publish(staging, parent / "result", lambda p: (p / "data.txt").is_file(), "result directory").name
'result'
>>> sorted(p.name for p in parent.iterdir())
['result']
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from keras_alexnet.errors import check_free_space, disk_full_as_error

#: Staging names: `.{name}.{kind}.{pid}.{token}` (`kind` is a word, `token` 8 hex digits).
_STAGING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>[a-z_]+)\.(?P<pid>\d+)\.(?P<token>[0-9a-f]{8})$")
#: Staging names of earlier versions (`tempfile.mkdtemp`'s 8-character suffix, no owner recorded).
_LEGACY_STAGING = re.compile(r"^\.(?P<name>.+?)\.(?:(?P<kind>convert|verify|old)\.)?[a-z0-9_]{8}(?:\.tmp)?$")
#: Legacy staging (no owner pid) counts as stale once it is this old.
LEGACY_STALE_SECONDS = 3600.0
#: The kind of the staging entry that holds a result while it is being replaced.
SET_ASIDE_KIND = "old"

Recogniser = Callable[[Path], bool]


class ExistingOutputError(ValueError):
    """The output path holds something that is not an earlier result of this kind; nothing was changed."""


def current_umask() -> int:
    """The process's umask (read without changing it where /proc allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str | os.PathLike) -> None:
    """Give `path` the mode a plain `mkdir` (directories) or `open` (files) would have given it."""
    path = Path(path)
    base = 0o777 if path.is_dir() else 0o666
    os.chmod(path, base & ~current_umask())


def make_staging(parent: str | os.PathLike, name: str, kind: str, *, directory: bool = True) -> Path:
    """Create a staging directory (or empty file) `.{name}.{kind}.{pid}.{token}` in `parent`.

    `parent` is created if needed; the entry gets the umask's mode. Stale
    staging for `name` in `parent` is removed first.
    """
    if not re.fullmatch(r"[a-z_]+", kind):
        raise ValueError(f"A staging kind is lower-case letters and '_'. Received: kind={kind!r}")
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(parent, name)
    while True:
        path = parent / f".{name}.{kind}.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            if directory:
                path.mkdir()
            else:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        apply_umask(path)
        return path


def staging_owner(path: str | os.PathLike, *, legacy: bool = True) -> tuple[str, str, int | None] | None:
    """`(name, kind, pid)` if `path`'s name is a staging name (pid None for earlier versions' names), else None."""
    base = Path(path).name
    match = _STAGING.match(base)
    if match:
        return match["name"], match["kind"], int(match["pid"])
    match = _LEGACY_STAGING.match(base) if legacy else None
    if match:
        return match["name"], match["kind"] or "staging", None
    return None


def is_staging(path: str | os.PathLike) -> bool:
    """Whether `path` is a staging entry (never a result, whatever it holds)."""
    return staging_owner(path) is not None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale(path: Path, pid: int | None) -> bool:
    if pid is not None:
        return pid != os.getpid() and not _process_alive(pid)
    try:
        return time.time() - path.lstat().st_mtime > LEGACY_STALE_SECONDS
    except FileNotFoundError:
        return False


def remove_stale_staging(parent: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Remove the staging entries in `parent` (for `name`, or all) whose writing process is gone.

    Earlier versions' staging names (no owner recorded) are recognised only
    for a given `name`, once they are `LEGACY_STALE_SECONDS` old.

    A result that an interrupted replacement had set aside (kind "old") is
    moved back to `name` when nothing has taken its place, never deleted.
    Returns the entries removed or restored.
    """
    parent = Path(parent)
    try:
        entries = list(parent.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    cleaned = []
    for entry in entries:
        owner = staging_owner(entry, legacy=name is not None)
        if owner is None or (name is not None and owner[0] != name) or not _is_stale(entry, owner[2]):
            continue
        entry_name, kind, _ = owner
        if kind == SET_ASIDE_KIND:
            kept = next((p for p in (entry / entry_name, entry / "old") if os.path.lexists(p)), None)
            target = parent / entry_name
            if kept is not None and not target.exists():
                os.replace(kept, target)
        _remove(entry)
        cleaned.append(entry)
    return cleaned


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def check_output(
    path: str | os.PathLike,
    is_earlier_output: Recogniser,
    what: str,
    *,
    overwrite: bool = False,
    directory: bool = True,
) -> None:
    """Raise `ExistingOutputError` unless writing a result of kind `what` at `path` loses nothing.

    Allowed: `path` is absent, an empty directory (`directory=True`), or
    `is_earlier_output(path)` is true; anything else only with `overwrite`.
    """
    path = Path(path)
    if not os.path.lexists(path) or overwrite:
        return
    if path.is_symlink():
        problem = "is a symbolic link"
    elif directory and path.is_dir():
        if not any(path.iterdir()) or is_earlier_output(path):
            return
        problem = f"is a directory that is not an earlier {what}"
    elif not directory and path.is_file():
        if is_earlier_output(path):
            return
        problem = f"is a file that is not an earlier {what}"
    else:
        problem = "is a file" if path.is_file() else "is a directory" if path.is_dir() else "exists"
    raise ExistingOutputError(
        f"{path} {problem}; keras_alexnet replaces only an empty directory or its own earlier output, so nothing "
        f"was written. Choose another path, or pass --overwrite (overwrite=True) to replace it and everything in "
        f"it. Received: {path}"
    )


def _exchange(a: Path, b: Path) -> bool:
    """Swap `a` and `b` in one atomic step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), os.fspath(a), None, os.fspath(b))


def publish(
    staging: str | os.PathLike,
    target: str | os.PathLike,
    is_earlier_output: Recogniser,
    what: str,
    *,
    overwrite: bool = False,
) -> Path:
    """Move the finished `staging` result to `target`, replacing `target` only as `check_output` allows.

    The replacement is one atomic exchange where the OS has it; elsewhere the
    old result is first set aside as staging of kind "old" (which
    `remove_stale_staging` puts back if the process dies in between).
    """
    staging, target = Path(staging), Path(target)
    check_output(target, is_earlier_output, what, overwrite=overwrite, directory=staging.is_dir())
    if not os.path.lexists(target):
        os.replace(staging, target)
        return target
    if target.is_dir() == staging.is_dir() and not target.is_symlink() and _exchange(staging, target):
        _remove(staging)  # now holds the old result
        return target
    set_aside = make_staging(target.parent, target.name, SET_ASIDE_KIND)
    os.replace(target, set_aside / target.name)
    os.replace(staging, target)
    _remove(set_aside)
    return target


def write_file_atomic(path: str | os.PathLike, write: Callable, *, fsync: bool = True) -> Path:
    """Write `path` with `write(binary_file)` into a staging sibling, fsync, then rename (umask's mode).

    A plain file writer: `path` is replaced whatever it holds (use
    `check_output` first where it may hold something the user made).
    """
    path = Path(path)
    staging = make_staging(path.parent, path.name, "write", directory=False)  # creates the parent
    try:
        with disk_full_as_error(path), open(staging, "wb") as file:
            write(file)
            file.flush()
            if fsync:
                os.fsync(file.fileno())
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """`write_file_atomic` for UTF-8 text."""
    return write_file_atomic(path, lambda file: file.write(text.encode("utf-8")))


@contextlib.contextmanager
def staging_directory(
    parent: str | os.PathLike, name: str, kind: str, *, needed_bytes: int | None = None, what: str = ""
) -> Iterator[Path]:
    """A scratch directory named as staging for `name` (a killed run's scratch is cleaned up later), removed on exit.

    With `needed_bytes`, a disk with less free space is refused before
    anything is written; a disk that fills up while the body writes raises
    `keras_alexnet.errors.NotEnoughSpaceError` naming `parent / name`.
    """
    target = Path(parent) / name
    if needed_bytes is not None:
        check_free_space(target, needed_bytes, what or name)
    path = make_staging(parent, name, kind)
    try:
        with disk_full_as_error(target, needed_bytes=needed_bytes, what=what):
            yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


__all__ = [
    "ExistingOutputError",
    "apply_umask",
    "check_output",
    "current_umask",
    "is_staging",
    "make_staging",
    "publish",
    "remove_stale_staging",
    "staging_owner",
    "staging_directory",
    "write_file_atomic",
    "write_text_atomic",
]
