"""Fine-tuning: start from any AlexNet weights, replace the classifier for N classes, train with `fit`.

The network is `keras_alexnet.AlexNet(weights=...)` (a registered name such as
"imagenet", an `hf://` URI, a checkpoint directory, a `.keras` file, or a
`.weights.h5` file with `variant=`); its `predictions` layer is replaced by a
new N-way softmax layer (N = the dataset's classes); `freeze="conv"` (the
default) freezes the five convolutional layers, `"all"` everything but the new
classifier (a linear probe), `"none"` nothing. Images get the
weights' own preprocessing ("caffe" for the BVLC weights, "torch" for the
torchvision ones) plus the paper's random crops and flips; `PaperSGD` with
momentum and weight decay trains the unfrozen layers. The result is evaluated
(centre crop and ten-crop, top-1/top-5) and saved three ways, all loadable:

    finetuned.keras          keras.saving.load_model(path) / AlexNet(weights=path, classes=N)
    finetuned.weights.h5     AlexNet(weights=path, variant=..., classes=N)
    checkpoint/              AlexNet(weights=dir, classes=N) (keras_alexnet checkpoint with model card)

Example:

>>> from keras_alexnet.training.finetune import replace_classifier
>>> import keras_alexnet
>>> model = replace_classifier(keras_alexnet.AlexNet(), 10, freeze="conv")
>>> model.output_shape, model.get_layer("conv1").trainable, model.get_layer("fc6").trainable
((None, 10), False, True)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import keras

from keras_alexnet.data import evaluate_top_k, make_eval_dataset
from keras_alexnet.data.pipelines import make_epochs_dataset
from keras_alexnet.training.config import FREEZE_OPTIONS, FinetuneConfig, save_json_atomic
from keras_alexnet.training.metrics import top_k_metrics
from keras_alexnet.training.optimizer import PaperSGD


def replace_classifier(model: keras.Model, classes: int, freeze: str = "conv", seed: int = 0) -> keras.Model:
    """`model` (AlexNet with its top) with a new `classes`-way softmax `predictions` layer."""
    if freeze not in FREEZE_OPTIONS:
        raise ValueError(f"`freeze` must be one of {FREEZE_OPTIONS}. Received: freeze={freeze!r}")
    if not isinstance(classes, int) or classes < 1:
        raise ValueError(f"`classes` must be a positive integer. Received: classes={classes!r}")
    names = [layer.name for layer in model.layers]
    if "predictions" not in names:
        raise ValueError(
            f"Fine-tuning needs AlexNet with its top (include_top=True). Received: a model with layers {names[-3:]}"
        )
    features = model.get_layer("predictions").input
    head = keras.layers.Dense(
        classes,
        activation="softmax",
        name="predictions",
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.01, seed=seed),
    )
    new_model = keras.Model(model.input, head(features), name=model.name)
    for layer in new_model.layers:
        frozen = freeze == "all" and layer is not head or freeze == "conv" and layer.name.startswith("conv")
        layer.trainable = not frozen
    return new_model


def finetune(config: FinetuneConfig) -> dict:
    """Fine-tune as `config` says; returns the results dict (also saved as `results.json`)."""
    from keras_alexnet.applications import AlexNet
    from keras_alexnet.models.variants import get_variant
    from keras_alexnet.pretrained import resolve_weights
    from keras_alexnet.training.checkpoints import save_model_atomic
    from keras_alexnet.weights.checkpoint import save_checkpoint
    from keras_alexnet.weights.network import NetworkRecord

    started = time.time()
    run_dir = Path(config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    resolved = resolve_weights(config.weights)
    network = resolved.network
    variant = network.variant if network else (config.variant or "original")
    preprocessing = network.preprocessing if network else get_variant(variant).preprocessing
    train_source, val_source = config.load_sources()
    classes = train_source.num_classes

    base = AlexNet(
        weights=config.weights,
        variant=config.variant if network is None else None,
        classes=network.classes if network else _classes_in(config.weights, variant),
    )
    model = replace_classifier(base, classes, config.freeze, config.seed)
    image_size = get_variant(variant).default_size
    model.compile(
        optimizer=PaperSGD(config.learning_rate, momentum=config.momentum, weight_decay=config.weight_decay),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=top_k_metrics(),
    )
    steps = max(1, (train_source.num_examples or config.batch_size) // config.batch_size)
    train_ds = make_epochs_dataset(
        train_source,
        end_epoch=config.epochs,
        batch_size=config.batch_size,
        image_size=image_size,
        normalization=network or preprocessing,
        pca_std=0.0,
        seed=config.seed,
        shuffle_buffer=10_000,
    )
    val_center = make_eval_dataset(
        val_source, batch_size=config.batch_size, image_size=image_size, normalization=network or preprocessing
    )
    history = model.fit(
        train_ds,
        epochs=config.epochs,
        steps_per_epoch=steps,
        validation_data=val_center,
        callbacks=[_LearningRateLogger(), keras.callbacks.CSVLogger(str(run_dir / "log.csv"))],
        verbose=config.verbose,
        shuffle=False,
    )
    results = {
        "weights": str(config.weights),
        "dataset": config.dataset,
        "classes": classes,
        "class_names": train_source.class_names,
        "freeze": config.freeze,
        "epochs": config.epochs,
        "history": {k: [float(x) for x in v] for k, v in history.history.items()},
        "center_crop": evaluate_top_k(model, val_center).to_dict(),
    }
    if config.ten_crop:
        val_ten = make_eval_dataset(
            val_source,
            batch_size=max(1, config.batch_size // 10),
            image_size=image_size,
            crops="ten",
            normalization=network or preprocessing,
        )
        results["ten_crop"] = evaluate_top_k(model, val_ten).to_dict()
    for layer in model.layers:
        layer.trainable = True  # saved weights load into a plain AlexNet
    # Saved without the optimizer (a fresh functional wrapper over the same layers, not compiled).
    export = keras.Model(model.input, model.output, name=model.name)
    save_model_atomic(export, run_dir / "finetuned.keras")
    save_model_atomic(export, run_dir / "finetuned.weights.h5")
    record = NetworkRecord(
        variant=variant,
        classes=classes,
        lrn=network.lrn if network else None,
        preprocessing=preprocessing,
        categories=f"{config.dataset}:{config.train_split}",
        class_names=tuple(train_source.class_names),
        pixel_mean=network.pixel_mean if network else None,
    )
    save_checkpoint(export, run_dir / "checkpoint", record)
    results["bad_records"] = train_source.bad_records.count + val_source.bad_records.count
    results["seconds"] = time.time() - started
    results["outputs"] = {
        name: str(run_dir / name) for name in ("finetuned.keras", "finetuned.weights.h5", "checkpoint")
    }
    save_json_atomic(run_dir / "results.json", results)
    return results


class _LearningRateLogger(keras.callbacks.Callback):
    """Put the optimizer's learning rate into the epoch logs (for log.csv and `keras-alexnet plot`)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


def _classes_in(weights: str | os.PathLike, variant: str) -> int:
    """The class count of a bare `.keras` / `.weights.h5` file (its `predictions` kernel)."""
    path = Path(weights)
    if path.suffix == ".keras":
        source = keras.saving.load_model(path, compile=False)
        return int(source.get_layer("predictions").units)
    from keras_alexnet.weights.loading import weights_file_shapes

    shapes = [s for s in weights_file_shapes(path) if len(s) == 1]
    return int(shapes[-1][0]) if shapes else 1000
