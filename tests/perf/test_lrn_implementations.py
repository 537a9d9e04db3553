"""Every LRN implementation (XLA, banded matmul, shifted slices) equals a NumPy transcription of the formula."""

from __future__ import annotations

import numpy as np
import pytest

from keras_alexnet.layers import LocalResponseNormalization
from keras_alexnet.layers.local_response_normalization import IMPLEMENTATIONS


def numpy_lrn(x, size, k, alpha, beta, average, axis=-1):
    x = np.moveaxis(np.asarray(x, "float64"), axis, -1)
    channels = x.shape[-1]
    out = np.empty_like(x)
    a = alpha / size if average else alpha
    for c in range(channels):
        lo, hi = max(0, c - (size - 1) // 2), min(channels, c + size // 2 + 1)
        out[..., c] = x[..., c] / (k + a * np.sum(x[..., lo:hi] ** 2, axis=-1)) ** beta
    return np.moveaxis(out, -1, axis)


CONSTANTS = [
    (5, 2.0, 1e-4, 0.75, False),
    (5, 1.0, 1e-4, 0.75, True),
    (4, 1.0, 1e-2, 0.5, True),
    (3, 0.5, 0.3, 1.3, False),
]


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("size,k,alpha,beta,average", CONSTANTS)
def test_matches_numpy(implementation, size, k, alpha, beta, average):
    x = np.random.default_rng(size).normal(0, 20, (2, 4, 3, 13)).astype("float32")
    layer = LocalResponseNormalization(size=size, k=k, alpha=alpha, beta=beta, average=average,
                                       implementation=implementation)  # fmt: skip
    np.testing.assert_allclose(layer(x).numpy(), numpy_lrn(x, size, k, alpha, beta, average), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("implementation", ["banded", "xla"])
def test_channels_first_and_float64(implementation):
    x = np.random.default_rng(1).normal(0, 30, (2, 9, 4, 4))
    layer = LocalResponseNormalization(size=5, k=1.0, alpha=1e-3, beta=0.75, data_format="channels_first",
                                       implementation=implementation, dtype="float64")  # fmt: skip
    out = layer(x).numpy()
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, numpy_lrn(x, 5, 1.0, 1e-3, 0.75, False, axis=1), rtol=1e-12)


@pytest.mark.parametrize("implementation", ["banded", "xla"])
def test_bfloat16_input_is_normalised_in_float32(implementation):
    import tensorflow as tf

    x = np.random.default_rng(2).normal(0, 30, (1, 3, 3, 16)).astype("float32")
    xb = tf.cast(x, tf.bfloat16)
    out = LocalResponseNormalization(size=5, alpha=1e-2, implementation=implementation, dtype="mixed_bfloat16")(xb)
    assert out.dtype == tf.bfloat16
    expected = numpy_lrn(tf.cast(xb, tf.float32).numpy(), 5, 2.0, 1e-2, 0.75, False)
    np.testing.assert_allclose(tf.cast(out, tf.float32).numpy(), expected, rtol=1e-2)  # one bfloat16 rounding


def test_implementation_is_validated_and_serialised():
    with pytest.raises(ValueError, match="Received: implementation='fast'"):
        LocalResponseNormalization(implementation="fast")
    layer = LocalResponseNormalization(implementation="banded")
    assert LocalResponseNormalization.from_config(layer.get_config()).implementation == "banded"


def test_a_saved_config_naming_the_removed_tf_native_loads_as_auto():
    config = LocalResponseNormalization(implementation="xla").get_config()
    config["implementation"] = "tf_native"
    with pytest.warns(DeprecationWarning, match=r"implementation=.tf_native.\) was removed"):
        layer = LocalResponseNormalization.from_config(config)
    assert layer.implementation == "auto"
    assert "tf_native" not in IMPLEMENTATIONS


def test_xla_gradient_matches_finite_differences():
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(3).normal(0, 20, (1, 2, 2, 7)))
    layer = LocalResponseNormalization(size=5, k=1.0, alpha=1e-3, beta=0.75, implementation="xla", dtype="float64")
    theoretical, numerical = tf.test.compute_gradient(layer, [x], delta=1e-4)
    np.testing.assert_allclose(theoretical[0], numerical[0], rtol=1e-6, atol=1e-8)


def test_xla_in_a_graph_with_a_free_batch_dimension():
    """Inside a tf.function with an unknown batch size (as in compiled prediction), every batch size works."""
    import tensorflow as tf

    layer = LocalResponseNormalization(size=5, k=2.0, alpha=1e-4, beta=0.75, implementation="xla")
    forward = tf.function(layer, input_signature=[tf.TensorSpec((None, 3, 3, 8), tf.float32)])
    for batch in (1, 3):
        x = np.random.default_rng(batch).normal(0, 50, (batch, 3, 3, 8)).astype("float32")
        np.testing.assert_allclose(forward(x).numpy(), numpy_lrn(x, 5, 2.0, 1e-4, 0.75, False), rtol=2e-5)


def test_xla_inside_an_xla_compiled_function_uses_the_plain_ops(monkeypatch):
    """Under an outer jit_compile (e.g. compile(jit_compile=True)) the layer emits plain ops, not a nested XLA call."""
    import tensorflow as tf

    from keras_alexnet.layers import local_response_normalization as module

    calls = []
    original = module._xla_lrn_function
    monkeypatch.setattr(module, "_xla_lrn_function", lambda *args: calls.append(args) or original(*args))
    layer = LocalResponseNormalization(size=5, k=2.0, alpha=1e-4, beta=0.75, implementation="xla")
    x = np.random.default_rng(4).normal(0, 50, (2, 3, 3, 8)).astype("float32")
    expected = numpy_lrn(x, 5, 2.0, 1e-4, 0.75, False)
    np.testing.assert_allclose(tf.function(layer, jit_compile=True)(x).numpy(), expected, rtol=2e-5)
    assert calls == []
    np.testing.assert_allclose(tf.function(layer)(x).numpy(), expected, rtol=2e-5)
    assert len(calls) == 1


def test_traced_for_export_the_layers_emit_no_xla_call(monkeypatch):
    """Under `plain_ops()` (and any export module on the stack) "xla" LRN and "fused" towers trace plain ops."""
    import tensorflow as tf

    from keras_alexnet.layers import GroupedConv2D
    from keras_alexnet.layers import local_response_normalization as module
    from keras_alexnet.layers.tracing import plain_ops

    calls = []
    original = module._xla_lrn_function
    monkeypatch.setattr(module, "_xla_lrn_function", lambda *args: calls.append(args) or original(*args))
    layer = LocalResponseNormalization(size=5, k=2.0, alpha=1e-4, beta=0.75, implementation="xla")
    conv = GroupedConv2D(8, 3, groups=2, implementation="fused")
    x = np.random.default_rng(5).normal(0, 50, (2, 5, 5, 8)).astype("float32")

    def graph_ops(fn):
        return {op.type for op in tf.function(fn).get_concrete_function(tf.TensorSpec(x.shape)).graph.get_operations()}

    with plain_ops():
        ops = graph_ops(lambda t: conv(layer(t)))
    assert calls == [] and not ops & {"PartitionedCall", "StatefulPartitionedCall"}, ops
    np.testing.assert_allclose(tf.function(layer)(x).numpy(), numpy_lrn(x, 5, 2.0, 1e-4, 0.75, False), rtol=2e-5)
    assert len(calls) == 1  # outside the block: the XLA call again
    assert "StatefulPartitionedCall" in graph_ops(conv) or "PartitionedCall" in graph_ops(conv)


@pytest.mark.parametrize("backend,expected", [("tensorflow", "xla"), ("jax", "banded"), ("torch", "banded"),
                                              ("openvino", "generic")])  # fmt: skip
def test_auto_resolves_to_the_fastest_measured(monkeypatch, backend, expected):
    import keras

    layer = LocalResponseNormalization()
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    assert layer.resolved_implementation == expected
