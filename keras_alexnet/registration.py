"""Run code when a module is first imported: how `keras_alexnet` registers its Keras classes lazily.

`import keras_alexnet` imports neither Keras nor TensorFlow; `keras.saving.load_model` still finds
our layers and models because `when_imported("keras", ...)` registers them the moment Keras is
imported (or at once, when it already is). Engineer-facing API: `when_imported` only.

Example:

>>> import json
>>> from keras_alexnet.registration import when_imported
>>> seen = []
>>> when_imported("json", lambda module: seen.append(module.__name__))  # already imported: runs now
>>> when_imported("tabnanny", lambda module: seen.append(module.__name__))  # runs on first import
>>> seen
['json']
>>> import tabnanny
>>> seen
['json', 'tabnanny']
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import threading
from collections.abc import Callable
from types import ModuleType

_pending: dict[str, list[Callable[[ModuleType], None]]] = {}
_lock = threading.RLock()


def when_imported(module_name: str, callback: Callable[[ModuleType], None]) -> None:
    """Call `callback(module)` now if `module_name` is imported, else right after its first import."""
    module = sys.modules.get(module_name)
    if module is not None and not _still_loading(module):
        callback(module)
        return
    with _lock:
        _pending.setdefault(module_name, []).append(callback)
        if not any(isinstance(finder, _PostImportFinder) for finder in sys.meta_path):
            sys.meta_path.insert(0, _PostImportFinder())


def _still_loading(module: ModuleType) -> bool:
    spec = getattr(module, "__spec__", None)
    return bool(spec is not None and getattr(spec, "_initializing", False))


def _run_callbacks(module: ModuleType) -> None:
    with _lock:
        callbacks = _pending.pop(module.__name__, [])
    for callback in callbacks:
        callback(module)


class _PostImportFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the real loader of a watched module so the callbacks run after it executes."""

    def __init__(self) -> None:
        self._busy: set[str] = set()

    def find_spec(self, fullname, path, target=None):
        if fullname not in _pending or fullname in self._busy:
            return None
        self._busy.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy.discard(fullname)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _CallbackLoader(spec.loader)
        return spec


class _CallbackLoader(importlib.abc.Loader):
    def __init__(self, loader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _run_callbacks(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


def register_keras_classes(_keras: ModuleType | None = None) -> None:
    """Import the modules whose classes are `@keras.saving.register_keras_serializable` (they register on import).

    When Keras is imported from inside one of our modules (`keras_alexnet.layers` imports keras), importing
    the others now would re-enter that half-initialised module; that import registers what it defines itself.
    """
    if any(name.startswith("keras_alexnet.") and _still_loading(module) for name, module in list(sys.modules.items())):
        return
    import keras_alexnet.layers  # noqa: F401
    import keras_alexnet.models.backbone  # noqa: F401  (the core "keras_alexnet>AlexNetBackbone", unless KerasHub's)
    import keras_alexnet.models.model  # noqa: F401


def register_kerashub_classes(_keras_hub: ModuleType | None = None) -> None:
    """Import `keras_alexnet.kerashub`, registering AlexNetBackbone & co., so KerasHub's `from_preset` finds them."""
    if any(name.startswith("keras_alexnet.") and _still_loading(module) for name, module in list(sys.modules.items())):
        return
    import keras_alexnet.kerashub  # noqa: F401
