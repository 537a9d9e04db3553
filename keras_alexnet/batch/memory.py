"""Keep a long streaming run's native heap from creeping: a fixed glibc mmap threshold.

Every batch of a streaming run allocates and frees the same large native buffers (Pillow's decoded
500x375 images, the batch, TensorFlow's activations: ~20 MB). glibc's malloc starts by mapping buffers over
128 KiB with `mmap` and unmapping them on free, but the first time such a buffer is freed it raises its
"dynamic" mmap threshold to that size (up to 32 MiB), so later ones come from its heap arenas (one per
decoding thread) instead, where they fragment: the resident size and its peak then creep up with the number
of images (measured: ~0.6 MB per 1,000 images of peak RSS, with jumps of several MB, in `predict` before
this). `bound_native_heap()` fixes the threshold at 128 KiB (`mallopt(M_MMAP_THRESHOLD)`, which also turns the
dynamic adjustment off), so those buffers go back to the system when they are freed and the peak stays flat
(docs/batch.md, "Memory"). `predict` and `embed` call it before they stream; it changes nothing where the
C library is not glibc, or where the user has set `MALLOC_MMAP_THRESHOLD_` themselves.

Example:

>>> from keras_alexnet.batch.memory import bound_native_heap
>>> bound_native_heap() in (True, False)
True
"""

from __future__ import annotations

import ctypes
import os
import platform

#: glibc's `M_MMAP_THRESHOLD` mallopt parameter, and the threshold set (glibc's own initial value).
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024
_applied = False


def bound_native_heap() -> bool:
    """Fix glibc's mmap threshold for this process (once); True if it is fixed (now or by the user's env)."""
    global _applied
    if _applied or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        _applied = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):  # no mallopt in this C library
        return False
    return _applied


__all__ = ["MMAP_THRESHOLD_BYTES", "bound_native_heap"]
