"""Callbacks of a `fit` run: NaN guard and atomic saving of the model at each epoch end.

Example:

>>> from keras_alexnet.training.callbacks import NaNGuard
>>> guard = NaNGuard()
>>> guard.failure is None
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import keras

from keras_alexnet.training.checkpoints import Choice, WeightsBackup, save_model_atomic


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
    """Keras' `BackupAndRestore`, saving at every epoch end *and* every `save_freq` steps, verified and atomic.

    Each save is a new checkpoint of a `WeightsBackup` (`ckpt-N.weights.h5`: the weights with the optimizer
    state and step counter, and its record `ckpt-N.json`: sha256, epoch, batch and `extra_state()`), written
    through a staging file and a rename; the newest two are kept, so a crash during a save, or a damaged
    file, leaves an intact checkpoint to resume from. `restore_from` (a `Choice` from `WeightsBackup.select`)
    is loaded at the start of training. Resuming follows Keras: training restarts at the beginning of the
    epoch recorded (a mid-epoch checkpoint's weights are restored, and that epoch is run from its first
    batch; epoch-end checkpoints resume exactly; use the custom loop for exact mid-epoch resume).
    """

    def __init__(
        self,
        backup: WeightsBackup,
        save_freq="epoch",
        *,
        restore_from: Choice | None = None,
        extra_state: Callable[[], dict] | None = None,
    ):
        super().__init__(str(backup.directory), save_freq=save_freq, double_checkpoint=False, delete_checkpoint=False)
        self.backup = backup
        self.restore_from = restore_from
        self.extra_state = extra_state
        self._number = restore_from.number + 1 if restore_from is not None else 1

    def on_train_begin(self, logs=None):
        if self.restore_from is None:
            return
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)  # its variables must exist to be loaded
        self.model.load_weights(self.restore_from.path)
        self._current_epoch = int(self.restore_from.position["epoch"])
        self.model._initial_epoch = self._current_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch  # (Keras sets it only at epoch ends: wrong for mid-epoch saves after a resume)

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if not self.model.stop_training:  # never checkpoint the weights of a run stopped for a NaN loss
            self._save_model()

    def on_train_batch_end(self, batch, logs=None):
        if not self.model.stop_training:
            super().on_train_batch_end(batch, logs)

    def _save_model(self):
        position = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        if self.extra_state is not None:
            position |= self.extra_state()
        self.backup.save(self.model, self._number, position)
        self._number += 1
