"""Depth ablation (paper Section 7): AlexNet(remove=...) keeps the network consistent."""

from __future__ import annotations

import numpy as np
import pytest

import keras_alexnet
from keras_alexnet.models.variants import get_variant


@pytest.mark.parametrize("layer", ["conv1", "conv2", "conv3", "conv4", "conv5"])
def test_geometry_is_kept_and_layer_is_gone(layer):
    full = keras_alexnet.AlexNet(include_top=False, input_shape=(227, 227, 3))
    model = keras_alexnet.AlexNet(include_top=False, input_shape=(227, 227, 3), remove=(layer,))
    names = [lyr.name for lyr in model.layers]
    assert layer not in names
    assert f"norm{layer[-1]}" not in names
    assert model.output.shape[1:3] == full.output.shape[1:3] == (6, 6)
    expected_channels = 384 if layer == "conv5" else 256
    assert model.output.shape[-1] == expected_channels
    assert model.name == f"alexnet_no_{layer}"
    assert model.count_params() < full.count_params()


def test_top_keeps_fc6_input_size_and_predicts():
    model = keras_alexnet.AlexNet(remove=("conv3",))
    assert tuple(model.get_layer("fc6").kernel.shape) == (9216, 4096)
    assert tuple(model.get_layer("conv4").kernel.shape) == (3, 3, 128, 384)  # 256 inputs, two towers
    assert model.predict(np.zeros((1, 227, 227, 3)), verbose=0).shape == (1, 1000)


def test_removing_conv1_makes_conv2_single_tower_and_average_pools_the_image(rng):
    model = keras_alexnet.AlexNet(include_top=False, input_shape=(227, 227, 3), remove=["conv1"])
    assert model.get_layer("conv2").groups == 1
    assert tuple(model.get_layer("conv2").kernel.shape) == (5, 5, 3, 256)
    x = rng.normal(size=(1, 227, 227, 3)).astype("float32")
    import keras

    probe = keras.Model(model.input, model.get_layer("conv1_removed").output)
    got = probe(x).numpy()[0]
    # Independent reference: mean over each 11x11 window with stride 4 (NumPy).
    windows = np.lib.stride_tricks.sliding_window_view(x[0], (11, 11), axis=(0, 1))[::4, ::4]
    np.testing.assert_allclose(got, windows.mean(axis=(-2, -1)), rtol=1e-5, atol=1e-5)


def test_torchvision_conv1_removal_keeps_padding_geometry():
    model = keras_alexnet.AlexNet(variant="torchvision", remove="conv1")
    assert model.get_layer("conv1_removed").output.shape[1:3] == (55, 55)
    assert tuple(model.get_layer("fc6").kernel.shape) == (9216, 4096)


def test_ablation_plan_records_what_was_removed():
    stages = get_variant("original").ablation(["conv2", "conv4"])
    assert [s.removed for s in stages] == [False, True, False, True, False]
    assert [s.spec.groups for s in stages] == [1, 2, 1, 2, 2]


@pytest.mark.parametrize("remove", [("fc6",), ("conv3", "conv3"), ("Conv3",)])
def test_bad_remove_names_raise(remove):
    with pytest.raises(ValueError, match=r"remove.*conv1.*Received: remove="):
        keras_alexnet.AlexNet(include_top=False, remove=remove)


def test_remove_with_pretrained_weights_raises(tmp_path):
    path = tmp_path / "w.weights.h5"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="weights=None.*Received: remove="):
        keras_alexnet.AlexNet(weights=str(path), remove=("conv4",))
