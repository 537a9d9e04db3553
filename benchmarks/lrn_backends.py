"""LRN implementations alone, forward and forward + backward, on the backend KERAS_BACKEND names.

Run: `KERAS_BACKEND=jax python -m benchmarks.lrn_backends` (SHAPE=64,55,55,96 for norm1's input; default
norm2's, 64,27,27,256). Prints the median of 5 timings in ms per implementation; docs/performance.md quotes it.
"""

from __future__ import annotations

import os
import time

import keras
import numpy as np

from keras_alexnet.layers import LocalResponseNormalization
from keras_alexnet.layers.local_response_normalization import IMPLEMENTATIONS


def median_ms(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def functions(lrn, x):
    """(forward, forward + backward) callables for `lrn` on `x` under the current backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        xt = tf.constant(x)
        forward = tf.function(lambda t: tf.reduce_sum(lrn(t)))

        @tf.function
        def backward(t):
            with tf.GradientTape() as tape:
                tape.watch(t)
                y = tf.reduce_sum(lrn(t) * t)
            return tape.gradient(y, t)[0, 0, 0, 0]

        return (lambda: forward(xt).numpy()), (lambda: backward(xt).numpy())
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        xt = jnp.asarray(x)
        forward = jax.jit(lambda t: jnp.sum(lrn(t)))
        backward = jax.jit(jax.grad(lambda t: jnp.sum(lrn(t) * t)))
        return (lambda: forward(xt).block_until_ready()), (lambda: backward(xt).block_until_ready())
    import torch

    xt = torch.tensor(x)

    def forward():
        with torch.no_grad():
            return lrn(xt).sum().item()

    def backward():
        t = xt.clone().requires_grad_(True)
        (lrn(t) * t).sum().backward()
        return t.grad[0, 0, 0, 0].item()

    return forward, backward


def main() -> None:
    shape = tuple(int(s) for s in os.environ.get("SHAPE", "64,27,27,256").split(","))
    x = np.random.default_rng(0).uniform(0, 10, shape).astype("float32")
    backend = keras.backend.backend()
    for implementation in IMPLEMENTATIONS:
        if implementation == "auto" or (implementation == "xla" and backend != "tensorflow"):
            continue
        lrn = LocalResponseNormalization(size=5, k=1.0, alpha=1e-4, beta=0.75, average=True,
                                         implementation=implementation)  # fmt: skip
        forward, backward = functions(lrn, x)
        print(f"{backend} {implementation}: forward {median_ms(forward):.1f} ms, "
              f"forward+backward {median_ms(backward):.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
