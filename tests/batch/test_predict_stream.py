"""Streaming predict: parity with load_image + preprocess_for + model.predict, results files, resume, progress."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import keras_alexnet
from keras_alexnet.batch.inputs import decode_stream, expand_inputs
from keras_alexnet.batch.results import ResultsWriter, read_results
from keras_alexnet.batch.stream import fast_forward, run_batches
from keras_alexnet.cli.main import main
from keras_alexnet.eval_preprocessing import eval_preprocessing
from keras_alexnet.image_io import load_image
from keras_alexnet.preprocessing import preprocess_for

SEEDED = ["--weights", "none", "--seed", "0", "--variant", "torchvision"]


def seeded_model(**kwargs):
    """The network `predict --weights none --seed 0 --variant torchvision` builds."""
    keras.utils.set_random_seed(0)
    return keras_alexnet.AlexNet(variant="torchvision", **kwargs)


def reference(model, paths, network):
    """The independent path: load_image + preprocess_for + model.predict, one image at a time."""
    spec = eval_preprocessing(network)
    images = [load_image(p, size=spec.crop, resize=spec.resize, resize_mode=spec.resize_mode) for p in paths]
    return np.concatenate([model.predict(preprocess_for(image[None], network), verbose=0) for image in images])


def test_streaming_logits_equal_load_image_preprocess_predict(awkward_dir):
    folder, readable, unreadable = awkward_dir
    model = seeded_model(classifier_activation=None)  # logits
    network = keras_alexnet.network_record(model)
    spec = eval_preprocessing(network)
    decoded = decode_stream(expand_inputs([str(folder)]), spec, workers=3)
    streamed = list(run_batches(decoded, fast_forward(model), network, batch_size=4))
    assert sorted(os.path.relpath(d.key, folder) for d, _ in streamed) == sorted(readable + unreadable)
    assert all((row is None) == (os.path.relpath(d.key, folder) in unreadable) for d, row in streamed)
    good = [(d.key, row) for d, row in streamed if row is not None]
    expected = reference(model, [key for key, _ in good], network)
    got = np.stack([row for _, row in good])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    for row, ref in zip(got, expected, strict=True):
        assert list(np.argsort(-row)[:5]) == list(np.argsort(-ref)[:5])


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_predict_output_rows_match_the_reference(awkward_dir, tmp_path, capsys, suffix):
    folder, readable, unreadable = awkward_dir
    output = tmp_path / f"results{suffix}"
    status = main(["predict", str(folder), *SEEDED, "--top", "5", "--batch-size", "4", "--output", str(output)])
    captured = capsys.readouterr()
    assert status == 1  # some inputs failed
    errors = [line for line in captured.err.splitlines() if line.startswith("keras-alexnet predict: error: ")]
    assert len(errors) == len(unreadable)
    assert f"wrote {len(readable) + len(unreadable)} rows" in captured.out
    rows = {os.path.relpath(row["path"], folder): row for row in read_results(output)}
    assert sorted(rows) == sorted(readable + unreadable)
    for name in unreadable:
        assert str(folder / name) in rows[name]["error"]
    model = seeded_model()
    network = keras_alexnet.network_record(model)
    expected = reference(model, [folder / name for name in readable], network)
    for name, probabilities in zip(readable, expected, strict=True):
        top = np.argsort(-probabilities)[:5]
        labels = rows[name]["predictions"]
        if suffix == ".jsonl":
            assert [label["index"] for label in labels] == list(top)
        assert [label["score"] for label in labels] == pytest.approx(probabilities[top], rel=1e-4)


def test_existing_files_are_protected(awkward_dir, tmp_path, capsys):
    folder, _, _ = awkward_dir
    mine = tmp_path / "notes.csv"
    mine.write_text("my,own,data\n")
    photo = str(folder / "photo.jpg")
    assert main(["predict", photo, *SEEDED, "--output", str(mine)]) == 1
    assert "not an earlier results file" in capsys.readouterr().err and mine.read_text() == "my,own,data\n"
    earlier = tmp_path / "earlier.jsonl"
    with ResultsWriter(earlier, top=5) as out:
        out.write_error("x.jpg", "x.jpg: broken")
    assert main(["predict", photo, *SEEDED, "--output", str(earlier)]) == 1
    assert "pass --resume" in capsys.readouterr().err
    assert main(["predict", photo, *SEEDED, "--output", str(tmp_path / "r.txt")]) == 1
    assert ".jsonl" in capsys.readouterr().err
    assert main(["predict", photo, *SEEDED, "--resume"]) == 1
    assert "--output" in capsys.readouterr().err


def test_resume_drops_a_partial_last_line_and_checks_top(tmp_path):
    path = tmp_path / "r.jsonl"
    with ResultsWriter(path, top=2) as out:
        out.write_error("a.jpg", "a.jpg: broken")
    with open(path, "a") as file:
        file.write('{"path": "b.jpg", "predic')  # killed mid-write
    writer = ResultsWriter(path, top=2, resume=True)
    writer.close()
    assert writer.done_keys == {"a.jpg"} and path.read_text().count("\n") == 1 and path.read_text().endswith("}\n")
    csv_path = tmp_path / "r.csv"
    ResultsWriter(csv_path, top=2).close()
    with pytest.raises(ValueError, match="resume with --top 2"):
        ResultsWriter(csv_path, top=3, resume=True)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(awkward_dir, monkeypatch, capsys):
    folder, readable, unreadable = awkward_dir
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["predict", str(folder / "nested"), *SEEDED, "--top", "1"]) == 0
    bar = terminal.getvalue()
    assert "3/3" in bar and "img/s" in bar and "<" in bar  # count, rate, ETA
    monkeypatch.undo()
    capsys.readouterr()
    assert main(["predict", str(folder / "nested"), *SEEDED, "--top", "1"]) == 0
    assert "img/s" not in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.multiprocess
def test_a_killed_run_resumes_with_nothing_lost_or_written_twice(tiny_images, tmp_path):
    """SIGKILL mid-run, then --resume: the rows equal an uninterrupted run's, each input exactly once."""
    total = len(list(tiny_images.iterdir()))
    full = tmp_path / "full.jsonl"
    argv = ["predict", str(tiny_images), *SEEDED, "--top", "3", "--batch-size", "2"]
    assert main([*argv, "--output", str(full)]) == 0
    killed = tmp_path / "killed.jsonl"
    command = [sys.executable, "-m", "keras_alexnet.cli.main", *argv, "--output", str(killed)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and process.poll() is None:
            if killed.exists() and killed.read_bytes().count(b"\n") >= 6:
                break
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    written = killed.read_bytes()
    assert 6 <= written.count(b"\n") < total  # killed mid-way
    with open(killed, "ab") as file:
        file.write(b'{"path": "' + str(tiny_images).encode() + b"/img_0")  # and a half-written last line
    assert main([*argv, "--output", str(killed), "--resume"]) == 0
    resumed, uninterrupted = read_results(killed), read_results(full)
    assert len(resumed) == total == len({row["path"] for row in resumed})
    by_path = {row["path"]: row["predictions"] for row in uninterrupted}
    for row in resumed:
        expected = by_path[row["path"]]
        assert [label["index"] for label in row["predictions"]] == [label["index"] for label in expected]
        assert [label["score"] for label in row["predictions"]] == pytest.approx(
            [label["score"] for label in expected], rel=1e-4
        )
    assert json.loads(killed.read_text().splitlines()[-1])["path"] in by_path
