"""Top-k *error* metrics (the paper reports top-1 and top-5 error rates).

Example:

>>> import numpy as np
>>> from keras_alexnet.training.metrics import TopKError
>>> m = TopKError(k=1)
>>> m.update_state(np.array([1, 0]), np.array([[0.2, 0.8], [0.3, 0.7]], "float32"))
>>> float(m.result())
0.5
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_alexnet")
class TopKError(keras.metrics.MeanMetricWrapper):
    """1 - sparse top-k categorical accuracy, named "top{k}_error" by default."""

    def __init__(self, k: int = 1, name: str | None = None, dtype=None):
        def error(y_true, y_pred):
            return 1.0 - ops.cast(keras.metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, k=k), "float32")

        super().__init__(error, name=name or f"top{k}_error", dtype=dtype)
        self.k = k

    def get_config(self):
        return {"k": self.k, "name": self.name, "dtype": self.dtype}


def top_k_metrics() -> list:
    """The metrics every run reports: top-1 and top-5 error."""
    return [TopKError(1), TopKError(5)]
