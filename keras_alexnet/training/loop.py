"""A custom distributed training loop (`strategy.run`), for MultiWorkerMirroredStrategy.

Keras 3's `fit` does not run under `tf.distribute.MultiWorkerMirroredStrategy`,
so this loop does the same work by hand: per-replica forward/backward in
`strategy.run`, the loss averaged over the *global* batch with
`tf.nn.compute_average_loss` (so replicas' summed gradients equal the
single-device gradient of the global batch), the Keras optimizer's update
(gradients all-reduced across replicas), datasets distributed with
`strategy.experimental_distribute_dataset` (auto-sharding by data).

Fault tolerance: a `tf.train.CheckpointManager` saves the model, the optimizer
(momentum and step counter), the epoch, the step within the epoch and the
learning-rate schedule every `checkpoint_every` steps and at each epoch end
(TensorFlow writes the files first and then atomically updates the `checkpoint`
index, so a crash mid-save leaves the last good checkpoint in place), keeping
the last `max_to_keep` (>= 2); each gets a record `ckpt-N.json` with its files'
sha256 (`keras_alexnet.training.checkpoints`). A resumed run restores the newest
intact one and skips the batches already done in that epoch; the data of each
epoch depend only on (seed, epoch), so it continues exactly where the
interrupted run was.

Example (single device, tiny model):

>>> import keras, numpy as np, tensorflow as tf, tempfile
>>> from keras_alexnet.training.loop import CustomLoop
>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
>>> ds = lambda epoch: tf.data.Dataset.from_tensor_slices((np.ones((8, 4), "float32"), np.zeros(8, "int32"))).batch(4)
>>> loop = CustomLoop(model, keras.optimizers.SGD(0.1), tf.distribute.get_strategy(), tempfile.mkdtemp(), verbose=0)
>>> history = loop.fit(ds, epochs=1, global_batch_size=4)
>>> int(loop.optimizer.iterations.numpy())
2
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path

import keras
import tensorflow as tf

from keras_alexnet.training.callbacks import nan_message
from keras_alexnet.training.checkpoints import (
    Choice,
    remove_orphan_tf_records,
    select_tf_checkpoint,
    write_tf_record,
)
from keras_alexnet.training.schedule import PlateauState


class CustomLoop:
    """Train `model` with `optimizer` under `strategy`, checkpointing into `checkpoint_dir`.

    Create `model` and `optimizer` inside `strategy.scope()`. `model` outputs probabilities.
    """

    def __init__(
        self,
        model: keras.Model,
        optimizer: keras.optimizers.Optimizer,
        strategy,
        checkpoint_dir,
        *,
        checkpoint_every: int = 0,
        schedule: PlateauState | None = None,
        max_to_keep: int = 3,  # >= 2: a damaged newest checkpoint has a fallback
        verbose: int = 1,
        is_chief: bool = True,
        log_fn: Callable[[int, dict], None] | None = None,
    ):
        self.model, self.optimizer, self.strategy = model, optimizer, strategy
        self.checkpoint_every = checkpoint_every
        self.schedule = schedule
        self.verbose = verbose if is_chief else 0
        self.is_chief = is_chief
        self.log_fn = log_fn
        self.checkpoint_dir = Path(checkpoint_dir)
        if max_to_keep < 2:
            raise ValueError(
                "Keep at least 2 checkpoints, so that a damaged one has a fallback. "
                f"Received: max_to_keep={max_to_keep}"
            )
        with strategy.scope():
            if not optimizer.built:
                optimizer.build(model.trainable_variables)
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
            self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="step_in_epoch")
            # [learning_rate, best, wait, reductions, saved?]: numbers, as collectives carry no strings.
            self.schedule_state = tf.Variable(tf.zeros(5, tf.float64), trainable=False, name="schedule_state")
        self.checkpoint = tf.train.Checkpoint(
            model=model,
            optimizer=optimizer,
            epoch=self.epoch,
            step_in_epoch=self.step_in_epoch,
            schedule_state=self.schedule_state,
        )
        # Non-chief workers of a multi-worker run write to their own temporary directory (TF's rule:
        # every worker must take part in saving, only the chief's copy is kept).
        directory = self.checkpoint_dir if is_chief else self.checkpoint_dir / f".worker_{_task_id(strategy)}"
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=max_to_keep)
        self._train_step = None
        self._eval_step = None

    # -- state -----------------------------------------------------------------------------------
    def restore(self, choice: Choice | None = None) -> Choice | None:
        """Restore the newest intact checkpoint (or `choice`, from `select_tf_checkpoint`); None if there is none.

        Every worker reads the chief's directory, so all restore the same checkpoint. Raises
        `DamagedCheckpointError` when checkpoints exist but none is intact.
        """
        choice = choice if choice is not None else select_tf_checkpoint(self.checkpoint_dir)
        if choice is None:
            return None
        self.checkpoint.restore(str(choice.path)).assert_existing_objects_matched()
        lr, best, wait, reductions, saved = self.schedule_state.numpy().tolist()
        if saved and self.schedule is not None:
            self.schedule = dataclasses.replace(
                self.schedule, learning_rate=lr, best=best, wait=int(wait), reductions=int(reductions)
            )
        return choice

    def save(self) -> None:
        """A new checkpoint (numbered by the save counter, so none is overwritten) and, on the chief, its record."""
        if self.schedule is not None:
            s = self.schedule
            self.schedule_state.assign([s.learning_rate, s.best, s.wait, s.reductions, 1.0])
        prefix = self.manager.save()
        if self.is_chief:
            position = {
                "epoch": int(self.epoch.numpy()),
                "step_in_epoch": int(self.step_in_epoch.numpy()),
                "iterations": int(self.optimizer.iterations.numpy()),
            }
            write_tf_record(prefix, position)
            remove_orphan_tf_records(self.checkpoint_dir)

    # -- steps -----------------------------------------------------------------------------------
    def _build_steps(self, global_batch_size: int):
        strategy, model, optimizer = self.strategy, self.model, self.optimizer
        loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)

        def sums(labels, probabilities, per_example_loss):
            labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
            probabilities = tf.cast(probabilities, tf.float32)
            k5 = min(5, probabilities.shape[-1])
            return {
                "loss": tf.reduce_sum(per_example_loss),
                "top1_error": tf.reduce_sum(1.0 - tf.cast(tf.math.in_top_k(labels, probabilities, 1), tf.float32)),
                "top5_error": tf.reduce_sum(1.0 - tf.cast(tf.math.in_top_k(labels, probabilities, k5), tf.float32)),
                "count": tf.cast(tf.shape(labels)[0], tf.float32),
            }

        def train_fn(images, labels):
            with tf.GradientTape() as tape:
                probabilities = model(images, training=True)
                per_example = loss_fn(labels, probabilities)
                loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
                if model.losses:
                    loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(gradients, model.trainable_variables)
            return sums(labels, probabilities, per_example)

        def eval_fn(images, labels):
            probabilities = model(images, training=False)
            return sums(labels, probabilities, loss_fn(labels, probabilities))

        def reduce(per_replica):
            return {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for k, v in per_replica.items()}

        @tf.function
        def train_step(batch):
            return reduce(strategy.run(train_fn, args=batch))

        @tf.function
        def eval_step(batch):
            return reduce(strategy.run(eval_fn, args=batch))

        self._train_step, self._eval_step = train_step, eval_step

    # -- loops -----------------------------------------------------------------------------------
    def evaluate(self, dataset) -> dict:
        """Loss, top-1 and top-5 error over a (global-batch) dataset."""
        totals = None
        for batch in self.strategy.experimental_distribute_dataset(_data_sharded(dataset)):
            out = {k: float(v) for k, v in self._eval_step(batch).items()}
            totals = out if totals is None else {k: totals[k] + out[k] for k in out}
        if not totals or not totals["count"]:
            raise ValueError("The validation dataset is empty. Received: 0 batches")
        return {k: totals[k] / totals["count"] for k in ("loss", "top1_error", "top5_error")}

    def fit(
        self,
        dataset_fn: Callable[[int], tf.data.Dataset],
        epochs: int,
        global_batch_size: int,
        validation_data: tf.data.Dataset | None = None,
        steps_per_epoch: int | None = None,
    ) -> list[dict]:
        """Train from the restored (or initial) epoch/step to `epochs`; returns one log dict per epoch.

        `dataset_fn(epoch)` returns that epoch's batches (global batch size, deterministic for a
        given epoch).
        """
        if self._train_step is None:
            self._build_steps(global_batch_size)
        if self.schedule is not None:
            self.optimizer.learning_rate.assign(self.schedule.learning_rate)
        history = []
        start_epoch = int(self.epoch.numpy())
        for epoch in range(start_epoch, epochs):
            skip = int(self.step_in_epoch.numpy()) if epoch == start_epoch else 0
            dataset = dataset_fn(epoch)
            if steps_per_epoch is not None:
                dataset = dataset.take(steps_per_epoch)
            dataset = _data_sharded(dataset.skip(skip))
            progbar = keras.utils.Progbar(steps_per_epoch, verbose=self.verbose, stateful_metrics=["lr"])
            totals, step, started = None, skip, time.time()
            if self.verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
            for batch in self.strategy.experimental_distribute_dataset(dataset):
                out = {k: float(v) for k, v in self._train_step(batch).items()}
                totals = out if totals is None else {k: totals[k] + out[k] for k in out}
                step += 1
                mean_loss = out["loss"] / max(out["count"], 1.0)
                if not math.isfinite(mean_loss):
                    raise RuntimeError(nan_message(epoch, step - 1, mean_loss, self.checkpoint_dir))
                self.step_in_epoch.assign(step)
                progbar.update(step, [("loss", mean_loss), ("top1_error", out["top1_error"] / out["count"])])
                if self.checkpoint_every and int(self.optimizer.iterations.numpy()) % self.checkpoint_every == 0:
                    self.save()
            if totals is None:
                raise ValueError(f"Epoch {epoch + 1} produced no batches. Received: an empty training dataset")
            logs = {k: totals[k] / totals["count"] for k in ("loss", "top1_error", "top5_error")}
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))
            if validation_data is not None:
                logs.update({f"val_{k}": v for k, v in self.evaluate(validation_data).items()})
            logs["seconds"] = time.time() - started
            if self.schedule is not None and "val_top1_error" in logs:
                before = self.schedule.learning_rate
                self.optimizer.learning_rate.assign(self.schedule.step(logs["val_top1_error"]))
                if self.verbose and self.schedule.learning_rate != before:
                    print(f"learning rate {before:g} -> {self.schedule.learning_rate:g}")
            self.epoch.assign(epoch + 1)
            self.step_in_epoch.assign(0)
            self.save()
            if self.verbose:
                print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
            if self.log_fn is not None and self.is_chief:
                self.log_fn(epoch, logs)
            history.append(logs)
        return history


def _data_sharded(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Shard by data (not files) across workers: each worker reads the stream and keeps its slices."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _task_id(strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(getattr(resolver, "task_id", 0) or 0)
