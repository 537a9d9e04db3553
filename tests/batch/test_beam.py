"""`--runner beam`: Beam's DirectRunner with 2 worker processes gives the single-process results."""

from __future__ import annotations

import os

import pytest

from keras_alexnet.batch.results import read_results
from keras_alexnet.cli.main import main

pytest.importorskip("apache_beam", reason="needs the [beam] extra (.ci/setup installs it)")

SEEDED = ["--weights", "none", "--seed", "0", "--variant", "torchvision"]


@pytest.mark.slow
@pytest.mark.multiprocess
def test_predict_on_the_direct_runner_with_two_workers_equals_one_process(awkward_dir, tmp_path, capsys):
    folder, _, _ = awkward_dir
    inputs = [str(folder / "nested"), str(folder / "broken.jpg"), str(folder / "photo.jpg")]
    argv = ["predict", *inputs, *SEEDED, "--top", "3", "--batch-size", "2"]
    local, distributed = tmp_path / "local.jsonl", tmp_path / "beam.jsonl"
    assert main([*argv, "--output", str(local)]) == 1  # broken.jpg
    options = "--direct_running_mode=multi_processing --direct_num_workers=2"
    assert main([*argv, "--output", str(distributed), "--runner", "beam", "--beam-options", options]) == 1
    captured = capsys.readouterr()
    assert "wrote 5 rows" in captured.out and "with Beam's DirectRunner" in captured.out
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # Beam's staging was published and removed
    expected = {row["path"]: row for row in read_results(local)}
    got = {row["path"]: row for row in read_results(distributed)}
    assert sorted(got) == sorted(expected) and len(read_results(distributed)) == 5
    for path, row in expected.items():
        if "error" in row:
            assert got[path]["error"] == row["error"]
            continue
        assert [label["id"] for label in got[path]["predictions"]] == [label["id"] for label in row["predictions"]]
        assert [label["score"] for label in got[path]["predictions"]] == pytest.approx(
            [label["score"] for label in row["predictions"]], rel=1e-4
        )
