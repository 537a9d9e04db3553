"""LocalResponseNormalization against independent references: NumPy formulas, PyTorch, ONNX Runtime."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_alexnet.layers import LocalResponseNormalization

RTOL = 1e-5


def numpy_lrn(x: np.ndarray, size: int, k: float, alpha: float, beta: float, average: bool) -> np.ndarray:
    """The formula written out channel by channel (channels last), in float64.

    Window of channel c: [c - (size-1)//2, c + size//2], clipped to the valid channels.
    """
    x = x.astype(np.float64)
    channels = x.shape[-1]
    out = np.empty_like(x)
    scale_alpha = alpha / size if average else alpha
    for c in range(channels):
        lo, hi = max(0, c - (size - 1) // 2), min(channels - 1, c + size // 2)
        total = np.sum(x[..., lo : hi + 1] ** 2, axis=-1)
        out[..., c] = x[..., c] / (k + scale_alpha * total) ** beta
    return out


def _random_input(rng, shape=(2, 5, 6, 11), scale=20.0):
    # Large activations so that the alpha * sum term matters (not just ~x / k**beta).
    return (rng.standard_normal(shape) * scale).astype(np.float32)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("average", [False, True])
def test_matches_numpy_formula(rng, size, average):
    x = _random_input(rng)
    layer = LocalResponseNormalization(size=size, k=2.0, alpha=1e-3, beta=0.75, average=average)
    expected = numpy_lrn(x, size, 2.0, 1e-3, 0.75, average)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=RTOL, atol=1e-6)


def test_edge_channels_use_clipped_window(rng):
    # With 5 channels and size 5, channel 0 sees channels 0..2 only, channel 4 sees 2..4.
    x = _random_input(rng, shape=(1, 1, 1, 5), scale=50.0)
    layer = LocalResponseNormalization(size=5, k=1.0, alpha=1e-2, beta=0.5)
    y = layer(x).numpy()[0, 0, 0]
    x = x[0, 0, 0].astype(np.float64)
    assert y[0] == pytest.approx(x[0] / np.sqrt(1 + 1e-2 * np.sum(x[0:3] ** 2)), rel=RTOL)
    assert y[4] == pytest.approx(x[4] / np.sqrt(1 + 1e-2 * np.sum(x[2:5] ** 2)), rel=RTOL)
    assert y[2] == pytest.approx(x[2] / np.sqrt(1 + 1e-2 * np.sum(x**2)), rel=RTOL)


def test_paper_and_caffe_constants_differ_as_documented(rng):
    x = _random_input(rng, scale=100.0)
    paper = LocalResponseNormalization(size=5, k=2.0, alpha=1e-4, beta=0.75, average=False)(x).numpy()
    caffe = LocalResponseNormalization(size=5, k=1.0, alpha=1e-4, beta=0.75, average=True)(x).numpy()
    np.testing.assert_allclose(paper, numpy_lrn(x, 5, 2.0, 1e-4, 0.75, False), rtol=RTOL)
    np.testing.assert_allclose(caffe, numpy_lrn(x, 5, 1.0, 1e-4, 0.75, True), rtol=RTOL)
    assert not np.allclose(paper, caffe, rtol=1e-3)


@pytest.mark.parametrize("size", [3, 4, 5])
def test_channels_first_matches_channels_last(rng, size):
    x = _random_input(rng)
    last = LocalResponseNormalization(size=size, alpha=1e-3, data_format="channels_last")(x).numpy()
    first = LocalResponseNormalization(size=size, alpha=1e-3, data_format="channels_first")(
        np.transpose(x, (0, 3, 1, 2))
    ).numpy()
    np.testing.assert_allclose(np.transpose(first, (0, 2, 3, 1)), last, rtol=RTOL)


def _tf_native_lrn(layer):
    """TensorFlow's own LRN kernel with the layer's constants: an independent reference (odd sizes)."""
    return lambda t: tf.nn.local_response_normalization(
        t, depth_radius=(layer.size - 1) // 2, bias=layer.k, alpha=layer.effective_alpha, beta=layer.beta
    )


def test_native_and_generic_paths_agree(rng):
    x = _random_input(rng)
    layer = LocalResponseNormalization(size=5, k=1.0, alpha=1e-3, average=True)
    np.testing.assert_allclose(_tf_native_lrn(layer)(tf.constant(x)), layer._call_generic(tf.constant(x)), rtol=RTOL)


@pytest.mark.parametrize("size", [3, 5])
@pytest.mark.parametrize("k,alpha,beta", [(2.0, 1e-4, 0.75), (1.0, 1e-4, 0.75), (0.5, 3e-3, 0.6)])
def test_matches_torch_local_response_norm(rng, size, k, alpha, beta):
    torch = pytest.importorskip("torch")
    x = _random_input(rng, shape=(2, 4, 5, 13), scale=30.0)
    reference = torch.nn.LocalResponseNorm(size, alpha=alpha, beta=beta, k=k)(
        torch.from_numpy(np.transpose(x, (0, 3, 1, 2)))
    )
    ours = LocalResponseNormalization(size=size, k=k, alpha=alpha, beta=beta, average=True)(x).numpy()
    np.testing.assert_allclose(ours, np.transpose(reference.numpy(), (0, 2, 3, 1)), rtol=RTOL, atol=1e-6)


@pytest.mark.parametrize("size", [2, 4, 6])
def test_even_sizes_match_torch_up_to_window_side(rng, size):
    """PyTorch puts the extra channel of an even window before c, ONNX/Caffe (and we) after c.

    Reversing the channel order swaps the sides, so torch(x) == flip(ours(flip(x))).
    """
    torch = pytest.importorskip("torch")
    x = _random_input(rng, shape=(2, 3, 4, 9), scale=30.0)
    reference = torch.nn.LocalResponseNorm(size, alpha=1e-3, beta=0.75, k=1.0)(
        torch.from_numpy(np.transpose(x, (0, 3, 1, 2)))
    ).numpy()
    layer = LocalResponseNormalization(size=size, k=1.0, alpha=1e-3, beta=0.75, average=True)
    ours = layer(x[..., ::-1].copy()).numpy()[..., ::-1]
    np.testing.assert_allclose(ours, np.transpose(reference, (0, 2, 3, 1)), rtol=RTOL, atol=1e-6)


def _onnx_lrn_model(shape, size, alpha, beta, bias):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    node = helper.make_node("LRN", ["x"], ["y"], size=size, alpha=alpha, beta=beta, bias=bias)
    graph = helper.make_graph(
        [node],
        "lrn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    return model


@pytest.mark.parametrize("size", [1, 3, 5, 7])
def test_matches_onnxruntime_lrn(rng, size):
    ort = pytest.importorskip("onnxruntime")
    x = _random_input(rng, shape=(2, 10, 4, 5), scale=30.0)  # NCHW for ONNX
    model = _onnx_lrn_model(x.shape, size, alpha=2e-3, beta=0.75, bias=1.5)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    reference = session.run(None, {"x": x})[0]
    layer = LocalResponseNormalization(
        size=size, k=1.5, alpha=2e-3, beta=0.75, average=True, data_format="channels_first"
    )
    np.testing.assert_allclose(layer(x).numpy(), reference, rtol=RTOL, atol=1e-6)


@pytest.mark.parametrize("size", [2, 4, 5, 6])
def test_matches_onnx_reference_evaluator_including_even_sizes(rng, size):
    """ONNX Runtime's CPU LRN only takes odd sizes; ONNX's own reference evaluator takes any.

    onnx 1.23's reference LRN loops over `range(x.shape[0])` (the batch) instead of the channels,
    so the batch is made as large as the channel count for it to visit every channel.
    """
    reference_module = pytest.importorskip("onnx.reference")
    x = _random_input(rng, shape=(10, 10, 2, 3), scale=30.0)
    model = _onnx_lrn_model(x.shape, size, alpha=2e-3, beta=0.75, bias=1.5)
    reference = reference_module.ReferenceEvaluator(model).run(None, {"x": x})[0]
    layer = LocalResponseNormalization(
        size=size, k=1.5, alpha=2e-3, beta=0.75, average=True, data_format="channels_first"
    )
    np.testing.assert_allclose(layer(x).numpy(), reference, rtol=RTOL, atol=1e-6)


@pytest.mark.parametrize("size", [4, 5])
def test_gradient_matches_finite_differences(rng, size):
    x = tf.constant(_random_input(rng, shape=(1, 2, 2, 7), scale=10.0), dtype=tf.float64)
    layer = LocalResponseNormalization(size=size, k=1.0, alpha=1e-2, beta=0.75, dtype="float64")
    theoretical, numerical = tf.test.compute_gradient(lambda t: layer(t), [x], delta=1e-4)
    np.testing.assert_allclose(theoretical[0], numerical[0], rtol=1e-4, atol=1e-6)


def test_native_gradient_matches_generic_gradient(rng):
    x = tf.constant(_random_input(rng))
    layer = LocalResponseNormalization(size=5, k=2.0, alpha=1e-3, beta=0.75)
    grads = []
    for fn in (_tf_native_lrn(layer), layer._call_generic):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(fn(x) * tf.sin(x))
        grads.append(tape.gradient(y, x).numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-6)


def test_config_round_trip_and_registration(rng):
    layer = LocalResponseNormalization(size=3, k=1.0, alpha=2e-4, beta=0.5, average=True, name="norm")
    config = layer.get_config()
    clone = LocalResponseNormalization.from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, LocalResponseNormalization)
    assert restored.get_config() == config
    x = _random_input(rng)
    np.testing.assert_array_equal(layer(x).numpy(), restored(x).numpy())


@pytest.mark.parametrize(
    "kwargs",
    [dict(size=0), dict(size=2.5), dict(k=-1.0), dict(alpha=-1e-4), dict(data_format="nhwc")],
)
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError, match="Received:"):
        LocalResponseNormalization(**kwargs)


def test_bfloat16_input_runs_in_float32(rng):
    x = _random_input(rng)
    layer = LocalResponseNormalization(size=5, alpha=1e-3, dtype="mixed_bfloat16")
    y = layer(tf.constant(x, dtype=tf.bfloat16))
    assert y.dtype == tf.bfloat16
    np.testing.assert_allclose(
        tf.cast(y, tf.float32).numpy(), numpy_lrn(x, 5, 2.0, 1e-3, 0.75, False), rtol=2e-2, atol=2e-2
    )


_OTHER_BACKEND_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import keras
    from keras_alexnet.layers import LocalResponseNormalization
    x = np.asarray(json.loads(sys.stdin.read()), dtype="float32")
    out = {}
    for size in (4, 5):
        layer = LocalResponseNormalization(size=size, k=1.0, alpha=1e-3, beta=0.75, average=True)
        out[size] = keras.ops.convert_to_numpy(layer(x)).tolist()
    print(json.dumps({"backend": keras.backend.backend(), "out": out}))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("backend,module", [("torch", "torch"), ("jax", "jax")])
def test_runs_on_other_keras_backends(rng, backend, module):
    pytest.importorskip(module)
    x = _random_input(rng, shape=(1, 2, 3, 8))
    env = dict(os.environ, KERAS_BACKEND=backend)
    result = subprocess.run(
        [sys.executable, "-c", _OTHER_BACKEND_SCRIPT],
        input=json.dumps(x.tolist()),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["backend"] == backend
    for size in (4, 5):
        expected = numpy_lrn(x, size, 1.0, 1e-3, 0.75, True)
        np.testing.assert_allclose(np.array(payload["out"][str(size)]), expected, rtol=RTOL, atol=1e-6)
