"""Where converted checkpoints are cached on this machine.

`$KERAS_ALEXNET_CACHE` if set, else `$KERAS_HOME/models/keras_alexnet`
(`KERAS_HOME` defaults to `~/.keras`, as in Keras).

Example:

>>> from keras_alexnet.weights.cache import cache_dir, checkpoint_cache_dir
>>> checkpoint_cache_dir("alexnet_bvlc").relative_to(cache_dir()).as_posix()
'alexnet_bvlc'
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "KERAS_ALEXNET_CACHE"


def cache_dir() -> Path:
    """The root of the converted-checkpoint cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()
    return keras_home / "models" / "keras_alexnet"


def checkpoint_cache_dir(name: str) -> Path:
    """The cache directory of the registered checkpoint `name`."""
    return cache_dir() / name
