"""`DataOptions`: the dataset fields shared by `TrainConfig` and `FinetuneConfig`."""

from __future__ import annotations

import dataclasses

import pytest

from keras_alexnet.cli._options import DATA_HELPS
from keras_alexnet.data.options import DataOptions
from keras_alexnet.training.config import TrainConfig
from keras_alexnet.training.finetune import FinetuneConfig


def test_load_sources_applies_each_split_its_own_limit():
    train, val = DataOptions(dataset="digits", limit=12, val_limit=5).load_sources()
    assert (train.num_examples, val.num_examples) == (12, 5)
    assert train.num_classes == val.num_classes == 10


def test_unknown_dataset_error_is_the_loaders():
    with pytest.raises(ValueError, match="Received"):
        DataOptions(dataset="folder:/nonexistent/keras_alexnet").load_sources()


@pytest.mark.parametrize("config_class", [TrainConfig, FinetuneConfig])
def test_both_configs_carry_every_data_field_with_help(config_class):
    data_fields = {f.name for f in dataclasses.fields(DataOptions)}
    assert data_fields <= {f.name for f in dataclasses.fields(config_class)}
    assert data_fields == set(DATA_HELPS)


def test_finetune_config_still_requires_weights():
    with pytest.raises(TypeError, match="weights"):
        FinetuneConfig(dataset="digits")
    assert FinetuneConfig(weights="imagenet", limit=3).limit == 3


def test_train_config_round_trips_through_a_dict():
    config = TrainConfig(dataset="digits", limit=7, epochs=2)
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_split_arguments_defaults_and_required_dataset():
    import argparse

    from keras_alexnet.cli._options import add_split_arguments, source_kwargs

    parser = argparse.ArgumentParser()
    add_split_arguments(parser, split="train")
    args = parser.parse_args(["--limit", "5", "--manual-dir", "/m"])
    assert (args.dataset, args.split) == ("digits", "train")
    assert source_kwargs(args) == dict(data_dir=None, manual_dir="/m", download=False, limit=5)

    strict = argparse.ArgumentParser(exit_on_error=False)
    add_split_arguments(strict, split="validation", dataset_default=None)
    with pytest.raises((argparse.ArgumentError, SystemExit)):
        strict.parse_args([])
    assert strict.parse_args(["--dataset", "folder:x"]).split == "validation"
