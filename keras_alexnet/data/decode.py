"""Decoding encoded images in `tf.data`, skipping and counting bad records.

An undecodable file (truncated or corrupt JPEG, not an image at all) or an
image with an unusable channel count (2 or 4 channels: gray+alpha, CMYK/RGBA)
is dropped from the stream and counted in a `BadRecordCounter`; it never stops
training. Grayscale (1 channel) images are converted to RGB, as the paper did
for ImageNet's grayscale photographs.

Example:

>>> import tensorflow as tf
>>> from keras_alexnet.data.decode import BadRecordCounter, decode_images
>>> png = tf.io.encode_png(tf.zeros((4, 4, 3), tf.uint8))
>>> counter = BadRecordCounter()
>>> ds = tf.data.Dataset.from_tensor_slices(([png, b"not an image"], [0, 1]))
>>> [int(y) for _, y in decode_images(ds, counter)]
[0]
>>> counter.count
1
"""

from __future__ import annotations

import threading

import numpy as np


class BadRecordCounter:
    """Thread-safe count of the distinct records a pipeline skipped, with a few examples of why.

    Records are identified by a key (file path, TFDS record id) when the source gives one, so a bad
    file met again in a later epoch (or by the statistics pass) is counted once.
    """

    def __init__(self, max_examples: int = 10):
        self._lock = threading.Lock()
        self._keys: set[str] = set()
        self._unkeyed = 0
        self.examples: list[str] = []
        self._max_examples = max_examples

    @property
    def count(self) -> int:
        return len(self._keys) + self._unkeyed

    def add(self, reason: str, key: str | None = None) -> None:
        with self._lock:
            if key is not None:
                if key in self._keys:
                    return
                self._keys.add(key)
                reason = f"{key}: {reason}"
            else:
                self._unkeyed += 1
            if len(self.examples) < self._max_examples:
                self.examples.append(reason)

    def report(self) -> str:
        """One line for the end of a run, e.g. "skipped 2 bad records (...)"."""
        if not self.count:
            return "skipped 0 bad records"
        return f"skipped {self.count} bad record(s): " + "; ".join(self.examples)


def decode_to_rgb(
    data: bytes, counter: BadRecordCounter | None = None, key: str | None = None
) -> tuple[np.ndarray, bool]:
    """Decode `data` to uint8 (H, W, 3); `(empty, False)` (and counted under `key`) when it is unusable."""
    import tensorflow as tf

    try:
        image = tf.io.decode_image(data, channels=0, expand_animations=False).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError, ValueError) as error:
        if counter is not None:
            counter.add(f"undecodable ({str(error).splitlines()[0][:80]})", key)
        return np.zeros((1, 1, 3), np.uint8), False
    channels = image.shape[-1]
    if channels == 1:
        image = np.repeat(image, 3, axis=-1)
    elif channels != 3:
        if counter is not None:
            counter.add(f"{channels} channels (expected 1 or 3)", key)
        return np.zeros((1, 1, 3), np.uint8), False
    if image.dtype != np.uint8:  # 16-bit PNG
        image = (image.astype(np.float32) / 257.0).round().astype(np.uint8)
    return image, True


def decode_images(dataset, counter: BadRecordCounter | None = None, num_parallel_calls=None):
    """Map (encoded bytes, label[, key]) to (uint8 RGB image, label), dropping (and counting) bad records.

    `key` (a string: file path, record id) identifies a record, so it is counted once however often it is read.
    """
    import tensorflow as tf

    num_parallel_calls = num_parallel_calls or tf.data.AUTOTUNE
    keyed = len(dataset.element_spec) == 3

    def _decode(data, label, key=None):
        def decode(d, k=None):
            return decode_to_rgb(d.numpy(), counter, k.numpy().decode() if k is not None else None)

        inputs = [data, key] if keyed else [data]
        image, ok = tf.py_function(decode, inputs, [tf.uint8, tf.bool], name="decode_rgb")
        image.set_shape([None, None, 3])
        ok.set_shape([])
        return image, label, ok

    dataset = dataset.map(_decode, num_parallel_calls=num_parallel_calls)
    dataset = dataset.filter(lambda image, label, ok: ok)
    return dataset.map(lambda image, label, ok: (image, label))
