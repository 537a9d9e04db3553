"""`train(config)`: the paper's recipe end to end (data, model, optimiser, distribution, checkpoints, logs).

The run directory receives:

    config.json           the effective configuration (every option + replicas, global batch, scaled lr)
    pixel_stats.npz/json  the training set's mean image / channel mean and RGB PCA (unless --stats given)
    backup/ or checkpoints/   resumable state: ckpt-N.weights.h5 (fit) or tf.train.CheckpointManager's files
                          (custom loop), each with a record ckpt-N.json (sha256, position); the newest 2+ kept
    model.keras           the model after the last completed epoch (written atomically)
    log.csv, tensorboard/ per-epoch metrics (loss, top-1/top-5 error, learning rate), TensorBoard events
    curves.png            the curves of log.csv
    results.json          final validation top-1/top-5 error, bad records skipped, duration

Example (a tiny model on 64 embedded digits, one epoch):

>>> import keras, tempfile
>>> from keras_alexnet.training import TrainConfig, train
>>> def tiny(num_classes, image_size):
...     return keras.Sequential([keras.Input((image_size, image_size, 3)), keras.layers.Conv2D(4, 3, strides=2),
...                              keras.layers.Flatten(), keras.layers.Dense(num_classes, activation="softmax")])
>>> config = TrainConfig(epochs=1, batch_size=16, limit=64, val_limit=32, image_size=24, resize=32,
...                      run_dir=tempfile.mkdtemp(), verbose=0, strategy="none")
>>> result = train(config, model_fn=tiny)
>>> sorted(result.history[0])[:3]
['learning_rate', 'loss', 'top1_error']
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keras
import tensorflow as tf

from keras_alexnet.data import PixelStatistics, compute_statistics, make_eval_dataset
from keras_alexnet.data.pipelines import make_epochs_dataset, make_train_dataset, train_squares
from keras_alexnet.data.statistics import STATS_NPZ
from keras_alexnet.errors import TrainingDivergedError, require
from keras_alexnet.models.variants import get_variant
from keras_alexnet.outputs import write_file_atomic
from keras_alexnet.training.callbacks import AtomicBackupAndRestore, EpochModelSaver, NaNGuard
from keras_alexnet.training.checkpoints import WeightsBackup, save_model_atomic, select_tf_checkpoint
from keras_alexnet.training.config import CONFIG_FILENAME, TrainConfig, save_json_atomic
from keras_alexnet.training.distribute import is_chief, is_multi_worker, make_strategy, scaled_learning_rate
from keras_alexnet.training.initialization import LSUV, scale_to_unit_activations
from keras_alexnet.training.loop import CustomLoop
from keras_alexnet.training.metrics import top_k_metrics
from keras_alexnet.training.model import build_training_model
from keras_alexnet.training.optimizer import PaperSGD
from keras_alexnet.training.plot import LOG_FILENAME, plot_run
from keras_alexnet.training.schedule import LR_STATE_FILENAME, PaperLRSchedule, PlateauState

ModelFn = Callable[[int, int], keras.Model]
BACKUP_DIR = "backup"
CHECKPOINT_DIR = "checkpoints"
MODEL_FILENAME = "model.keras"
#: The NetworkRecord fields a training run decides (the variant, LRN and removed stages come from the model).
RUN_RECORD_FIELDS = ("classes", "input_size", "preprocessing", "categories", "class_names", "pixel_mean")
#: The run's final weights as a checkpoint directory (`--weights RUN_DIR/checkpoint` in predict/evaluate/...).
CHECKPOINT_DIRNAME = "checkpoint"
RESULTS_FILENAME = "results.json"
LOG_COLUMNS = (
    "epoch",
    "loss",
    "top1_error",
    "top5_error",
    "val_loss",
    "val_top1_error",
    "val_top5_error",
    "learning_rate",
)


@dataclasses.dataclass
class TrainResult:
    model: keras.Model
    history: list[dict]
    run_dir: Path
    bad_records: int
    effective_config: dict
    plot: Path | None = None

    @property
    def final(self) -> dict:
        return self.history[-1] if self.history else {}


def train(config: TrainConfig, model_fn: ModelFn | None = None) -> TrainResult:
    """Train as `config` says; `model_fn(num_classes, image_size)` replaces AlexNet (tests, experiments)."""
    config.validate()
    # Checked before any work: the TensorBoard events and curves.png are written during and after training.
    require("tensorboard", "train", "Training (it writes TensorBoard logs)")
    require("matplotlib", "train", "Training (it draws curves.png)")
    run_dir = Path(config.run_dir)
    if config.deterministic:
        keras.utils.set_random_seed(config.seed)
        tf.config.experimental.enable_op_determinism()
    strategy = make_strategy(config.strategy)
    chief = is_chief(strategy)
    replicas = strategy.num_replicas_in_sync
    global_batch = config.batch_size * replicas
    learning_rate = scaled_learning_rate(config.learning_rate, global_batch, config.lr_scaling)
    loop = config.loop if config.loop != "auto" else ("custom" if is_multi_worker(strategy) else "fit")
    if loop == "custom" and not config.backups:
        raise ValueError(
            "--no-backups applies to the fit loop; the custom loop (multi-worker) always checkpoints. "
            f"Received: loop={loop!r}, backups=False"
        )
    if loop == "fit" and is_multi_worker(strategy):
        raise ValueError(
            "Keras' fit does not run under MultiWorkerMirroredStrategy; use --loop custom (the default for "
            "--strategy multiworker). Received: loop='fit'"
        )
    state_dir = run_dir / (BACKUP_DIR if loop == "fit" else CHECKPOINT_DIR)
    if not config.resume and state_dir.is_dir() and any(not p.name.startswith(".") for p in state_dir.iterdir()):
        raise ValueError(
            f"{run_dir} already holds a run's checkpoints; pass --resume to continue it or choose another "
            f"--run-dir. Received: run_dir={str(run_dir)!r}"
        )
    # The checkpoint to resume from, verified (newest intact; DamagedCheckpointError if none is) before
    # anything is loaded. Staging (names starting with '.') is never taken for a checkpoint.
    resume_from = None
    if config.resume:
        resume_from = WeightsBackup(state_dir).select() if loop == "fit" else select_tf_checkpoint(state_dir)
        if resume_from is not None and resume_from.message and chief:
            print(resume_from.message, file=sys.stderr)
    started = time.time()
    run_dir.mkdir(parents=True, exist_ok=True)

    train_source, val_source = config.load_sources()
    stats = _statistics(config, train_source, run_dir, chief)
    image_size = config.image_size or get_variant(config.variant).default_size
    num_classes = train_source.num_classes
    if train_source.num_examples is not None and train_source.num_examples < global_batch:
        raise ValueError(
            f"The training split has {train_source.num_examples} images, fewer than one global batch "
            f"({global_batch}); lower --batch-size. Received: batch_size={config.batch_size}"
        )
    steps_per_epoch = config.steps_per_epoch or max(1, (train_source.num_examples or global_batch) // global_batch)
    derived = {
        "replicas": replicas,
        "global_batch_size": global_batch,
        "learning_rate_scaled": learning_rate,
        "lr_scaling_rule": f"{config.lr_scaling}: lr = learning_rate * global_batch / 128"
        if config.lr_scaling == "linear"
        else "none",
        "image_size": image_size,
        "num_classes": num_classes,
        "class_names": train_source.class_names,
        "steps_per_epoch": steps_per_epoch,
        "train_images": train_source.num_examples,
        "loop": loop,
        "strategy": type(strategy).__name__,
        "model": "model_fn" if model_fn else f"AlexNet({config.variant})",
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
    }
    effective = {"config": config.to_dict(), "derived": derived}
    if chief:
        save_json_atomic(run_dir / CONFIG_FILENAME, effective)

    data_kwargs = dict(
        batch_size=global_batch,
        image_size=image_size,
        normalization=stats,
        mean=config.mean,
        pca_std=config.pca_std,
        flip=config.flip,
        seed=config.seed,
        shuffle_buffer=config.shuffle_buffer,
        resize=config.resize,
        # Built once, so that every epoch (and, with --cache, one in-memory cache) shares it.
        squares=train_squares(train_source, resize=config.resize, cache=config.cache),
    )

    def centre_crops(source):
        return make_eval_dataset(
            source,
            batch_size=global_batch,
            image_size=image_size,
            normalization=stats,
            mean=config.mean,
            resize=config.resize,
        )

    val_ds = centre_crops(val_source)
    with strategy.scope():
        if model_fn is not None:
            model = model_fn(num_classes, image_size)
        else:
            model = build_training_model(
                num_classes, image_size, config.variant, config.dropout, config.init, config.seed
            )
            # What the run's weights are for (classes by name, the paper's preprocessing with this training set's
            # mean, the input size): every model.keras the run saves carries it (`network_record`).
            run_record = run_network_record(config, image_size, train_source.class_names, stats)
            model.network = dataclasses.replace(
                model.network,
                **{field: getattr(run_record, field) for field in RUN_RECORD_FIELDS},
            )
        optimizer = make_optimizer(config, learning_rate)
    if config.init == LSUV and model_fn is None and resume_from is None:
        # Data-dependent: each layer scaled to unit activations on the centre crops of one training batch.
        scale_to_unit_activations(model, next(iter(centre_crops(train_source).take(1)))[0])
    schedule = PlateauState(
        learning_rate,
        config.lr_factor,
        config.lr_patience,
        config.max_lr_reductions,
        decay_epochs=config.epochs if config.lr_schedule == "cosine" else 0,
    )

    if loop == "fit":
        history = _run_fit(
            model, optimizer, config, train_source, val_ds, data_kwargs, schedule, steps_per_epoch, resume_from, chief
        )
    else:
        history = _run_custom(
            model,
            optimizer,
            strategy,
            config,
            train_source,
            val_ds,
            data_kwargs,
            schedule,
            steps_per_epoch,
            chief,
            resume_from,
        )

    bad = train_source.bad_records.count + val_source.bad_records.count
    plot = None
    if chief:
        save_model_atomic(model, run_dir / MODEL_FILENAME)
        checkpoint = _save_run_checkpoint(model, config, model_fn, image_size, train_source, stats, run_dir)
        plot = plot_run(run_dir) if (run_dir / LOG_FILENAME).is_file() else None
        final = history[-1] if history else {}
        results = {
            "final": final,
            "val_top1_accuracy": 1.0 - final["val_top1_error"] if "val_top1_error" in final else None,
            "epochs_run_now": len(history),
            "bad_records": bad,
            "bad_records_report": f"train: {train_source.bad_records.report()}; "
            f"validation: {val_source.bad_records.report()}",
            "seconds": time.time() - started,
            "checkpoint": str(checkpoint) if checkpoint else None,
        }
        save_json_atomic(run_dir / RESULTS_FILENAME, results)
    if config.verbose:
        print(f"train: {train_source.bad_records.report()}; validation: {val_source.bad_records.report()}")
    return TrainResult(model, history, run_dir, bad, effective, plot)


def run_network_record(config: TrainConfig, image_size: int, class_names, stats: PixelStatistics | None):
    """The `NetworkRecord` of a run's weights: its classes by name and the pixel mean its inputs lose.

    The checkpoint's preprocessing is the paper's, minus the training set's per-channel mean (with
    `mean="image"`, the channel mean that the mean image averages to: a checkpoint records three numbers).
    """
    from keras_alexnet.weights.network import NetworkRecord

    mean = (0.0, 0.0, 0.0) if stats is None or config.mean == "none" else tuple(float(v) for v in stats.channel_mean)
    return NetworkRecord(
        variant=config.variant,
        classes=len(class_names),
        input_size=image_size,
        preprocessing="paper",
        categories=f"{config.dataset}:{config.train_split}",
        class_names=tuple(class_names),
        pixel_mean=mean,
    )


def _save_run_checkpoint(model, config, model_fn, image_size, train_source, stats, run_dir: Path) -> Path | None:
    """Write the final weights as `RUN_DIR/checkpoint`: only for AlexNet itself at the variant's own size."""
    if model_fn is not None or image_size != get_variant(config.variant).default_size:
        return None  # a custom or resized network: `AlexNet(weights=...)` could not rebuild it (model.keras can)
    from keras_alexnet.weights.checkpoint import save_checkpoint

    network = run_network_record(config, image_size, train_source.class_names, stats)
    export = keras.Model(model.input, model.output, name=model.name)  # the layers, without the optimizer
    return save_checkpoint(export, run_dir / CHECKPOINT_DIRNAME, network)


def make_optimizer(config: TrainConfig, learning_rate: float) -> keras.optimizers.Optimizer:
    """The run's optimizer (both loops use it): `PaperSGD` with `config`'s momentum, weight decay and biases'
    multipliers, or, with `optimizer="adam"`, AdamW (decoupled weight decay `config.weight_decay`)."""
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate, weight_decay=config.weight_decay or None)
    return PaperSGD(
        learning_rate,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        bias_lr_mult=config.bias_lr_mult,
        bias_decay_mult=config.bias_decay_mult,
    )


def _statistics(config: TrainConfig, source, run_dir: Path, chief: bool) -> PixelStatistics | None:
    if config.mean == "none" and not config.pca_std:
        return None
    if config.stats:
        return PixelStatistics.load(config.stats)
    if (run_dir / STATS_NPZ).is_file():
        return PixelStatistics.load(run_dir)
    stats = compute_statistics(source, side=config.resize)
    if chief:
        stats.save(run_dir)
    return stats


def _run_fit(
    model, optimizer, config, train_source, val_ds, data_kwargs, schedule, steps_per_epoch, resume_from, chief
) -> list[dict]:
    run_dir = Path(config.run_dir)
    backup_dir = run_dir / BACKUP_DIR
    start_epoch = int(resume_from.position["epoch"]) if resume_from is not None else 0
    if resume_from is not None:
        schedule = _restored_schedule(resume_from, run_dir) or schedule
    if config.resume and chief:
        trim_log(run_dir / LOG_FILENAME, start_epoch)  # rows of the epochs that are run again
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=top_k_metrics(),
    )
    if config.epochs <= start_epoch:
        return []
    train_ds = make_epochs_dataset(train_source, start_epoch=start_epoch, end_epoch=config.epochs, **data_kwargs)
    guard = NaNGuard()
    lr_schedule = PaperLRSchedule(schedule, state_dir=run_dir, verbose=config.verbose, restore=False)
    callbacks = [
        guard,
        lr_schedule,
        keras.callbacks.CSVLogger(str(run_dir / LOG_FILENAME), append=config.resume),
        keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), update_freq="epoch"),
    ]
    if config.backups:
        callbacks += [
            AtomicBackupAndRestore(
                WeightsBackup(backup_dir),
                save_freq=config.checkpoint_every or "epoch",
                restore_from=resume_from,
                extra_state=lambda: {"lr_schedule": lr_schedule.state.to_dict()},
            ),
            EpochModelSaver(run_dir / MODEL_FILENAME),
        ]
    keras_history = model.fit(
        train_ds,
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=val_ds,
        callbacks=callbacks,
        verbose=config.verbose,
        shuffle=False,  # the dataset shuffles itself, per (seed, epoch)
    )
    if guard.failure is not None:
        raise TrainingDivergedError(guard.message(backup_dir))
    columns = keras_history.history
    count = len(next(iter(columns.values()))) if columns else 0
    return [{k: float(v[i]) for k, v in columns.items()} for i in range(count)]


def _run_custom(
    model, optimizer, strategy, config, train_source, val_ds, data_kwargs, schedule, steps_per_epoch, chief, resume_from
) -> list[dict]:
    run_dir = Path(config.run_dir)
    loop = CustomLoop(
        model,
        optimizer,
        strategy,
        run_dir / CHECKPOINT_DIR,
        checkpoint_every=config.checkpoint_every,
        schedule=schedule,
        verbose=config.verbose,
        is_chief=chief,
        log_fn=_epoch_logger(run_dir, append=config.resume) if chief else None,
    )
    if resume_from is not None:
        loop.restore(resume_from)
        if config.verbose:
            print(
                f"Resumed from {resume_from.path} (epoch {int(loop.epoch.numpy()) + 1}, "
                f"step {int(loop.step_in_epoch.numpy())} of that epoch)"
            )
    if config.resume and chief:
        trim_log(run_dir / LOG_FILENAME, int(loop.epoch.numpy()))  # rows of the epochs that are run again

    def dataset_fn(epoch: int):
        return make_train_dataset(train_source, epoch=epoch, **data_kwargs)

    return loop.fit(
        dataset_fn,
        config.epochs,
        data_kwargs["batch_size"],
        validation_data=val_ds,
        steps_per_epoch=steps_per_epoch,
    )


def _restored_schedule(choice, run_dir: Path) -> PlateauState | None:
    """The learning-rate rule's state saved with the checkpoint (earlier versions: `lr_schedule.json`)."""
    if "lr_schedule" in choice.position:
        return PlateauState.from_dict(choice.position["lr_schedule"])
    path = run_dir / LR_STATE_FILENAME
    return PlateauState.from_dict(json.loads(path.read_text())) if path.is_file() else None


def trim_log(path: Path, start_epoch: int) -> None:
    """Drop the rows of `log.csv` for epochs >= `start_epoch` (written before a crash, run again now)."""
    if not path.is_file():
        return
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        rows = list(reader)

    def epoch_of(row) -> float:
        try:
            return float(row.get("epoch") or "nan")
        except ValueError:
            return float("nan")

    kept = [row for row in rows if epoch_of(row) < start_epoch]
    if len(kept) == len(rows):
        return

    def write(file) -> None:
        text = io.StringIO(newline="")
        out = csv.DictWriter(text, fieldnames=fields)
        out.writeheader()
        out.writerows(kept)
        file.write(text.getvalue().encode())

    write_file_atomic(path, write)


def _epoch_logger(run_dir: Path, append: bool):
    """A `log_fn(epoch, logs)` writing log.csv rows (Keras CSVLogger's columns) and TensorBoard scalars."""
    path = run_dir / LOG_FILENAME
    if not append and path.exists():
        path.unlink()
    writer = tf.summary.create_file_writer(str(run_dir / "tensorboard" / "train"))

    def log(epoch: int, logs: dict) -> None:
        new = not path.exists()
        with open(path, "a", newline="") as f:
            out = csv.DictWriter(f, fieldnames=list(LOG_COLUMNS), extrasaction="ignore")
            if new:
                out.writeheader()
            out.writerow({"epoch": epoch, **logs})
        with writer.as_default():
            for key, value in logs.items():
                tf.summary.scalar(f"epoch_{key}", value, step=epoch)
        writer.flush()

    return log
