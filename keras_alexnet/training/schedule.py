"""The paper's learning-rate rule: divide by 10 when the validation error stops improving.

"The heuristic which we followed was to divide the learning rate by 10 when the
validation error rate stopped improving with the current learning rate. The
learning rate was initialized at 0.01 and reduced three times prior to
termination." `PlateauState` is that rule as plain Python (used by the custom
loop and by `PaperLRSchedule`, the Keras callback for `fit`): after `patience`
epochs without a lower validation top-1 error, multiply by `factor`, at most
`max_reductions` times. Its state is saved with the checkpoints so that a
resumed run takes the same decisions.

`decay_epochs=N` replaces the rule (not the paper's; the quickstart preset's): a
half cosine from the initial rate towards 0 over N epochs, whatever the
validation error; `wait` then counts the epochs done, so the same state (and the
custom loop's saved copy of it) resumes it.

Example:

>>> from keras_alexnet.training.schedule import PlateauState
>>> s = PlateauState(learning_rate=0.01, patience=1, max_reductions=1)
>>> [s.step(e) for e in (0.5, 0.4, 0.45, 0.41, 0.40)]
[0.01, 0.01, 0.001, 0.001, 0.001]
>>> c = PlateauState(learning_rate=0.01, decay_epochs=4)
>>> [round(c.step(0.5), 5) for _ in range(4)]
[0.00854, 0.005, 0.00146, 0.0]
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import keras

from keras_alexnet.training.config import save_json_atomic

LR_STATE_FILENAME = "lr_schedule.json"


@dataclasses.dataclass
class PlateauState:
    learning_rate: float
    factor: float = 0.1
    patience: int = 5
    max_reductions: int = 3
    best: float = math.inf
    wait: int = 0
    reductions: int = 0
    decay_epochs: int = 0  # > 0: a half-cosine decay over that many epochs instead of the plateau rule
    base_rate: float | None = None  # the cosine's initial rate (default: `learning_rate` at creation)

    def __post_init__(self):
        if self.base_rate is None:
            self.base_rate = self.learning_rate

    def step(self, val_error: float) -> float:
        """Record one epoch's validation error; returns the learning rate for the next epoch."""
        if self.decay_epochs:
            self.wait += 1
            progress = min(self.wait, self.decay_epochs) / self.decay_epochs
            self.learning_rate = self.base_rate * 0.5 * (1.0 + math.cos(math.pi * progress))
            return self.learning_rate
        if val_error < self.best - 1e-12:
            self.best, self.wait = float(val_error), 0
        else:
            self.wait += 1
            if self.wait >= self.patience and self.reductions < self.max_reductions:
                self.learning_rate *= self.factor
                self.reductions += 1
                self.wait = 0
        return self.learning_rate

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"best": None if math.isinf(self.best) else self.best}

    @classmethod
    def from_dict(cls, values: dict) -> PlateauState:
        values = dict(values)
        values["best"] = math.inf if values.get("best") is None else values["best"]
        return cls(**values)


class PaperLRSchedule(keras.callbacks.Callback):
    """`fit` callback applying `PlateauState` on `monitor` (default "val_top1_error") at each epoch end.

    With `state_dir`, the state is written atomically to `lr_schedule.json` there at each epoch end
    and, with `restore=True`, read back at the start of training (the trainer passes `restore=False`
    and the state saved with the checkpoint it resumes from).
    """

    def __init__(
        self,
        state: PlateauState,
        monitor: str = "val_top1_error",
        state_dir=None,
        verbose: int = 0,
        restore: bool = True,
    ):
        super().__init__()
        self.state = state
        self.monitor = monitor
        self.path = Path(state_dir) / LR_STATE_FILENAME if state_dir else None
        self.verbose = verbose
        self.restore = restore

    def on_train_begin(self, logs=None):
        if self.restore and self.path is not None and self.path.is_file():
            self.state = PlateauState.from_dict(json.loads(self.path.read_text()))
        self.model.optimizer.learning_rate.assign(self.state.learning_rate)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.state.learning_rate)  # the rate used during this epoch
        value = logs.get(self.monitor)
        if value is None:
            return
        before = self.state.learning_rate
        after = self.state.step(float(value))
        self.model.optimizer.learning_rate.assign(after)
        if after != before and self.verbose and not self.state.decay_epochs:
            print(f"\nEpoch {epoch + 1}: {self.monitor} stopped improving; learning rate {before:g} -> {after:g}")
        if self.path is not None:
            save_json_atomic(self.path, self.state.to_dict())
