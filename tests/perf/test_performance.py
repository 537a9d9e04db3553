"""The speed options: the dtype policy path, compiled prediction, the two-tower implementations, threads."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import keras_alexnet
from keras_alexnet.layers import GroupedConv2D
from keras_alexnet.performance import (
    compiled_predict,
    configure_threads,
    cpu_supports_bf16,
    dtype_policy_scope,
    resolve_dtype_policy,
)


def _small(**kwargs):
    return keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3), pooling="avg", **kwargs)


def test_mixed_bfloat16_policy_keeps_variables_and_softmax_float32():
    model = keras_alexnet.AlexNet(dtype="mixed_bfloat16", classes=10, input_shape=None)
    for name in ("conv1", "conv2", "norm1", "fc6", "fc7"):
        assert model.get_layer(name).compute_dtype == "bfloat16", name
    assert {w.dtype for w in model.weights} == {"float32"}
    assert model.get_layer("predictions").compute_dtype == "float32"
    x = np.random.default_rng(0).uniform(-120, 130, (2, 227, 227, 3)).astype("float32")
    probabilities = np.asarray(model(x))
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


def test_bfloat16_model_tracks_float32_model_with_the_same_weights():
    fp32, bf16 = _small(), _small(dtype="mixed_bfloat16")
    bf16.set_weights(fp32.get_weights())
    x = np.random.default_rng(1).uniform(-120, 130, (4, 67, 67, 3)).astype("float32")
    a, b = np.asarray(fp32(x)), np.asarray(bf16(x), "float32")
    assert np.abs(a).max() > 1e-2
    # bfloat16 keeps 8 bits of mantissa: a few percent after five convolutions, and nowhere near zero.
    assert np.abs(a - b).max() / np.abs(a).max() < 0.05
    assert np.abs(a - b).max() > 0  # it really computed in lower precision


def test_bad_dtype_is_a_clear_error():
    with pytest.raises(ValueError, match=r"mixed_bfloat16.*Received: dtype='bf16'"):
        keras_alexnet.AlexNet(dtype="bf16")
    assert resolve_dtype_policy("float32").name == "float32"


def test_dtype_policy_scope_restores_after_an_error():
    with pytest.raises(RuntimeError), dtype_policy_scope("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        raise RuntimeError("boom")
    assert keras.config.dtype_policy().name == "float32"


def test_compiled_predict_matches_a_numpy_reference_and_does_not_retrace():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="relu")])
    kernel, bias = model.layers[0].get_weights()
    predict = compiled_predict(model)
    for batch in (1, 4, 7):
        x = np.random.default_rng(batch).normal(size=(batch, 5)).astype("float32")
        np.testing.assert_allclose(predict(x), np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)
    assert predict.concrete_function.experimental_get_tracing_count() == 1


def test_split_and_fused_towers_agree_on_the_whole_network():
    split, fused = _small(conv_implementation="split"), _small(conv_implementation="fused")
    fused.set_weights(split.get_weights())
    x = np.random.default_rng(2).uniform(-120, 130, (2, 67, 67, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(split(x)), np.asarray(fused(x)), rtol=1e-4, atol=1e-4)


def test_auto_picks_the_measured_faster_implementation():
    conv = GroupedConv2D(4, 3, groups=2)
    expected = "split" if keras.backend.backend() == "tensorflow" else "fused"
    assert conv.resolved_implementation == expected


def test_configure_threads_validates():
    with pytest.raises(ValueError, match="Received: intra_op=0"):
        configure_threads(intra_op=0)
    assert isinstance(cpu_supports_bf16(), bool)


@pytest.mark.slow
def test_benchmark_peers_agree_with_onnxruntime():
    """The benchmark's three runtimes compute the same network: Keras (compiled), PyTorch and the BVLC ONNX graph."""
    pytest.importorskip("torch")
    from benchmarks import peers

    weights = peers.bvlc_weights(seed=0)
    x = peers.sample_input(2)
    outputs = {
        "keras": compiled_predict(peers.keras_model(weights))(x),
        "torch": peers.torch_predict(peers.torch_model(weights), peers.to_nchw(x)),
        "ort": peers.ort_predict(peers.ort_session(weights), peers.to_nchw(x)),
    }
    diffs = peers.check_outputs(outputs, "ort", atol=1e-4)
    assert max(diffs.values()) < 1e-4
