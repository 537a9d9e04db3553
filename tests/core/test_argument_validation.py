"""Bad arguments raise `ValueError ... Received: ...` before anything is built, never a TypeError or IndexError."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

import keras_alexnet
from keras_alexnet.cli import arguments
from keras_alexnet.layers import LocalResponseNormalization
from keras_alexnet.models.variants import LRNConfig, get_variant
from keras_alexnet.weights.network import NetworkRecord


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(input_shape=("a", "b", 3), include_top=False), r"entries must be positive integers.*Received"),
        (dict(input_shape=(100.5, 100, 3), include_top=False), r"entries must be positive integers"),
        (dict(input_shape=(100, 100, 0), include_top=False), r"entries must be positive integers"),
        (dict(input_shape=(-5, 100, 3), include_top=False), r"Received: input_shape=\(-5, 100, 3\)"),
        (dict(input_shape=(True, 100, 3), include_top=False), r"entries must be positive integers"),
        (dict(input_shape=227), r"three entries.*Received: input_shape=227"),
        (dict(input_shape="227x227"), r"three entries.*Received: input_shape='227x227'"),
        (dict(input_shape={"h": 227}), r"three entries"),
        (dict(lrn={"size": 4, "bogus": 1}), r"Unknown LRN constant\(s\) \['bogus'\].*Received"),
        (dict(lrn={"size": "4"}), r"`size` must be a positive integer. Received: size='4'"),
        (dict(lrn={"beta": "x"}), r"`beta` must be a finite non-negative number. Received: beta='x'"),
        (dict(lrn={"k": float("nan")}), r"`k` must be a finite non-negative number"),
        (dict(lrn={"alpha": None}), r"`alpha` must be"),
        (dict(lrn={"average": "yes"}), r"`average` must be True or False. Received: average='yes'"),
        (dict(lrn=[5, 2.0]), r"`lrn` must be an LRNConfig or a dict"),
        (dict(classes=0), r"Received: classes=0"),
        (dict(classes="x"), r"Received: classes='x'"),
        (dict(classes=2.5), r"Received: classes=2.5"),
        (dict(pooling="bogus", include_top=False), r"Received: pooling='bogus'"),
        (dict(pooling=["avg"], include_top=False), r"Received: pooling=\['avg'\]"),
        (dict(variant=["original"]), r"Received: variant=\['original'\]"),
        (dict(variant=3), r"Received: variant=3"),
        (dict(remove=3), r"Received: remove=3"),
        (dict(remove=("conv3", 4)), r"Received: remove=\('conv3', 4\)"),
        (dict(include_top="no"), r"Received: include_top='no'"),
        (dict(classifier_activation="bogus"), r"Received: classifier_activation='bogus'"),
        (dict(classifier_activation=5), r"Received: classifier_activation=5"),
        (dict(conv_implementation="bogus"), r"Received: implementation='bogus'"),
        (dict(dtype="bogus"), r"Received"),
        (dict(weights=3), r"Received: weights=3"),
    ],
)
def test_alexnet_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        keras_alexnet.AlexNet(**kwargs)
    assert "Received" in str(info.value)


def test_good_shapes_still_work():
    import keras

    assert keras_alexnet.AlexNet(include_top=False, input_shape=[np.int64(67), 67, 3]).output_shape[1:] == (1, 1, 256)
    assert keras_alexnet.AlexNet(include_top=False, input_shape=(None, None, 3)).output_shape[1:] == (None, None, 256)
    model = keras_alexnet.AlexNet(include_top=False, input_tensor=keras.Input((80, 80, 3)), remove=["conv4"])
    assert "conv4" not in [layer.name for layer in model.layers]
    lrn = LRNConfig.from_dict({"size": np.int64(3), "k": 1, "alpha": np.float32(1e-4), "beta": 0.75, "average": True})
    assert (type(lrn.size), type(lrn.k), lrn.average) == (int, float, True)
    assert keras_alexnet.AlexNet(lrn=lrn).get_layer("norm1").size == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(size=0), r"Received: size=0"),
        (dict(size=4.5), r"Received: size=4.5"),
        (dict(size=True), r"Received: size=True"),
        (dict(k="a"), r"Received: k='a'"),
        (dict(alpha=-1), r"Received: alpha=-1"),
        (dict(beta=None), r"Received: beta=None"),
        (dict(beta=float("inf")), r"Received: beta=inf"),
        (dict(average="x"), r"Received: average='x'"),
        (dict(data_format="nhwc"), r"Received: data_format='nhwc'"),
        (dict(implementation="cuda"), r"Received: implementation='cuda'"),
    ],
)
def test_lrn_layer_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LocalResponseNormalization(**kwargs)


def test_lrn_config_and_variant_lookup():
    with pytest.raises(ValueError, match=r"Unknown LRN constant\(s\) \['n'\]"):
        LRNConfig.from_dict({"n": 5})
    with pytest.raises(ValueError, match=r"LRN constants are a dict"):
        LRNConfig.from_dict("size=5")
    with pytest.raises(ValueError, match=r"Received: size=-1"):
        LRNConfig(size=-1)
    with pytest.raises(ValueError, match=r"Received: variant=\{\}"):
        get_variant({})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(variant=None), r"Received: variant=None"),
        (dict(variant="vgg"), r"Received: variant='vgg'"),
        (dict(classes=0), r"Received: classes=0"),
        (dict(classes=True), r"Received: classes=True"),
        (dict(input_size=-1), r"Received: input_size=-1"),
        (dict(preprocessing="bgr"), r"Received: preprocessing='bgr'"),
        (dict(categories=5), r"Received: categories=5"),
        (dict(lrn={"size": 5}), r"Received: lrn=\{'size': 5\}"),
    ],
)
def test_network_record_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NetworkRecord(**kwargs)


@pytest.mark.parametrize(
    "convert, good, bad",
    [
        (arguments.positive_int, [("1", 1), ("32", 32)], ["0", "-1", "1.5", "x", ""]),
        (arguments.non_negative_int, [("0", 0), ("7", 7)], ["-1", "nan", "1e3"]),
        (arguments.positive_float, [("1e-4", 1e-4), ("2", 2.0)], ["0", "-1", "nan", "inf", "x"]),
        (arguments.non_negative_float, [("0", 0.0), ("0.5", 0.5)], ["-0.1", "nan", "-inf"]),
        (arguments.probability, [("0", 0.0), ("0.5", 0.5)], ["1", "1.5", "-0.5", "nan"]),
    ],
)
def test_argument_types(convert, good, bad):
    for text, value in good:
        assert convert(text) == value
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match=f"Received: {text!r}"):
            convert(text)


def test_argument_types_on_every_count_option():
    """Each batch-size / count option of the commands refuses 0 at parse time, in argparse's one line."""
    from keras_alexnet.cli.main import build_parser

    parser = build_parser()
    for argv in (
        ["embed", "dir", "--batch-size", "0"],
        ["evaluate", "--batch-size", "0"],
        ["evaluate", "--top-confusions", "-1"],
        ["neighbours", "q.jpg", "--index", "i.npz", "-k", "0"],
        ["neighbours", "q.jpg", "--index", "i.npz", "--chunk-rows", "0"],
        ["activations", "image.jpg", "--max-maps", "0"],
        ["info", "--input-size", "0"],
        ["stats", "--resize", "0"],
    ):
        with pytest.raises(SystemExit) as info:
            parser.parse_args(argv)
        assert info.value.code == 2, argv
