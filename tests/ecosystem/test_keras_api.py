"""API consistency with Keras Applications: `preprocess_input`'s positional order, `load_model` guidance."""

from __future__ import annotations

import inspect
import warnings

import keras
import numpy as np
import pytest

from keras_alexnet import preprocess_input


@pytest.fixture
def image():
    return np.random.default_rng(0).integers(0, 256, (2, 4, 5, 3), dtype=np.uint8)


def test_positional_order_is_keras_applications():
    ours = list(inspect.signature(preprocess_input).parameters.values())
    keras_own = list(inspect.signature(keras.applications.vgg16.preprocess_input).parameters.values())
    positional = [p.name for p in ours if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == [p.name for p in keras_own] == ["x", "data_format"]
    assert {p.name for p in ours if p.kind is p.KEYWORD_ONLY} == {"variant", "mode", "weights"}


def test_data_format_second_as_in_keras(image):
    first = np.transpose(image, (0, 3, 1, 2))
    out = preprocess_input(first, "channels_first", variant="torchvision")
    np.testing.assert_allclose(np.transpose(out, (0, 2, 3, 1)), preprocess_input(image, variant="torchvision"))
    np.testing.assert_array_equal(preprocess_input(image, "channels_last"), preprocess_input(image, variant="original"))


@pytest.mark.parametrize("variant", ["original", "torchvision"])
def test_a_positional_variant_still_works_with_a_deprecation_warning(image, variant):
    # pyproject's filterwarnings ignores DeprecationWarning: record it explicitly.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = preprocess_input(image, variant)
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 1
    assert f"preprocess_input(x, variant={variant!r})" in str(deprecations[0].message)
    assert deprecations[0].filename == __file__  # points at the caller's line
    np.testing.assert_array_equal(out, preprocess_input(image, variant=variant))


def test_keyword_calls_do_not_warn(image):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        preprocess_input(image, variant="torchvision", data_format="channels_last")
        preprocess_input(image, mode="caffe")


def test_a_variant_given_twice_is_refused(image):
    with pytest.raises(ValueError, match=r"pass the variant once.*Received: data_format='torchvision'"):
        preprocess_input(image, "torchvision", variant="original")
    with pytest.raises(ValueError, match="Received: data_format='nhwc'"):
        preprocess_input(image, "nhwc")


def test_an_unregistered_class_gets_the_import_to_run(tmp_path, monkeypatch, capsys):
    """As if keras_alexnet's classes were not registered: our loaders say `import keras_alexnet`, in one line."""
    import keras_alexnet
    from keras_alexnet.weights.loading import load_keras_file

    path = tmp_path / "features.keras"
    keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3)).save(path)
    registry = keras.saving.get_custom_objects()
    for name in [name for name in registry if name.startswith("keras_alexnet>")]:
        monkeypatch.delitem(registry, name)
    with pytest.raises(TypeError, match="Could not locate class"):
        keras.saving.load_model(path)  # Keras' own message, which names no import
    with pytest.raises(ValueError, match=r"Keras could not locate class '\w+'.*run `import keras_alexnet` before it"):
        load_keras_file(path)
    from PIL import Image

    from keras_alexnet.cli.main import main

    image = tmp_path / "image.png"
    Image.fromarray(np.zeros((80, 80, 3), np.uint8)).save(image)
    assert main(["predict", str(image), "--weights", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert any("run `import keras_alexnet` before it" in line for line in err), err
