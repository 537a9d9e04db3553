"""Callbacks of a `fit` run: NaN guard and atomic saving of the model at each epoch end.

Example:

>>> from keras_alexnet.training.callbacks import NaNGuard
>>> guard = NaNGuard()
>>> guard.failure is None
True
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

import keras


class NaNGuard(keras.callbacks.Callback):
    """Stop training at the first non-finite loss and remember where (`failure`)."""

    def __init__(self):
        super().__init__()
        self.failure: tuple[int, int, float] | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.failure = (self._epoch, batch, float(loss))
            self.model.stop_training = True

    def message(self, run_dir) -> str:
        epoch, batch, loss = self.failure
        return nan_message(epoch, batch, loss, run_dir)


def nan_message(epoch: int, step: int, loss: float, run_dir) -> str:
    return (
        f"Training stopped: the loss became {loss} at epoch {epoch + 1}, step {step + 1}. The weights are no longer "
        f"usable; the last good checkpoint is in {run_dir}. Lower --learning-rate, check the input "
        "normalisation (--mean, --stats), and resume with --resume."
    )


def save_model_atomic(model, path: str | os.PathLike) -> Path:
    """`model.save(path)` (a .keras or .weights.h5 file) through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = ".weights.h5" if path.name.endswith(".weights.h5") else path.suffix
    tmp_dir = tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        tmp = Path(tmp_dir) / f"staging{suffix}"
        if suffix == ".weights.h5":
            model.save_weights(tmp)
        else:
            model.save(tmp)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return path


class EpochModelSaver(keras.callbacks.Callback):
    """Save the model (`.keras`, atomically) at the end of every epoch."""

    def __init__(self, path, enabled: bool = True):
        super().__init__()
        self.path = Path(path)
        self.enabled = enabled

    def on_epoch_end(self, epoch, logs=None):
        if self.enabled and not self.model.stop_training:
            save_model_atomic(self.model, self.path)


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' `BackupAndRestore`, saving at every epoch end *and* every `save_freq` steps, atomically.

    The weights (with the optimizer state and step counter) go to a temporary file that is renamed over
    `latest.weights.h5`, then `training_metadata.json` is replaced the same way, so a crash during a save
    leaves the previous checkpoint readable. Resuming follows Keras: training restarts at the beginning of
    the epoch recorded in the metadata (a mid-epoch checkpoint's weights are restored, and that epoch is run
    from its first batch; epoch-end checkpoints resume exactly; use the custom loop for exact mid-epoch resume).
    """

    def __init__(self, backup_dir, save_freq="epoch"):
        super().__init__(backup_dir, save_freq=save_freq, double_checkpoint=False, delete_checkpoint=False)

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if not self.model.stop_training:  # never checkpoint the weights of a run stopped for a NaN loss
            self._save_model()

    def on_train_batch_end(self, batch, logs=None):
        if not self.model.stop_training:
            super().on_train_batch_end(batch, logs)

    def _save_model(self):
        from keras_alexnet.training.config import save_json_atomic

        Path(self.backup_dir).mkdir(parents=True, exist_ok=True)
        save_model_atomic(self.model, self._weights_path)
        save_json_atomic(self._training_metadata_path, {"epoch": self._current_epoch, "batch": self._last_batch_seen})
