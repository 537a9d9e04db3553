"""The 1000 ILSVRC-2012 classes, bundled with the package (never downloaded).

Example:

>>> from keras_alexnet.imagenet import imagenet_classes
>>> imagenet_classes()[0]
('n01440764', 'tench, Tinca tinca')
"""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def imagenet_classes() -> tuple[tuple[str, str], ...]:
    """(WordNet id, readable name) of each class, in the standard sorted-wnid order."""
    text = resources.files(__package__).joinpath("imagenet1k_classes.txt").read_text(encoding="utf-8")
    rows = [line.split("\t", 1) for line in text.splitlines() if line and not line.startswith("#")]
    classes = tuple((wnid, name) for wnid, name in rows)
    if len(classes) != 1000:
        raise RuntimeError(f"The bundled class list has {len(classes)} entries instead of 1000")
    return classes
