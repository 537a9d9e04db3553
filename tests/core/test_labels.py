"""Class names in the network record, `keras_alexnet.labels`, and the paper's preprocessing of trained checkpoints."""

import numpy as np
import pytest

from keras_alexnet.analysis.evaluation import label_mapping
from keras_alexnet.imagenet import imagenet_classes
from keras_alexnet.labels import class_labels, is_imagenet, top_k_labels
from keras_alexnet.preprocessing import preprocess_for
from keras_alexnet.weights.network import NetworkRecord

DIGITS = tuple(str(i) for i in range(10))


def digits_record(**changes) -> NetworkRecord:
    values = dict(classes=10, categories="digits:train", class_names=DIGITS, preprocessing="paper")
    return NetworkRecord(**(values | changes))


def test_record_round_trips_class_names_and_pixel_mean(tmp_path):
    record = digits_record(pixel_mean=(1.5, 2, 3))
    record.write(tmp_path)
    again = NetworkRecord.read(tmp_path)
    assert again == record and again.class_names == DIGITS and again.pixel_mean == (1.5, 2.0, 3.0)
    # A record written before these fields existed reads as before.
    old = {k: v for k, v in NetworkRecord().to_dict().items() if k not in ("class_names", "pixel_mean")}
    assert NetworkRecord.from_dict(old).class_names is None


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"class_names": DIGITS[:9]}, "must be 10 strings"),
        ({"class_names": "0123456789"}, "must be 10 strings"),
        ({"class_names": tuple(range(10))}, "must be 10 strings"),
        ({"pixel_mean": (1, 2)}, "must be 3 numbers"),
        ({"pixel_mean": (1, 2, float("nan"))}, "must be 3 numbers"),
        ({"pixel_mean": (1, 2, True)}, "must be 3 numbers"),
    ],
)
def test_record_refuses_bad_names_and_means(changes, message):
    with pytest.raises(ValueError, match=rf"{message}.*Received"):
        digits_record(**changes)


def test_labels_are_imagenet_only_for_the_imagenet_record():
    imagenet = NetworkRecord()
    assert is_imagenet(imagenet) and not is_imagenet(digits_record())
    labels = class_labels(imagenet)
    assert [(label.id, label.name) for label in labels] == list(imagenet_classes())
    assert [label.name for label in class_labels(digits_record())] == list(DIGITS)
    unnamed = NetworkRecord(classes=3, categories="mine")
    assert [label.name for label in class_labels(unnamed)] == ["class 0", "class 1", "class 2"]


def test_top_k_labels_orders_by_probability_and_checks_the_shape():
    p = np.array([[0.05, 0.5, 0.1, 0.0, 0.0, 0.05, 0.0, 0.3, 0.0, 0.0]])
    labels = top_k_labels(p, digits_record(), top=3)[0]
    assert [(label.index, label.name) for label in labels] == [(1, "1"), (7, "7"), (2, "2")]
    assert labels[0].to_dict() == {"index": 1, "id": "1", "label": "1", "score": 0.5}
    with pytest.raises(ValueError, match=r"\(samples, 10\).*Received: array of shape \(1, 1000\)"):
        top_k_labels(np.zeros((1, 1000)), digits_record())
    with pytest.raises(ValueError, match="Received: top=0"):
        top_k_labels(p, digits_record(), top=0)


def test_paper_preprocessing_subtracts_the_recorded_mean_in_either_layout():
    x = np.random.default_rng(0).integers(0, 256, (2, 5, 5, 3)).astype("uint8")
    mean = np.array([10.0, 120.5, 200.0], "float32")
    record = digits_record(pixel_mean=tuple(mean))
    np.testing.assert_allclose(preprocess_for(x, record), x.astype("float32") - mean, rtol=0, atol=1e-5)
    first = preprocess_for(np.moveaxis(x, -1, 1), record, data_format="channels_first")
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), x.astype("float32") - mean, atol=1e-5)
    assert x.dtype == np.uint8  # the input is never modified
    with pytest.raises(ValueError, match="no `pixel_mean`.*Received: pixel_mean=None"):
        preprocess_for(x, digits_record())
    # The other conventions are preprocess_input's.
    from keras_alexnet import preprocess_input

    np.testing.assert_array_equal(preprocess_for(x, NetworkRecord()), preprocess_input(x, mode="caffe"))


def test_evaluation_maps_dataset_classes_to_a_named_model_by_name():
    mapping, names = label_mapping(["7", "3", "0"], 10, "digits:train", DIGITS)
    assert mapping.tolist() == [7, 3, 0] and names == list(DIGITS)
