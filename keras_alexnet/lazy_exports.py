"""PEP 562 exports for a package: its public names are imported from their modules on first use.

A package's `__init__` that imports its submodules eagerly makes every `import keras_alexnet.pkg.module` pay for
all of them (TensorFlow, for `keras_alexnet.training`); with `lazy_exports` the CLI's `--help` stays light.

Example:

>>> getattr_, dir_ = lazy_exports("demo", {"dumps": "json"})
>>> getattr_("dumps").__name__, dir_()
('dumps', ['dumps'])
>>> import keras_alexnet
>>> keras_alexnet.layers.__name__  # a submodule, imported on first use
'keras_alexnet.layers'
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """`(__getattr__, __dir__)` for `package`, where `exports` maps each public name to the module defining it."""

    def get_attribute(name: str):
        module_name = exports.get(name)
        if module_name is None:
            if not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}") is not None:
                return importlib.import_module(f"{package}.{name}")  # `package.submodule` without importing it first
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_name), name)
        module = sys.modules.get(package)
        if module is not None:
            setattr(module, name, value)  # the next lookup is a plain attribute
        return value

    def list_names() -> list[str]:
        module = sys.modules.get(package)
        return sorted(set(vars(module) if module is not None else ()) | set(exports))

    return get_attribute, list_names
