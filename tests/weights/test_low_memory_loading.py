"""Loading weights without the random draw and with block-wise assignment: same weights, same configs."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_alexnet import AlexNet
from keras_alexnet.weights.checkpoint import save_checkpoint
from keras_alexnet.weights.loading import chunked_assignment
from keras_alexnet.weights.network import NetworkRecord


def test_checkpoint_loads_the_same_weights_as_keras_load_weights(tmp_path):
    source = AlexNet(variant="torchvision")
    checkpoint = save_checkpoint(source, tmp_path / "ckpt", NetworkRecord(variant="torchvision"))
    loaded = AlexNet(weights=checkpoint)
    reference = AlexNet(variant="torchvision")  # Keras' own loader, into a randomly initialised model
    first_task_layer = [layer.name for layer in reference.layers].index("flatten")
    backbone, task = reference.layers[:first_task_layer], reference.layers[first_task_layer:]
    keras.saving.load_weights(reference, checkpoint / "model.weights.h5", objects_to_skip=task)
    keras.saving.load_weights(reference, checkpoint / "task.weights.h5", objects_to_skip=backbone)
    for ours, theirs, original in zip(loaded.weights, reference.weights, source.weights, strict=True):
        assert ours.path == theirs.path
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        np.testing.assert_array_equal(ours.numpy(), original.numpy())


def test_placeholder_init_keeps_the_layers_initializers_in_their_configs(tmp_path):
    source = AlexNet(variant="torchvision")
    checkpoint = save_checkpoint(source, tmp_path / "ckpt", NetworkRecord(variant="torchvision"))
    loaded, fresh = AlexNet(weights=checkpoint), AlexNet(variant="torchvision", weights=None)
    for a, b in zip(loaded.layers, fresh.layers, strict=True):
        assert a.get_config() == b.get_config()
    assert np.std(fresh.get_layer("fc6").kernel.numpy()) > 0  # weights=None still draws random weights


@pytest.mark.parametrize("source", ["numpy", "h5py"])
def test_chunked_assignment_copies_in_blocks_and_restores_assign(tmp_path, monkeypatch, source):
    import h5py

    layer = keras.layers.Dense(64)
    model = keras.Sequential([keras.Input((300,)), layer])
    whole = []  # calls of Keras' own Variable.assign (the whole-array path)
    keras_assign = type(layer.kernel).assign
    monkeypatch.setattr(type(layer.kernel), "assign", lambda self, v: whole.append(v.shape) or keras_assign(self, v))
    value = np.random.default_rng(0).normal(size=(300, 64)).astype("float32")
    with h5py.File(tmp_path / "v.h5", "w") as f:
        f["kernel"] = value
    with h5py.File(tmp_path / "v.h5", "r") as f, chunked_assignment(model, chunk_bytes=4096, min_bytes=1):
        assert "assign" in vars(layer.kernel)  # patched for the block
        layer.kernel.assign(value if source == "numpy" else f["kernel"])
        assert whole == []  # copied block by block, not through Keras' whole-array assign
        with pytest.raises(ValueError, match="must match"):  # a wrong shape still gets Keras' own error
            layer.kernel.assign(np.zeros((3, 64), "float32"))
    assert "assign" not in vars(layer.kernel)
    np.testing.assert_array_equal(layer.kernel.numpy(), value)


def test_chunked_assignment_of_a_convolution_kernel():
    layer = keras.layers.Conv2D(8, 3)
    keras.Sequential([keras.Input((9, 9, 5)), layer])
    value = np.random.default_rng(1).normal(size=(3, 3, 5, 8)).astype("float32")
    with chunked_assignment(layer, chunk_bytes=200, min_bytes=1):  # blocks of one kernel row
        layer.kernel.assign(value)
    np.testing.assert_array_equal(layer.kernel.numpy(), value)
