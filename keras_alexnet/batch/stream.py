"""The streaming loop: decoded images -> batches -> the network, in input order, with a progress bar.

`run_batches(decoded, forward, network, batch_size)` groups the images `decode_stream` gives into batches,
applies the checkpoint's preprocessing (`preprocess_for`), runs `forward` (`fast_forward(model)`: the
compiled `tf.function` of `keras_alexnet.performance` on TensorFlow, else `model.predict`) and yields
`(Decoded, outputs row or None)` in input order: an unreadable file comes with None. While the network runs
on one batch, the decoding threads work on the next ones (at most `in_flight` images), so memory is bounded.

Example:

>>> import numpy as np, keras_alexnet
>>> from keras_alexnet.batch.inputs import Decoded
>>> from keras_alexnet.batch.stream import fast_forward, run_batches
>>> model = keras_alexnet.AlexNet(input_shape=(67, 67, 3), include_top=False, pooling="avg")
>>> items = [Decoded("a", np.zeros((67, 67, 3), "uint8")), Decoded("b", error="b: unreadable")]
>>> [(d.key, None if row is None else row.shape) for d, row in run_batches(items, fast_forward(model),
...     keras_alexnet.network_record(model), batch_size=8)]
[('a', (256,)), ('b', None)]
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from keras_alexnet.batch.inputs import Decoded


def fast_forward(model) -> Callable[[np.ndarray], np.ndarray]:
    """The fastest NumPy-in, NumPy-out forward pass of `model` on this backend (float32 outputs)."""
    import keras

    if keras.backend.backend() == "tensorflow":
        from keras_alexnet.performance import compiled_predict

        return compiled_predict(model)
    return lambda x: np.asarray(model.predict(x, verbose=0), dtype=np.float32)


def calibration_batch(specs: list[str], spec, network, *, limit: int = 300) -> np.ndarray:
    """The first `limit` readable images of `specs` (files, folders, globs), decoded by `spec`, preprocessed for
    `network`: the calibration set of an int8 `fast_predictor`. Unreadable files are skipped."""
    import itertools

    from keras_alexnet.batch.inputs import check_inputs, decode_stream, expand_inputs
    from keras_alexnet.preprocessing import preprocess_for

    check_inputs(specs)
    images = [item.image for item in decode_stream(itertools.islice(expand_inputs(specs), limit), spec)]
    images = [image for image in images if image is not None]
    if not images:
        raise ValueError(f"--calibration holds no readable image. Received: {' '.join(specs)}")
    return np.asarray(preprocess_for(np.stack(images), network), dtype="float32")


def run_batches(
    decoded: Iterable[Decoded], forward: Callable[[np.ndarray], np.ndarray], network, batch_size: int
) -> Iterator[tuple[Decoded, np.ndarray | None]]:
    """Yield `(item, outputs)` for every item of `decoded`, in order; `outputs` is None for an unreadable file."""
    from keras_alexnet.preprocessing import preprocess_for

    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    pending: list[Decoded] = []
    images = 0

    def flush():
        good = [item.image for item in pending if item.image is not None]
        outputs = forward(preprocess_for(np.stack(good), network)) if good else None
        rows = iter([] if outputs is None else outputs.reshape(len(good), -1))
        return [(item, None if item.image is None else next(rows)) for item in pending]

    for item in decoded:
        pending.append(item)
        images += item.image is not None
        if images == batch_size:
            yield from flush()
            pending, images = [], 0
    if pending:
        yield from flush()


def progress_bar(total: int | None, *, enabled: bool | None = None, stream=None, initial: int = 0):
    """A tqdm bar (count, images/s, ETA) on `stream` (stderr); by default only when `stream` is a terminal."""
    from tqdm.auto import tqdm

    stream = stream if stream is not None else sys.stderr
    if enabled is None:
        enabled = bool(getattr(stream, "isatty", lambda: False)())
    return tqdm(total=total, initial=initial, unit="img", file=stream, disable=not enabled, dynamic_ncols=True)


__all__ = ["fast_forward", "progress_bar", "run_batches"]
