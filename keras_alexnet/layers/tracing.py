"""Whether a layer is being traced for saving or export, where it must emit plain, portable ops.

The layers' fastest TensorFlow paths are XLA-compiled calls (the LRN's "xla"
implementation, Keras' grouped convolution behind `GroupedConv2D("fused")`).
A graph traced for a SavedModel, ONNX, LiteRT or OpenVINO keeps such a call as
a nested function marked `_XlaMustCompile`, which ONNX Runtime, LiteRT and
serving runtimes without XLA cannot run. Keras' `model.export` (every format),
`tf.saved_model.save`, the TFLite converter, tf2onnx and OpenVINO's converter
all trace the model synchronously from their own modules, so the layers look
for one of those modules on the call stack when they are traced (once per
trace, never per step); `plain_ops()` forces the same for any other tracing.

Example:

>>> import tensorflow as tf
>>> from keras_alexnet.layers.tracing import plain_ops, traced_for_export
>>> traced_for_export()
False
>>> with plain_ops():
...     traced_for_export()
True
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from collections.abc import Iterator

#: Modules whose functions trace a model to save or convert it (prefixes of `__name__`).
EXPORT_MODULES = (
    "keras.src.export",
    "tensorflow.python.saved_model",
    "tensorflow.lite",
    "tf2onnx",
    "openvino",
)

_PLAIN_OPS = contextvars.ContextVar("keras_alexnet_plain_ops", default=False)


@contextlib.contextmanager
def plain_ops() -> Iterator[None]:
    """Within this block the layers emit plain ops (no XLA-compiled calls), whoever traces them."""
    token = _PLAIN_OPS.set(True)
    try:
        yield
    finally:
        _PLAIN_OPS.reset(token)


def traced_for_export() -> bool:
    """True inside `plain_ops()` or when a saving/export module (`EXPORT_MODULES`) is on the call stack."""
    if _PLAIN_OPS.get():
        return True
    tf = sys.modules.get("tensorflow")
    if tf is not None and tf.executing_eagerly():  # nothing is traced: skip the stack walk on every eager call
        return False
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith(EXPORT_MODULES):
            return True
        frame = frame.f_back
    return False
