"""The paper's recipe: update rule, initialisation, learning-rate rule, metrics, configuration."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from keras_alexnet.training import PaperSGD, PlateauState, TopKError, TrainConfig
from keras_alexnet.training.distribute import scaled_learning_rate


def _tiny_model(seed=0):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=(3, 2)).astype("float32"), rng.normal(size=(2,)).astype("float32")])
    return model


def test_paper_update_rule_matches_hand_computation():
    """Three steps of MSE regression on a 3->2 dense layer against the paper's formula in NumPy."""
    lr, mu, wd = 0.05, 0.9, 0.01
    model = _tiny_model()
    model.compile(optimizer=PaperSGD(lr, momentum=mu, weight_decay=wd), loss="mse")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 3)).astype("float32")
    y = rng.normal(size=(4, 2)).astype("float32")
    w, b = [p.astype(np.float64) for p in model.get_weights()]
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for _ in range(3):
        model.train_on_batch(x, y)
        residual = x @ w + b - y  # d/dpred of mean((pred - y)^2) = 2 * residual / (N * 2)
        gw = x.T @ (2 * residual / residual.size)
        gb = (2 * residual / residual.size).sum(axis=0)
        vw = mu * vw - wd * lr * w - lr * gw  # v <- 0.9 v - 0.0005 eps w - eps dL/dw
        vb = mu * vb - wd * lr * b - lr * gb
        w, b = w + vw, b + vb
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-5, atol=1e-6)


def test_paper_update_differs_from_keras_decoupled_decay():
    x = np.ones((2, 3), "float32")
    y = np.zeros((2, 2), "float32")
    results = []
    for optimizer in (PaperSGD(0.1, 0.9, 0.1), keras.optimizers.SGD(0.1, momentum=0.9, weight_decay=0.1)):
        model = _tiny_model()
        model.compile(optimizer=optimizer, loss="mse")
        for _ in range(3):
            model.train_on_batch(x, y)
        results.append(model.get_weights()[0])
    assert np.abs(results[0] - results[1]).max() > 1e-3


def test_exclude_from_weight_decay():
    variable = keras.Variable(np.ones(2, "float32"), name="bias")
    optimizer = PaperSGD(1.0, momentum=0.0, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    optimizer.apply([np.zeros(2, "float32")], [variable])
    np.testing.assert_array_equal(variable.numpy(), [1.0, 1.0])


def test_paper_sgd_serializes_and_reloads_with_a_model(tmp_path):
    model = _tiny_model()
    model.compile(optimizer=PaperSGD(0.02, momentum=0.8, weight_decay=0.001), loss="mse")
    model.train_on_batch(np.ones((2, 3), "float32"), np.zeros((2, 2), "float32"))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, PaperSGD)
    config = loaded.optimizer.get_config()
    assert (config["momentum"], config["weight_decay"]) == (0.8, 0.001)
    np.testing.assert_allclose(loaded.optimizer.velocities[0].numpy(), model.optimizer.velocities[0].numpy())
    clone = keras.optimizers.deserialize(keras.optimizers.serialize(PaperSGD(0.3)))
    assert isinstance(clone, PaperSGD) and clone.paper_weight_decay == 0.0005


def test_paper_sgd_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Received: momentum=2"):
        PaperSGD(momentum=2)
    with pytest.raises(ValueError, match="Received: weight_decay=-1"):
        PaperSGD(weight_decay=-1)


def test_paper_initialization_statistics():
    from keras_alexnet.training.model import build_training_model

    model = build_training_model(num_classes=10, image_size=67, seed=3)
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "predictions"):
        layer = model.get_layer(name)
        kernel = layer.kernel.numpy()
        assert abs(kernel.std() - 0.01) < 0.001 and abs(kernel.mean()) < 0.001, name
        expected_bias = 1.0 if name in ("conv2", "conv4", "conv5", "fc6", "fc7") else 0.0
        np.testing.assert_array_equal(layer.bias.numpy(), expected_bias)
    assert model.get_layer("drop6").rate == 0.5 and model.get_layer("drop7").rate == 0.5


def test_default_training_model_is_the_real_alexnet():
    from keras_alexnet.training.model import build_training_model

    model = build_training_model(num_classes=1000, init="keras")
    assert model.input_shape == (None, 227, 227, 3)
    assert model.count_params() == 60965224


def test_plateau_rule_divides_by_ten_at_most_three_times():
    state = PlateauState(0.01, factor=0.1, patience=2, max_reductions=3)
    rates = [state.step(0.5) for _ in range(12)]
    assert rates[0] == 0.01 and rates[2] == pytest.approx(0.001)
    assert rates[-1] == pytest.approx(1e-5) and state.reductions == 3
    assert PlateauState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_top_k_error_metric():
    metric = TopKError(k=2)
    metric.update_state(np.array([0, 2]), np.array([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]], "float32"))
    assert float(metric.result()) == pytest.approx(0.5)


def test_config_validation_and_lr_scaling():
    with pytest.raises(ValueError, match="Received: mean='median'"):
        TrainConfig(mean="median").validate()
    config = TrainConfig()
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="Unknown training options"):
        TrainConfig.from_dict({"learning_rat": 0.1})
    assert scaled_learning_rate(0.01, 128) == 0.01
    assert scaled_learning_rate(0.01, 512) == pytest.approx(0.04)
    assert scaled_learning_rate(0.01, 512, "none") == 0.01
