"""What to do when `keras.saving.load_model` cannot find a class: the guidance our loaders add to Keras' error.

Keras rebuilds a `.keras` model from the classes registered when it loads; keras_alexnet's layers and model class
register themselves when `keras_alexnet` is imported, so `keras.saving.load_model` needs `import keras_alexnet`
first. Keras' own message ("Could not locate class 'LocalResponseNormalization'. Make sure custom classes ...")
does not say which import; `registration_guidance` turns it into one that does, wherever keras_alexnet loads a
`.keras` file (`AlexNet(weights="model.keras")`, the CLI).

Example:

>>> from keras_alexnet.saving import unregistered_class_message
>>> unregistered_class_message("m.keras", "AlexNetBackbone").split(":")[0]
'm.keras'
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

_UNKNOWN_CLASS = re.compile(r"Could not locate (?:class|function) '([^']+)'")


def unregistered_class_message(path: str | os.PathLike, name: str) -> str:
    """One line naming the class Keras could not find and the import that registers it."""
    return (
        f"{os.fspath(path)}: Keras could not locate class {name!r}. keras.saving.load_model needs every class the "
        "model was saved with registered first: run `import keras_alexnet` before it (KerasHub classes also need "
        "keras-hub installed); a class keras_alexnet does not define comes from the code that saved the model, "
        f"import that too. Received: class {name!r}"
    )


@contextlib.contextmanager
def registration_guidance(path: str | os.PathLike) -> Iterator[None]:
    """Re-raise Keras' "Could not locate class 'X'" TypeError as a ValueError saying which import is missing."""
    try:
        yield
    except TypeError as error:
        match = _UNKNOWN_CLASS.search(str(error))
        if match is None:
            raise
        raise ValueError(unregistered_class_message(path, match.group(1))) from error
