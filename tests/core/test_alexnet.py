"""The AlexNet builder: architecture facts, the Keras Applications contract, saving and loading."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import keras_alexnet
from keras_alexnet import AlexNet, GroupedConv2D, LocalResponseNormalization
from keras_alexnet.models.summary import layer_table
from keras_alexnet.weights.checkpoint import save_checkpoint


@pytest.fixture(scope="module")
def original():
    return AlexNet(weights=None)


@pytest.fixture(scope="module")
def torchvision_model():
    return AlexNet(weights=None, variant="torchvision")


def test_parameter_counts_are_exact(original, torchvision_model):
    assert original.count_params() == 60_965_224
    assert torchvision_model.count_params() == 61_100_840


def test_original_matches_the_paper(original):
    layers = {layer.name: layer for layer in original.layers}
    assert original.input_shape == (None, 227, 227, 3)
    # conv1 96@11x11/4 -> 55x55, LRN, pool 3/2 -> 27x27
    assert layers["conv1"].kernel.shape == (11, 11, 3, 96) and layers["conv1"].strides == (4, 4)
    assert layers["conv1"].output.shape[1:] == (55, 55, 96)
    assert layers["pool1"].output.shape[1:] == (27, 27, 96)
    # conv2, conv4, conv5: two towers; conv3 sees all 256 channels of conv2.
    for name, kernel in [("conv2", (5, 5, 48, 256)), ("conv4", (3, 3, 192, 384)), ("conv5", (3, 3, 192, 256))]:
        assert isinstance(layers[name], GroupedConv2D) and layers[name].groups == 2
        assert layers[name].kernel.shape == kernel
    assert not isinstance(layers["conv3"], GroupedConv2D)
    assert layers["conv3"].kernel.shape == (3, 3, 256, 384)
    # LRN after conv1 and conv2 with the paper's constants, overlapping pooling after norm1/norm2/conv5.
    order = [layer.name for layer in original.layers]
    assert order.index("conv1") < order.index("norm1") < order.index("pool1") < order.index("conv2")
    assert order.index("conv2") < order.index("norm2") < order.index("pool2") < order.index("conv3")
    for name in ("norm1", "norm2"):
        config = layers[name].get_config()
        assert isinstance(layers[name], LocalResponseNormalization)
        assert (config["size"], config["k"], config["alpha"], config["beta"], config["average"]) == (
            5,
            2.0,
            1e-4,
            0.75,
            False,
        )
    for name in ("pool1", "pool2", "pool5"):
        assert layers[name].pool_size == (3, 3) and layers[name].strides == (2, 2)
    assert layers["pool5"].output.shape[1:] == (6, 6, 256)
    # ReLU everywhere but the classifier, which is a 1000-way softmax (no ReLU before it).
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"):
        assert layers[name].activation is keras.activations.relu
    assert layers["predictions"].activation is keras.activations.softmax
    assert [layers[n].units for n in ("fc6", "fc7", "predictions")] == [4096, 4096, 1000]
    assert order.index("fc6") < order.index("drop6") < order.index("fc7") < order.index("drop7")
    assert layers["drop6"].rate == layers["drop7"].rate == 0.5


def test_torchvision_variant_layout(torchvision_model):
    layers = {layer.name: layer for layer in torchvision_model.layers}
    assert torchvision_model.input_shape == (None, 224, 224, 3)
    assert layers["conv1_pad"].padding == ((2, 2), (2, 2))
    assert [layers[f"conv{i}"].filters for i in range(1, 6)] == [64, 192, 384, 256, 256]
    assert not any(isinstance(layer, LocalResponseNormalization | GroupedConv2D) for layer in torchvision_model.layers)
    order = [layer.name for layer in torchvision_model.layers]
    assert order.index("drop6") < order.index("fc6") < order.index("drop7") < order.index("fc7")


def test_macs_per_image(original, torchvision_model):
    assert sum(row.macs for row in layer_table(original)) == 724_406_816
    assert sum(row.macs for row in layer_table(torchvision_model)) == 714_188_480


def test_forward_gives_probabilities(original):
    x = np.random.default_rng(0).normal(size=(2, 227, 227, 3)).astype("float32") * 50
    probs = original.predict(x, verbose=0)
    assert probs.shape == (2, 1000)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("variant,size", [("original", 67), ("torchvision", 63)])
@pytest.mark.parametrize("pooling,rank", [(None, 4), ("avg", 2), ("max", 2)])
def test_no_top_accepts_minimum_size(variant, size, pooling, rank):
    model = AlexNet(include_top=False, variant=variant, input_shape=(size, size, 3), pooling=pooling)
    out = model(np.zeros((1, size, size, 3), "float32"))
    assert len(out.shape) == rank
    assert out.shape[-1] == 256
    assert keras_alexnet.get_variant(variant).min_size() == size


def test_no_top_accepts_any_larger_size():
    model = AlexNet(include_top=False, pooling="avg")
    assert model.input_shape == (None, None, None, 3)
    assert model(np.zeros((1, 300, 260, 3), "float32")).shape == (1, 256)


def test_input_tensor():
    inputs = keras.Input((227, 227, 3))
    model = AlexNet(input_tensor=inputs)
    assert model.inputs[0] is inputs


def test_classes_and_logits():
    model = AlexNet(classes=10, classifier_activation=None)
    assert model.output_shape == (None, 10)
    assert model.get_layer("predictions").activation is keras.activations.linear


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(variant="vgg"), "Received: variant='vgg'"),
        (dict(weights="no/such/file.h5"), "Received: weights='no/such/file.h5'"),
        (dict(weights=3), "Received: weights=3"),
        (dict(weights="imagenet", classes=10), "Received: classes=10"),
        (dict(input_shape=(224, 224, 3)), r"Received: input_shape=\(224, 224, 3\)"),
        (dict(variant="torchvision", input_shape=(227, 227, 3)), r"Received: input_shape=\(227, 227, 3\)"),
        (dict(include_top=False, input_shape=(66, 66, 3)), r"Received: input_shape=\(66, 66, 3\)"),
        (dict(include_top=False, input_shape=(100, 3)), r"Received: input_shape=\(100, 3\)"),
        (dict(weights="imagenet", include_top=False, input_shape=(227, 227, 1)), "Received: input_shape"),
        (dict(weights="imagenet", classifier_activation="relu"), "Received: classifier_activation='relu'"),
        (dict(pooling="mean", include_top=False), "Received: pooling='mean'"),
        (dict(classes=0), "Received: classes=0"),
    ],
)
def test_argument_checks(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AlexNet(**kwargs)


def test_imagenet_without_checkpoint_fails_clearly(monkeypatch, tmp_path):
    """Offline, with no cached copy, `imagenet` raises a clear error; never random weights."""
    from keras_alexnet.weights import WeightsUnavailableError

    monkeypatch.setenv("KERAS_ALEXNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsUnavailableError, match="bvlc_imagenet1k"):
        AlexNet(weights="imagenet")


def test_keras_file_round_trip_is_bit_exact(tmp_path, original):
    path = tmp_path / "alexnet.keras"
    original.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert [type(layer) for layer in restored.layers] == [type(layer) for layer in original.layers]
    for a, b in zip(original.weights, restored.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    x = np.random.default_rng(1).normal(size=(1, 227, 227, 3)).astype("float32") * 50
    np.testing.assert_array_equal(original.predict(x, verbose=0), restored.predict(x, verbose=0))


def test_weights_files_load_into_new_models(tmp_path, torchvision_model):
    weights_path = tmp_path / "tv.weights.h5"
    torchvision_model.save_weights(weights_path)
    x = np.random.default_rng(2).normal(size=(1, 224, 224, 3)).astype("float32")
    loaded = AlexNet(weights=weights_path, variant="torchvision")
    np.testing.assert_array_equal(torchvision_model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    no_top = AlexNet(weights=weights_path, variant="torchvision", include_top=False)
    np.testing.assert_array_equal(
        no_top.get_layer("conv5").kernel.numpy(), torchvision_model.get_layer("conv5").kernel.numpy()
    )
    keras_path = tmp_path / "tv.keras"
    torchvision_model.save(keras_path)
    from_keras = AlexNet(weights=keras_path, variant="torchvision", include_top=False, pooling="avg")
    np.testing.assert_array_equal(
        from_keras.get_layer("conv1").kernel.numpy(), torchvision_model.get_layer("conv1").kernel.numpy()
    )


def test_weights_into_wrong_variant_fail_with_both_names(tmp_path, torchvision_model):
    weights_path = tmp_path / "tv.weights.h5"
    torchvision_model.save_weights(weights_path)
    with pytest.raises(ValueError, match="Received: weights="):
        AlexNet(weights=weights_path, variant="original")


def test_checkpoint_directory_decides_lrn_and_variant(tmp_path):
    from keras_alexnet.models.variants import CAFFE_LRN
    from keras_alexnet.weights.network import NetworkRecord

    network = NetworkRecord(variant="original", lrn=CAFFE_LRN, preprocessing="caffe")
    source = AlexNet(lrn=CAFFE_LRN)
    checkpoint = save_checkpoint(source, tmp_path / "bvlc", network)
    model = AlexNet(weights=checkpoint)  # default LRN is the paper's; the checkpoint's wins
    config = model.get_layer("norm1").get_config()
    assert (config["k"], config["average"]) == (1.0, True)
    assert keras_alexnet.network_record(model).preprocessing == "caffe"
    with pytest.raises(ValueError, match="'torchvision'"):
        AlexNet(weights=checkpoint, variant="torchvision")
    with pytest.raises(ValueError, match="Received: classes=5"):
        AlexNet(weights=checkpoint, classes=5)
    with pytest.raises(ValueError, match="Received: lrn="):
        AlexNet(weights=checkpoint, lrn={"size": 5, "k": 2.0, "alpha": 1e-4, "beta": 0.75, "average": False})
    no_top = AlexNet(weights=checkpoint, include_top=False, input_shape=(100, 120, 3))
    np.testing.assert_array_equal(no_top.get_layer("conv2").kernel.numpy(), source.get_layer("conv2").kernel.numpy())
    x = np.random.default_rng(3).normal(size=(1, 227, 227, 3)).astype("float32") * 50
    np.testing.assert_array_equal(model.predict(x, verbose=0), source.predict(x, verbose=0))
    backbone = keras.saving.load_model(checkpoint)  # config.json: the KerasHub backbone, conv1..pool5
    expected = AlexNet(weights=checkpoint, include_top=False).predict(x, verbose=0)
    np.testing.assert_array_equal(backbone.predict(x, verbose=0), expected)


def test_network_record_inferred_for_loaded_models(tmp_path, torchvision_model):
    path = tmp_path / "m.keras"
    torchvision_model.save(path)
    record = keras_alexnet.network_record(keras.saving.load_model(path))
    assert (record.variant, record.classes, record.lrn) == ("torchvision", 1000, None)


def test_fused_and_split_models_agree():
    rng = np.random.default_rng(4)
    fused = AlexNet(conv_implementation="fused", include_top=False, input_shape=(99, 99, 3))
    split = AlexNet(conv_implementation="split", include_top=False, input_shape=(99, 99, 3))
    split.set_weights(fused.get_weights())
    x = rng.normal(size=(2, 99, 99, 3)).astype("float32") * 50
    np.testing.assert_allclose(fused(x).numpy(), split(x).numpy(), rtol=1e-4, atol=1e-4)


# -- the network record inside the model (keras_alexnet.models.model.AlexNetModel) ----------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lrn": {"k": 1.0, "average": True, "size": 3}},
        {"remove": ("conv4",)},
        {"variant": "torchvision"},
    ],
    ids=["lrn", "remove", "torchvision"],
)
def test_saved_model_keeps_its_network_record(tmp_path, kwargs):

    # Without the top and at a small input, so that saving is fast; the record is the same object either way.
    model = keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3), **kwargs)
    record = keras_alexnet.network_record(model)
    if "remove" in kwargs:
        assert record.removed == ("conv4",)
    if "lrn" in kwargs:
        assert record.lrn.size == 3 and record.lrn.k == 1.0
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(loaded).__name__ == "AlexNetModel"
    assert keras_alexnet.network_record(loaded) == record
    x = np.random.default_rng(0).uniform(-100, 100, (2, 67, 67, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_network_record_of_a_non_alexnet_is_a_clear_error():

    inputs = keras.Input((4,))
    with pytest.raises(ValueError, match="not an AlexNet built by keras_alexnet"):
        keras_alexnet.network_record(keras.Model(inputs, keras.layers.Dense(2)(inputs)))


def test_input_tensor_and_sub_models_keep_working():

    tensor = keras.Input((80, 80, 3))
    model = keras_alexnet.AlexNet(include_top=False, input_tensor=tensor, pooling="avg", variant="torchvision")
    assert model.input is tensor and model.output_shape == (None, 256)
    full = keras_alexnet.AlexNet(variant="torchvision")
    fc7 = keras.Model(full.input, full.get_layer("fc7").output)
    assert fc7.output_shape == (None, 4096)


@pytest.mark.parametrize("variant", ["original", "torchvision"])
def test_counts_by_formula_match_built_models(variant):
    from keras_alexnet.models.config import count_params

    full = keras_alexnet.AlexNet(variant=variant, classes=10)
    notop = keras_alexnet.AlexNet(variant=variant, include_top=False)
    assert count_params(variant, 10) == full.count_params()
    assert count_params(variant, include_top=False) == notop.count_params()
    assert count_params(variant) == {"original": 60_965_224, "torchvision": 61_100_840}[variant]
