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


def _decode_in_graph(data):
    """TF ops only: (uint8 (H, W, 3) image, usable?) from encoded bytes; raises on undecodable bytes."""
    import tensorflow as tf

    image = tf.io.decode_image(data, channels=0, expand_animations=False)  # 16-bit PNGs come back as uint8
    channels = tf.shape(image)[-1]
    usable = (channels == 1) | (channels == 3)
    image = tf.cond(
        channels == 1,
        lambda: tf.tile(image, [1, 1, 3]),
        lambda: tf.cond(channels == 3, lambda: image, lambda: tf.zeros((1, 1, 3), tf.uint8)),
    )
    image.set_shape([None, None, 3])
    return image, usable


def decode_images(dataset, counter: BadRecordCounter | None = None, num_parallel_calls=None):
    """Map (encoded bytes, label[, key]) to (uint8 RGB image, label), dropping (and counting) bad records.

    `key` (a string: file path, record id) identifies a record, so it is counted once however often it is read.

    Good records are decoded by TF ops in the graph, in parallel and without the GIL. Each record is
    decoded in its own one-element dataset whose errors are ignored and which is followed by a
    "bad record" marker: the first element out is the image when decoding worked and the marker when
    it failed. Only a bad record calls back into Python (`decode_to_rgb`, which counts it with the reason).
    """
    import tensorflow as tf

    num_parallel_calls = num_parallel_calls or tf.data.AUTOTUNE
    keyed = len(dataset.element_spec) == 3
    if not keyed:
        dataset = dataset.map(lambda data, label: (data, label, tf.constant("")))

    def decode_one(data, label, key):
        decoded = tf.data.Dataset.from_tensors(data).map(_decode_in_graph).ignore_errors()
        marker = tf.data.Dataset.from_tensors((tf.zeros((1, 1, 3), tf.uint8), tf.constant(False)))
        image_and_ok = decoded.concatenate(marker).take(1)
        return image_and_ok.map(lambda image, ok: (image, ok, label, key, data))

    def count_bad(data, key):
        def report(d, k):
            record_key = k.numpy().decode() if keyed else None
            _, decodable = decode_to_rgb(d.numpy(), counter, record_key)  # counts it, with the reason
            if decodable:  # eager decoding worked where the graph's did not: still a skipped record
                counter.add("not decodable in the input pipeline", record_key)
            return False

        return tf.py_function(report, [data, key], tf.bool, name="count_bad_record")

    def keep(image, ok, label, key, data):
        if counter is None:
            return ok
        return tf.cond(ok, lambda: tf.constant(True), lambda: count_bad(data, key))

    dataset = dataset.interleave(
        decode_one, cycle_length=16, block_length=1, num_parallel_calls=num_parallel_calls, deterministic=True
    )
    dataset = dataset.filter(keep)
    return dataset.map(lambda image, ok, label, key, data: (image, label))
