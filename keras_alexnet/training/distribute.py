"""Choosing a `tf.distribute` strategy and scaling the batch and learning rate.

- "none": the default (single-device) strategy.
- "mirrored": `tf.distribute.MirroredStrategy` over the local GPUs (without GPUs,
  over the logical CPU devices configured before TensorFlow starts).
- "multiworker": `tf.distribute.MultiWorkerMirroredStrategy`, configured from the
  `TF_CONFIG` environment variable (cluster + task), see docs/training.md.
- "auto": "multiworker" if `TF_CONFIG` names more than one worker, "mirrored" if
  there is more than one GPU, else "none".

Batch and learning rate: `batch_size` is per replica; the global batch is
`batch_size * replicas`. The learning rate follows the linear scaling rule
(Goyal et al. 2017), `lr = base_lr * global_batch / 128`, 128 being the paper's
batch, so a single replica with batch 128 uses exactly the paper's 0.01.
`lr_scaling="none"` keeps `base_lr`.

Example:

>>> from keras_alexnet.training.distribute import scaled_learning_rate
>>> scaled_learning_rate(0.01, global_batch=256)
0.02
"""

from __future__ import annotations

import json
import os

STRATEGIES = ("auto", "none", "mirrored", "multiworker")
LR_SCALINGS = ("linear", "none")
REFERENCE_BATCH = 128


def scaled_learning_rate(base_lr: float, global_batch: int, rule: str = "linear") -> float:
    """The learning rate for `global_batch` under `rule` ("linear" or "none")."""
    if rule not in LR_SCALINGS:
        raise ValueError(f"`lr_scaling` must be one of {LR_SCALINGS}. Received: lr_scaling={rule!r}")
    return base_lr * global_batch / REFERENCE_BATCH if rule == "linear" else base_lr


def tf_config_workers() -> int:
    """Number of workers named in `TF_CONFIG` (0 if unset)."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 0
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}). Received: TF_CONFIG={raw!r}") from error
    cluster = config.get("cluster", {})
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def make_strategy(name: str = "auto"):
    """The `tf.distribute.Strategy` for `name` (see the module docstring)."""
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={name!r}")
    if name == "auto":
        if tf_config_workers() > 1:
            name = "multiworker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "none"
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if not tf.config.list_logical_devices("GPU") and len(tf.config.list_logical_devices("CPU")) > 1:
            # No GPU but several logical CPUs (configured before TF started, e.g. in tests): mirror over them.
            return tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
        return tf.distribute.MirroredStrategy()
    if tf_config_workers() < 1:
        raise ValueError(
            "--strategy multiworker needs TF_CONFIG with the cluster's workers and this task, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}. '
            "Received: TF_CONFIG unset"
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_multi_worker(strategy) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy) -> bool:
    """True on the worker that writes logs and final artifacts (worker 0 / chief)."""
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    return resolver.task_type in ("chief", None) or (
        resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()
    )
