"""`evaluate --dataset tfds:NAME:SPLIT`: the streaming inputs' TFDS form names the dataset and split."""

from __future__ import annotations

import json

import pytest

from keras_alexnet.batch.inputs import parse_tfds_spec
from keras_alexnet.cli.main import main


def test_parse_tfds_spec():
    assert parse_tfds_spec("tfds:imagenet2012:validation[:1000]") == ("imagenet2012", "validation[:1000]")
    with pytest.raises(ValueError, match="tfds:NAME:SPLIT"):
        parse_tfds_spec("tfds:imagenet2012")


def test_evaluate_takes_the_tfds_form(tmp_path, capsys):
    summary = tmp_path / "summary.json"
    argv = ["evaluate", "--dataset", "tfds:digits:validation", "--limit", "4", "--batch-size", "4"]
    argv += ["--csv", str(tmp_path / "c.csv"), "--plot", str(tmp_path / "p.png"), "--json", str(summary)]
    assert main(argv) == 0
    result = json.loads(summary.read_text())
    assert (result["dataset"], result["split"], result["crops"]["center"]["images"]) == ("digits", "validation", 4)
