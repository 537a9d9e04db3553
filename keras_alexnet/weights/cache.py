"""Where converted checkpoints are cached on this machine, and the check every cached entry passes before use.

`$KERAS_ALEXNET_CACHE` if set, else `$KERAS_HOME/models/keras_alexnet`
(`KERAS_HOME` defaults to `~/.keras`, as in Keras).

A cache entry is used only after its files match its checksums.json
(`keras_alexnet.weights.checkpoint.check_checkpoint`: sizes on every use, sha256
the first time in a process). An entry that fails is never deleted: it is
renamed `NAME.damaged-<UTC timestamp>` beside it (`set_aside`), the message says
so, and the normal fetch path fetches or converts it again.

An intact entry of an older checkpoint format (format 1, before checkpoints were KerasHub presets) is read as
that format until the fetch path holds the entry's lock; then it is migrated once (`migrate_entry`: its
weights are rewritten as format 2 in a staging sibling and renamed over it, the model card kept).

Example:

>>> from keras_alexnet.weights.cache import cache_dir, checkpoint_cache_dir
>>> checkpoint_cache_dir("alexnet_bvlc").relative_to(cache_dir()).as_posix()
'alexnet_bvlc'
>>> from keras_alexnet.weights.cache import is_set_aside
>>> is_set_aside(checkpoint_cache_dir("alexnet_bvlc.damaged-20260102T030405Z"))
True
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from keras_alexnet.models.config import read_format_version
from keras_alexnet.weights.checkpoint import MODEL_CARD_FILENAME, CheckpointCheck, check_checkpoint, save_checkpoint
from keras_alexnet.weights.hub import is_offline
from keras_alexnet.weights.network import FORMAT_VERSION, NETWORK_FILENAME
from keras_alexnet.weights.resolved import ResolvedWeights, WeightsUnavailableError, read_checkpoint_dir

if TYPE_CHECKING:
    from keras_alexnet.weights.registry import WeightsRecord

CACHE_ENV = "KERAS_ALEXNET_CACHE"
#: The folder of downloaded originals inside the cache (not a checkpoint).
DOWNLOADS = "downloads"
#: The name a damaged entry is set aside under: `NAME.damaged-YYYYMMDDTHHMMSSZ[-N]`.
_SET_ASIDE = re.compile(r"^(?P<name>.+)\.damaged-\d{8}T\d{6}Z(?:-\d+)?$")


def cache_dir() -> Path:
    """The root of the converted-checkpoint cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()
    return keras_home / "models" / "keras_alexnet"


def checkpoint_cache_dir(name: str) -> Path:
    """The cache directory of the registered checkpoint `name`."""
    return cache_dir() / name


def is_set_aside(path: str | os.PathLike) -> bool:
    """Whether `path` is a damaged entry that `set_aside` moved out of the way."""
    return _SET_ASIDE.match(Path(path).name) is not None


def cache_entries() -> list[Path]:
    """The checkpoint directories in the cache (no staging, downloads or set-aside entries), by name."""
    try:
        children = sorted(cache_dir().iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [
        path
        for path in children
        if path.is_dir() and not path.name.startswith(".") and path.name != DOWNLOADS and not is_set_aside(path)
    ]


def set_aside_entries() -> list[Path]:
    """The damaged entries `set_aside` kept in the cache (the user may delete them)."""
    try:
        return sorted(path for path in cache_dir().iterdir() if is_set_aside(path))
    except (FileNotFoundError, NotADirectoryError):
        return []


def set_aside(directory: str | os.PathLike) -> Path:
    """Rename the cache entry `directory` to `NAME.damaged-<UTC timestamp>` beside it; return the new path."""
    directory = Path(directory)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    number = 1
    while True:
        target = directory.with_name(f"{directory.name}.damaged-{stamp}" + (f"-{number}" if number > 1 else ""))
        if not os.path.lexists(target):
            os.rename(directory, target)
            return target
        number += 1


def check_cache_entry(directory: str | os.PathLike, *, rehash: bool = False) -> CheckpointCheck:
    """`check_checkpoint` of a cache entry: every file checksums.json lists must be there, checksums.json too."""
    return check_checkpoint(directory, require_all=True, rehash=rehash)


def verified_checkpoint(record: WeightsRecord, *, repair: bool = False) -> ResolvedWeights | None:
    """The cache entry of `record` if it is there and intact, else None.

    With `repair` (the caller holds the entry's lock), a damaged or incomplete entry is set aside
    (`set_aside`) and a line on stderr says which file failed and where the entry went; None then lets
    the caller fetch or convert it again. When nothing can (offline mode, no Hub copy), the one-line
    `WeightsUnavailableError` says so and how to fix it.
    """
    directory = checkpoint_cache_dir(record.name)
    if not (directory / NETWORK_FILENAME).is_file():
        return None
    check = check_cache_entry(directory)
    if check.ok:
        if read_format_version(directory) < FORMAT_VERSION:
            return migrate_entry(directory) if repair else None  # None: the caller takes the lock, then migrates
        return read_checkpoint_dir(directory, verify=False)
    if not repair:
        return None
    what = f"the cached checkpoint {directory} is {check.describe()}"
    try:
        kept = set_aside(directory)
    except FileNotFoundError:  # gone meanwhile (removed by hand): nothing to set aside
        return None
    moved = f"it was moved to {kept} (delete that folder once you no longer need it)"
    if is_offline() and not record.hub.published:
        raise WeightsUnavailableError(
            f"{what[0].upper()}{what[1:]}; {moved}. It cannot be fetched again here: offline mode is on "
            f"(HF_HUB_OFFLINE). Fix: run `keras-alexnet weights fetch {record.name}` with network access, or "
            f"`keras-alexnet weights fetch {record.name} --from FILE` with its original file."
        )
    print(f"keras_alexnet: {what}; {moved}; fetching {record.name!r} again", file=sys.stderr, flush=True)
    return None


def migrate_entry(directory: str | os.PathLike) -> ResolvedWeights:
    """Rewrite the intact older-format cache entry `directory` in today's format (the caller holds its lock).

    Format 1 is Keras' own unzipped full model, so Keras loads it; `save_checkpoint` writes the new entry in a
    staging sibling and renames it over the old one (an earlier checkpoint), keeping the model card.
    """
    import keras

    directory = Path(directory)
    version = read_format_version(directory)
    print(
        f"keras_alexnet: migrating the cached checkpoint {directory} from format {version} to {FORMAT_VERSION} "
        "(once; its weights are unchanged)",
        file=sys.stderr,
        flush=True,
    )
    network = read_checkpoint_dir(directory, verify=False).network
    model = keras.saving.load_model(directory, compile=False)
    card = directory / MODEL_CARD_FILENAME
    model_card = card.read_text(encoding="utf-8") if card.is_file() else None
    save_checkpoint(model, directory, network, model_card=model_card)
    return read_checkpoint_dir(directory, verify=False)
