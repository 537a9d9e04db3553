"""The weights registry: records, parameter and MAC counts, tables, model cards, registration."""

from __future__ import annotations

import dataclasses
import json
import re

import keras
import pytest

import keras_alexnet
from keras_alexnet.weights.model_card import build_model_card
from keras_alexnet.weights.registry import (
    Original,
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
        assert record.license and record.originals and record.reported_results
        for result in record.reported_results:
            assert set(result.metrics) == {"top1_acc", "top5_acc"}
            assert result.source and result.reference.startswith("https://") and "crop" in result.preprocessing
        assert not record.hub.published and record.hub.revision is None and record.hub.sha256 is None
        for original in record.originals:  # every original has a full checksum; torchvision keeps its prefix too
            assert original.sha256 or original.sha1
        json.dumps(record.to_dict())
    bvlc = get_weights_record("imagenet")
    assert bvlc.name == "bvlc_imagenet1k" and bvlc.network.lrn.average and bvlc.network.channel_order == "BGR"
    assert [o.format for o in bvlc.originals] == ["onnx", "caffe", "onnx"]


def test_bvlc_originals_live_on_the_hub_first_with_the_dead_github_url_last():
    hub, caffe, github = get_weights_record("imagenet").originals
    assert hub.is_hub and (hub.repo_id, hub.path_in_repo, hub.revision) == (
        "onnxmodelzoo/legacy_models",
        "validated/vision/classification/alexnet/model/bvlcalexnet-12.onnx",
        "main",
    )
    assert hub.sha256 == "6b0da9510f27f234ee96a85dc3809dd210150fdefad87f6850f9788513216945"
    assert hub.size == 243_863_787 and "'main'" in hub.note and "sha256 and size" in hub.note
    assert hub.url == f"https://huggingface.co/onnxmodelzoo/legacy_models/resolve/main/{hub.path_in_repo}"
    assert hub.location.endswith(f"/onnxmodelzoo/legacy_models/resolve/main/{hub.path_in_repo}")  # HF_ENDPOINT
    assert caffe.url == "http://dl.caffe.berkeleyvision.org/bvlc_alexnet.caffemodel" and not caffe.is_hub
    assert github.url.startswith("https://github.com/onnx/models/raw/") and "Git-LFS pointer" in github.note
    assert (github.sha256, github.size) == (hub.sha256, hub.size)


def test_torchvision_original_has_its_full_sha256_and_size():
    (original,) = get_weights_record("torchvision_imagenet1k").originals
    assert original.sha256 == "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02"
    assert original.size == 244_408_911 and original.sha256_prefix == "7be5be79"
    assert original.checksum == f"sha256:{original.sha256}"


def test_bvlc_facts_and_both_reported_results():
    bvlc = get_weights_record("imagenet")
    assert "Evan Shelhamer" in bvlc.description and "Donahue" not in bvlc.description
    assert "0.1 instead of 1" in bvlc.description and "flat loss" in bvlc.description
    by_source = {result.source: result for result in bvlc.reported_results}
    assert by_source["BVLC"].metrics == {"top1_acc": 57.1, "top5_acc": 80.2}
    assert "centre 227x227 crop" in by_source["BVLC"].preprocessing and "bvlc_alexnet" in by_source["BVLC"].reference
    assert by_source["ONNX model zoo"].metrics == {"top1_acc": 54.80, "top5_acc": 78.23}
    assert "224x224" in by_source["ONNX model zoo"].preprocessing
    listed = bvlc.to_dict()["reported_results"]
    assert [r["source"] for r in listed] == ["BVLC", "ONNX model zoo"] and "preprocessing" in listed[0]
    card = build_model_card(bvlc.network, bvlc)
    assert "Evan Shelhamer" in card and "0.1 instead of 1" in card
    assert "BVLC: top-1 57.1%, top-5 80.2%" in card and "ONNX model zoo: top-1 54.8%, top-5 78.23%" in card
    assert "`onnxmodelzoo/legacy_models`" in card and "243,863,787 bytes" in card
    assert "57.1% / 80.2% (BVLC); 54.8% / 78.23% (ONNX model zoo)" in weights_markdown_table()


@pytest.mark.parametrize(
    "fields, problem",
    [
        (dict(format="onnx", filename="f"), "either a URL"),
        (dict(url="http://x/f", repo_id="a/b", path_in_repo="f", format="onnx", filename="f"), "not both"),
        (dict(repo_id="no-slash", path_in_repo="f", format="onnx", filename="f"), "'org/name'"),
        (dict(repo_id="a/b", format="onnx", filename="f"), "path_in_repo"),
        (dict(url="http://x/f", filename="f"), "needs a `format`"),
        (dict(url="http://x/f", format="onnx", filename="f", size=0), "positive number of bytes"),
    ],
)
def test_bad_originals_are_refused(fields, problem):
    with pytest.raises(ValueError, match=f"(?s){re.escape(problem)}.*Received: "):
        Original(**fields)


def test_a_replaced_hub_original_derives_its_url_again():
    hub = get_weights_record("imagenet").originals[0]
    moved = dataclasses.replace(hub, revision="0123456789abcdef0123456789abcdef01234567")
    assert moved.url.endswith(f"/resolve/0123456789abcdef0123456789abcdef01234567/{hub.path_in_repo}")
    assert moved.to_dict()["source"] == "hub" and moved.to_dict()["revision"] == moved.revision


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
    assert "244,408,911 bytes" in card and "torchvision: top-1 56.522%, top-5 79.066%" in card


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
