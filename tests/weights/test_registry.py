"""The weights registry: records, parameter and MAC counts, tables, model cards, registration."""

from __future__ import annotations

import dataclasses
import json

import keras
import pytest

import keras_alexnet
from keras_alexnet.weights.model_card import build_model_card
from keras_alexnet.weights.registry import (
    WeightsRecord,
    get_weights_record,
    list_weights,
    register_weights,
)
from keras_alexnet.weights.tables import weights_markdown_table


def _macs_from_built_model(model) -> int:
    """Multiply-accumulates read off a built Keras model's layer shapes (independent of complexity.py)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):  # GroupedConv2D is a Conv2D
            kh, kw, cin_per_group, cout = layer.kernel.shape
            _, h, w, _ = layer.output.shape
            total += h * w * cout * kh * kw * cin_per_group
        elif isinstance(layer, keras.layers.Dense):
            total += layer.kernel.shape[0] * layer.kernel.shape[1]
    return total


@pytest.mark.parametrize("name", ["bvlc_imagenet1k", "torchvision_imagenet1k"])
def test_counts_match_the_built_network(name):
    record = get_weights_record(name)
    model = keras_alexnet.AlexNet(variant=record.variant, lrn=record.network.lrn)
    assert record.num_params == model.count_params()
    assert record.macs == _macs_from_built_model(model)


def test_macs_agree_with_published_figures():
    # torchvision documents 0.71 GFLOPS (multiply-accumulates) for its AlexNet at 224x224
    assert round(get_weights_record("torchvision_imagenet1k").macs / 1e9, 2) == 0.71
    assert get_weights_record("imagenet").macs == 724_406_816


def test_records_say_what_they_are():
    for record in list_weights():
        assert record.network.input_size in (224, 227)
        assert record.license and record.originals and "reported by" in record.metrics_source
        assert set(record.reported_metrics) == {"top1_acc", "top5_acc"}
        assert not record.hub.published and record.hub.revision is None and record.hub.sha256 is None
        json.dumps(record.to_dict())
    bvlc = get_weights_record("imagenet")
    assert bvlc.name == "bvlc_imagenet1k" and bvlc.network.lrn.average and bvlc.network.channel_order == "BGR"
    assert [o.format for o in bvlc.originals] == ["onnx", "caffe"]


def test_markdown_table_is_generated_from_the_records():
    table = weights_markdown_table()
    for record in list_weights():
        assert record.name in table and f"{record.num_params:,}" in table and record.license in table
    assert "None of these checkpoints is published on the Hub yet" in table
    published = dataclasses.replace(
        get_weights_record("imagenet"),
        hub=dataclasses.replace(get_weights_record("imagenet").hub, revision="a" * 40, sha256="b" * 64),
    )
    assert "Published on the Hub: bvlc_imagenet1k" in weights_markdown_table([published], hub_org="o")
    assert "o/alexnet-bvlc-imagenet1k@aaaaaaaaaa" in weights_markdown_table([published], hub_org="o")


def test_model_card_quotes_the_record():
    record = get_weights_record("torchvision_imagenet1k")
    card = build_model_card(record.network, record)
    assert card.startswith("---\nlibrary_name: keras") and "BSD-3-Clause" in card and "alexnet-owt-7be5be79" in card


def test_register_weights_guards_names():
    real = get_weights_record("torchvision_imagenet1k")
    with pytest.raises(ValueError, match="already registered"):
        register_weights(real)
    with pytest.raises(ValueError, match="already registered"):
        register_weights(dataclasses.replace(real, name="other", aliases=("imagenet",)))
    extra: WeightsRecord = dataclasses.replace(real, name="my_mirror", aliases=("mine",))
    assert register_weights(extra) is None
    try:
        assert get_weights_record("mine") is extra
        assert keras_alexnet.weights.resolve.is_valid_weights_argument("my_mirror")
    finally:
        from keras_alexnet.weights import registry

        registry._RECORDS.pop("my_mirror")
        registry._ALIASES.pop("mine")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(
        ValueError, match=r"Expected one of \['bvlc_imagenet1k', 'imagenet', 'torchvision_imagenet1k'\]"
    ):
        get_weights_record("alexnet")
