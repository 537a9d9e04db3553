"""`--init bvlc` and BVLC's solver multipliers (`--bias-lr-mult 2 --bias-decay-mult 0`).

The expected values are typed here from BVLC's `models/bvlc_alexnet/train_val.prototxt` (weight_filler
gaussian std, bias_filler constant value, `param { lr_mult decay_mult }`), and the update is computed in
NumPy with Caffe's SGD rule, independently of `keras_alexnet`.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_alexnet.models.variants import get_variant
from keras_alexnet.training import PaperSGD, TrainConfig
from keras_alexnet.training.initialization import apply_initialization
from keras_alexnet.training.loop import CustomLoop
from keras_alexnet.training.model import build_training_model

#: train_val.prototxt: layer -> (weight_filler std, bias_filler value).
PROTOTXT = {
    "conv1": (0.01, 0.0),
    "conv2": (0.01, 0.1),
    "conv3": (0.01, 0.0),
    "conv4": (0.01, 0.1),
    "conv5": (0.01, 0.1),
    "fc6": (0.005, 0.1),
    "fc7": (0.005, 0.1),
    "fc8": (0.01, 0.0),
}
#: The layers with weights, in network order, by each variant's own (original) names.
ORIGINAL_NAMES = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")
TORCHVISION_NAMES = (
    "features.0",
    "features.3",
    "features.6",
    "features.8",
    "features.10",
    "classifier.1",
    "classifier.4",
    "classifier.6",
)
TORCHVISION_TO_CAFFE = dict(zip(TORCHVISION_NAMES, ORIGINAL_NAMES, strict=True))


def _check_gaussian(values: np.ndarray, std: float, label: str) -> None:
    """Mean, std and the share within one std of N(0, std), each within 5 standard errors of sampling."""
    n = values.size
    assert abs(values.mean()) < 5 * std / np.sqrt(n), label
    assert abs(values.std() - std) < 5 * std / np.sqrt(2 * n), label
    inside, p = np.mean(np.abs(values) < std), 0.682689
    assert abs(inside - p) < 5 * np.sqrt(p * (1 - p) / n), label


@pytest.mark.parametrize("variant", ["original", "torchvision"])
def test_bvlc_init_follows_the_prototxt_layer_by_layer(variant):
    """Every layer with weights, matched by role (its position: torchvision names its modules differently)."""
    model = build_training_model(10, get_variant(variant).min_size(), variant=variant, init="bvlc", seed=5)
    layers = [layer for layer in model.layers if layer.weights]
    own_names = ORIGINAL_NAMES if variant == "original" else TORCHVISION_NAMES
    assert len(layers) == len(own_names)  # every layer covered, none left over
    for layer, own in zip(layers, own_names, strict=True):
        caffe = TORCHVISION_TO_CAFFE.get(own, own)
        std, bias = PROTOTXT[caffe]
        assert [w.name for w in layer.weights] == ["kernel", "bias"], own
        _check_gaussian(layer.kernel.numpy().astype(np.float64), std, f"{variant} {own} ({layer.name})")
        np.testing.assert_array_equal(layer.bias.numpy(), np.full(layer.bias.shape, bias, np.float32), err_msg=own)
    # fc6/fc7 really are at half the others' std (a single std for all layers fails this).
    assert model.get_layer("fc6").kernel.numpy().std() < 0.6 * model.get_layer("conv3").kernel.numpy().std()


def test_bvlc_init_is_seeded_and_differs_from_the_paper():
    a = build_training_model(10, 67, init="bvlc", seed=1)
    b = build_training_model(10, 67, init="bvlc", seed=1)
    paper = build_training_model(10, 67, init="paper", seed=1)
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)
    assert float(paper.get_layer("conv2").bias.numpy()[0]) == 1.0
    assert float(a.get_layer("conv2").bias.numpy()[0]) == np.float32(0.1)


def test_bvlc_init_keeps_roles_in_a_depth_ablation():
    model = build_training_model(10, 67, init="bvlc", remove=("conv3",))
    assert "conv3" not in [layer.name for layer in model.layers]
    np.testing.assert_array_equal(model.get_layer("conv4").bias.numpy(), np.float32(0.1))
    np.testing.assert_array_equal(model.get_layer("predictions").bias.numpy(), 0.0)


def test_bvlc_init_refuses_a_layer_without_a_role():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="fc6"), keras.layers.Dense(2, name="head")])
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"'bvlc' initialisation .*layer 'head'.* Received: layer 'head'"):
        apply_initialization(model, "bvlc")
    for x, y in zip(before, model.get_weights(), strict=True):  # refused before anything was assigned
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="Received: 'caffe'"):
        apply_initialization(model, "caffe")


def test_init_and_solver_options_are_validated():
    TrainConfig(init="bvlc", bias_lr_mult=2, bias_decay_mult=0).validate()
    with pytest.raises(ValueError, match="'paper', 'bvlc', 'lsuv' or 'keras'. Received: init='caffe'"):
        TrainConfig(init="caffe").validate()
    with pytest.raises(ValueError, match="Received: bias_lr_mult=0"):
        TrainConfig(bias_lr_mult=0).validate()
    with pytest.raises(ValueError, match="Received: bias_decay_mult=-1"):
        TrainConfig(bias_decay_mult=-1).validate()
    with pytest.raises(ValueError, match="Received: bias_lr_mult='2'"):
        PaperSGD(bias_lr_mult="2")
    with pytest.raises(ValueError, match="`init` must be one of"):
        build_training_model(10, 67, init="caffe")


def test_cli_flags_and_errors(capsys):
    from keras_alexnet.cli.main import build_parser, main

    args = build_parser().parse_args(["train", "--init", "bvlc", "--bias-lr-mult", "2", "--bias-decay-mult", "0"])
    assert (args.init, args.bias_lr_mult, args.bias_decay_mult) == ("bvlc", 2.0, 0.0)
    defaults = build_parser().parse_args(["train"])
    assert (defaults.init, defaults.bias_lr_mult, defaults.bias_decay_mult) == ("paper", 1.0, 1.0)
    assert main(["train", "--bias-lr-mult", "-2", "--verbose", "0"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [line for line in err if line.startswith("keras-alexnet train: error: ")] and len(err) == 1
    assert err[0].endswith("Received: bias_lr_mult=-2.0")


def test_solver_multipliers_serialize():
    config = PaperSGD(0.1, bias_lr_mult=2, bias_decay_mult=0).get_config()
    clone = keras.optimizers.deserialize(keras.optimizers.serialize(PaperSGD.from_config(config)))
    assert (clone.bias_lr_mult, clone.bias_decay_mult) == (2.0, 0.0)
    assert (PaperSGD().bias_lr_mult, PaperSGD().bias_decay_mult) == (1.0, 1.0)  # the paper's rule by default


# -- one update against NumPy ---------------------------------------------------------------------------------------
LR, MU, WD = 0.1, 0.9, 0.05


def _two_layer_model(seed: int = 0) -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, activation="relu", name="fc"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ]
    )
    rng = np.random.default_rng(seed)
    # Biases far from 0, so that decaying them would show.
    model.set_weights(
        [rng.normal(0, s, shape).astype("float32") for s, shape in ((0.5, (3, 4)), (1, (4,)), (0.5, (4, 3)), (1, (3,)))]
    )
    return model


def _data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(4, 3)).astype("float32"), np.array([0, 2, 1, 2], "int32")


def _numpy_sgd(params, steps: int, bias_lr_mult: float, bias_decay_mult: float) -> list[np.ndarray]:
    """Caffe's SGD: v <- mu v - lr * lr_mult * (dL/dw + wd * decay_mult * w); w <- w + v (weights: mults 1)."""
    w1, b1, w2, b2 = [p.astype(np.float64) for p in params]
    x, y = _data()
    x = x.astype(np.float64)
    mults = [(1.0, 1.0), (bias_lr_mult, bias_decay_mult), (1.0, 1.0), (bias_lr_mult, bias_decay_mult)]
    velocity = [np.zeros_like(p) for p in (w1, b1, w2, b2)]
    for _ in range(steps):
        pre = x @ w1 + b1
        h = np.maximum(pre, 0)
        z = h @ w2 + b2
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        dz = (p - np.eye(3)[y]) / len(y)  # mean cross-entropy through the softmax
        dh = (dz @ w2.T) * (pre > 0)
        grads = [x.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]
        params = [w1, b1, w2, b2]
        for i, (param, grad, (lr_mult, decay_mult)) in enumerate(zip(params, grads, mults, strict=True)):
            velocity[i] = MU * velocity[i] - LR * lr_mult * (grad + WD * decay_mult * param)
        w1, b1, w2, b2 = [param + v for param, v in zip(params, velocity, strict=True)]
    return [w1, b1, w2, b2]


def _strategy(kind: str):
    # A one-device MirroredStrategy makes distributed variables, whose per-replica components reach
    # `update_step` (what a bias must still be recognised as).
    return tf.distribute.get_strategy() if kind == "default" else tf.distribute.MirroredStrategy(["/cpu:0"])


@pytest.mark.parametrize("strategy_kind", ["default", "mirrored"])
@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_bvlc_solver_two_steps_match_numpy(tmp_path, loop, strategy_kind):
    """Biases step at 2x the learning rate and are not decayed; weights get the decay (both training loops)."""
    strategy = _strategy(strategy_kind)
    with strategy.scope():
        model = _two_layer_model()
        optimizer = PaperSGD(LR, momentum=MU, weight_decay=WD, bias_lr_mult=2, bias_decay_mult=0)
    start = model.get_weights()
    x, y = _data()
    if loop == "fit":
        model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy())
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    else:
        custom = CustomLoop(model, optimizer, strategy, tmp_path / "checkpoints", verbose=0)
        custom.fit(lambda epoch: tf.data.Dataset.from_tensor_slices((x, y)).batch(4), epochs=2, global_batch_size=4)
    assert int(optimizer.iterations.numpy()) == 2
    expected = _numpy_sgd(start, 2, bias_lr_mult=2, bias_decay_mult=0)
    names = ("fc kernel", "fc bias", "out kernel", "out bias")
    for got, want, name in zip(model.get_weights(), expected, names, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)
    # The test can tell the two rules apart: the paper's rule moves the biases elsewhere.
    paper = _numpy_sgd(start, 2, bias_lr_mult=1, bias_decay_mult=1)
    assert np.abs(paper[1] - expected[1]).max() > 1e-2 and np.abs(paper[3] - expected[3]).max() > 1e-2


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_train_passes_the_solver_multipliers_to_both_loops(tmp_path, loop):
    """`train(config)` end to end, one step: biases move by exactly 2x their undecayed step, kernels as the paper's."""
    from keras_alexnet.training import train

    starts = {}

    def tiny(num_classes, image_size):
        model = keras.Sequential(
            [
                keras.Input((image_size, image_size, 3)),
                keras.layers.Conv2D(
                    4,
                    3,
                    strides=2,
                    kernel_initializer=keras.initializers.GlorotUniform(seed=1),
                    bias_initializer="ones",
                ),
                keras.layers.Flatten(),
                keras.layers.Dense(
                    num_classes,
                    activation="softmax",
                    kernel_initializer=keras.initializers.GlorotUniform(seed=2),
                    bias_initializer=keras.initializers.Constant(0.5),
                ),
            ]
        )
        starts[len(starts)] = model.get_weights()
        return model

    finals = []
    for name, mults in (("paper", {}), ("bvlc", {"bias_lr_mult": 2.0, "bias_decay_mult": 0.0})):
        config = TrainConfig(
            epochs=1,
            batch_size=8,
            limit=8,
            val_limit=8,
            image_size=12,
            resize=16,
            steps_per_epoch=1,
            learning_rate=LR,
            weight_decay=WD,
            lr_scaling="none",
            loop=loop,
            strategy="none",
            verbose=0,
            run_dir=str(tmp_path / name),
            **mults,
        )
        finals.append(train(config, model_fn=tiny).model.get_weights())
    start = starts[0]
    for a, b in zip(starts[0], starts[1], strict=True):
        np.testing.assert_array_equal(a, b)
    paper, bvlc = finals
    for i in (0, 2):  # kernels: the same rule in both runs
        np.testing.assert_allclose(bvlc[i], paper[i], rtol=1e-5, atol=1e-7)
    for i in (1, 3):  # biases: paper -lr (g + wd b0); bvlc -2 lr g
        gradient = -(paper[i] - start[i]) / LR - WD * start[i]
        np.testing.assert_allclose(bvlc[i] - start[i], -2 * LR * gradient, rtol=1e-4, atol=1e-6)
