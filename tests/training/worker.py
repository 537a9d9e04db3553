"""A training process for the distribution and resume tests (run as a subprocess).

Usage: python tests/training/worker.py '{"config": {...}, "out": "weights.npz", "logical_cpus": 2}'

`logical_cpus` splits the CPU into that many logical devices before TensorFlow starts
(MirroredStrategy over CPUs). `sigkill_after_steps` (optional) makes the process SIGKILL itself
after that many training steps (`tests/fixtures/faults.py`). The model is a tiny convnet without dropout, initialised
from fixed seeds, so every process starts from the same weights.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(TESTS))
sys.path.insert(0, TESTS)  # tests/fixtures


def tiny_model(num_classes: int, image_size: int):
    import keras

    init = keras.initializers.GlorotUniform
    return keras.Sequential(
        [
            keras.Input((image_size, image_size, 3)),
            keras.layers.Conv2D(4, 3, strides=2, activation="relu", kernel_initializer=init(seed=1)),
            keras.layers.Flatten(),
            keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=init(seed=2)),
        ]
    )


def main() -> None:
    args = json.loads(sys.argv[1])
    import numpy as np
    import tensorflow as tf

    if args.get("logical_cpus"):
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(args["logical_cpus"])]
        )
    from keras_alexnet.training import TrainConfig, train

    if args.get("sigkill_after_steps"):
        from fixtures.faults import sigkill_after_steps

        sigkill_after_steps(args["sigkill_after_steps"])
    result = train(TrainConfig(**args["config"]), model_fn=tiny_model)
    np.savez(args["out"], *result.model.get_weights())
    with open(args["out"] + ".json", "w") as f:
        json.dump({"history": result.history, "derived": result.effective_config["derived"]}, f, default=str)


if __name__ == "__main__":
    main()
