"""GroupedConv2D: both implementations against each other, NumPy per-tower convolution, PyTorch and ONNX Runtime."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_alexnet.layers import GroupedConv2D

RTOL = 1e-5


def _build(implementation, filters=8, kernel_size=3, groups=2, padding="same", strides=1, channels=6, seed=0):
    layer = GroupedConv2D(
        filters, kernel_size, groups=groups, padding=padding, strides=strides, implementation=implementation
    )
    layer.build((None, 9, 9, channels))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.standard_normal(w.shape).astype("float32") for w in layer.weights])
    return layer


def numpy_tower_conv(x, kernel, bias, groups, stride=1):
    """Valid convolution of each tower separately, concatenated: the paper's two-GPU layout."""
    n, h, w, c = x.shape
    kh, kw, cin_g, cout = kernel.shape
    cout_g = cout // groups
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    out = np.zeros((n, oh, ow, cout))
    for g in range(groups):
        xg = x[..., g * cin_g : (g + 1) * cin_g].astype(np.float64)
        kg = kernel[..., g * cout_g : (g + 1) * cout_g].astype(np.float64)
        for i in range(oh):
            for j in range(ow):
                patch = xg[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
                out[:, i, j, g * cout_g : (g + 1) * cout_g] = np.tensordot(patch, kg, axes=([1, 2, 3], [0, 1, 2]))
    return out + bias


@pytest.mark.parametrize("groups", [1, 2, 3])
@pytest.mark.parametrize("padding,strides", [("same", 1), ("valid", 1), ("valid", 2)])
def test_fused_and_split_give_identical_outputs_and_gradients(rng, groups, padding, strides):
    fused = _build("fused", filters=6, groups=groups, padding=padding, strides=strides)
    split = _build("split", filters=6, groups=groups, padding=padding, strides=strides)
    x = tf.constant(rng.standard_normal((2, 9, 9, 6)).astype("float32"))
    results = []
    for layer in (fused, split):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * tf.cos(y))
        grads = tape.gradient(loss, [x, layer.kernel, layer.bias])
        results.append((y.numpy(), [g.numpy() for g in grads]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=RTOL, atol=1e-5)
    for g_fused, g_split in zip(results[0][1], results[1][1], strict=True):
        np.testing.assert_allclose(g_fused, g_split, rtol=1e-4, atol=1e-4)


def test_kernel_layout_matches_keras_grouped_conv2d(rng):
    ours = _build("split", filters=8, groups=2)
    keras_conv = keras.layers.Conv2D(8, 3, padding="same", groups=2)
    keras_conv.build((None, 9, 9, 6))
    assert tuple(ours.kernel.shape) == tuple(keras_conv.kernel.shape) == (3, 3, 3, 8)
    keras_conv.set_weights(ours.get_weights())
    x = rng.standard_normal((1, 9, 9, 6)).astype("float32")
    np.testing.assert_allclose(ours(x).numpy(), keras_conv(x).numpy(), rtol=RTOL, atol=1e-5)


@pytest.mark.parametrize("implementation", ["fused", "split"])
def test_matches_numpy_two_tower_reference(rng, implementation):
    layer = _build(implementation, filters=4, kernel_size=3, groups=2, padding="valid", strides=2)
    x = rng.standard_normal((2, 9, 9, 6)).astype("float32")
    kernel, bias = layer.get_weights()
    expected = numpy_tower_conv(x, kernel, bias, groups=2, stride=2)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("implementation", ["fused", "split"])
def test_matches_torch_grouped_conv(rng, implementation):
    torch = pytest.importorskip("torch")
    layer = _build(implementation, filters=8, kernel_size=5, groups=2, padding="same", channels=6)
    kernel, bias = layer.get_weights()
    x = rng.standard_normal((2, 9, 9, 6)).astype("float32")
    reference = torch.nn.functional.conv2d(
        torch.from_numpy(x.transpose(0, 3, 1, 2)),
        torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()),  # HWIO -> OIHW
        torch.from_numpy(bias),
        padding=2,
        groups=2,
    )
    np.testing.assert_allclose(layer(x).numpy(), reference.numpy().transpose(0, 2, 3, 1), rtol=RTOL, atol=2e-5)


def test_matches_onnxruntime_grouped_conv(rng):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    layer = _build("split", filters=8, kernel_size=3, groups=2, padding="same", channels=6)
    kernel, bias = layer.get_weights()
    x = rng.standard_normal((2, 9, 9, 6)).astype("float32")
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], group=2, pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    graph = helper.make_graph(
        [node],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6, 9, 9])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8, 9, 9])],
        initializer=[
            numpy_helper.from_array(kernel.transpose(3, 2, 0, 1).copy(), "w"),
            numpy_helper.from_array(bias, "b"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    reference = session.run(None, {"x": x.transpose(0, 3, 1, 2)})[0]
    np.testing.assert_allclose(layer(x).numpy(), reference.transpose(0, 2, 3, 1), rtol=RTOL, atol=2e-5)


def test_config_round_trip():
    layer = GroupedConv2D(8, 3, groups=2, implementation="fused", padding="same", name="conv2")
    config = layer.get_config()
    assert config["groups"] == 2 and config["implementation"] == "fused"
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, GroupedConv2D)
    assert restored.get_config() == config


def test_bad_implementation_raises():
    with pytest.raises(ValueError, match="Received: implementation='cuda'"):
        GroupedConv2D(8, 3, implementation="cuda")


def test_channels_not_divisible_by_groups_raises():
    with pytest.raises(ValueError):
        GroupedConv2D(8, 3, groups=3).build((None, 9, 9, 4))
