"""Fault tolerance: SIGKILL mid-epoch, resume, and get the uninterrupted run's weights; atomic saves; NaN stop."""

from __future__ import annotations

import csv
import json

import keras
import numpy as np
import pytest
from procs import assert_same, finish, load, run, run_shared, start


def _kill_then_resume(tmp_path, config: dict, kill_after: int):
    process, _ = start(tmp_path, "run", config, sigkill_after_steps=kill_after)
    output = finish(process)
    assert process.returncode == -9, output[-3000:]  # died by SIGKILL, mid-epoch 2 (4 steps per epoch)
    assert not (tmp_path / "run.npz").exists()
    return run(tmp_path, "run", config | {"resume": True})


@pytest.mark.slow
@pytest.mark.multiprocess
def test_custom_loop_resume_after_sigkill_equals_uninterrupted(tmp_path, tmp_path_factory):
    # Checkpoints every 3 steps and at each epoch end; killed after step 7: the last checkpoint is step 6,
    # epoch 2's second batch; the resumed run restores it and skips the 2 batches already done.
    config = {"strategy": "none", "loop": "custom", "batch_size": 8, "checkpoint_every": 3}
    uninterrupted = run_shared(tmp_path_factory, config)  # also test_distributed.py's custom-loop run
    resumed = _kill_then_resume(tmp_path, config, kill_after=7)
    assert_same(resumed, uninterrupted, rtol=0, atol=0)
    assert len(json.loads((tmp_path / "run.npz.json").read_text())["history"]) == 1  # only epoch 2 was run
    with open(tmp_path / "run" / "log.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1"]


@pytest.mark.slow
@pytest.mark.multiprocess
def test_fit_resume_after_sigkill_equals_uninterrupted(tmp_path, tmp_path_factory):
    # BackupAndRestore at each epoch end; killed after step 6 (mid-epoch 2): epoch 2 is replayed from its start
    # with the epoch-1 state (weights, momentum, step counter) and the same (seed, epoch) batches.
    config = {"strategy": "none", "loop": "fit", "batch_size": 8, "checkpoint_every": 0}
    uninterrupted = run_shared(tmp_path_factory, config)  # also test_distributed.py's reference fit
    resumed = _kill_then_resume(tmp_path, config, kill_after=6)
    assert_same(resumed, uninterrupted, rtol=0, atol=0)
    assert len(json.loads((tmp_path / "run.npz.json").read_text())["history"]) == 1  # only epoch 2 was re-run
    with open(tmp_path / "run" / "log.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1"]


def _truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _run_with_output(tmp_path, name: str, config: dict):
    process, out = start(tmp_path, name, config)
    output = finish(process)
    assert process.returncode == 0, output[-3000:]
    return load(out), output


@pytest.mark.slow
@pytest.mark.multiprocess
def test_fit_resume_with_a_truncated_latest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    # 3 epochs, a checkpoint at each epoch end: ckpt-2 (after epoch 2) and ckpt-3 (after epoch 3) are kept.
    # ckpt-3 truncated: the resumed run says so in one line, restores ckpt-2 and runs epoch 3 again, which
    # ends where the uninterrupted run ended (resuming from an epoch-end checkpoint is exact).
    config = {"strategy": "none", "loop": "fit", "batch_size": 8, "checkpoint_every": 0, "epochs": 3}
    uninterrupted = run(tmp_path, "run", config)
    backup = tmp_path / "run" / "backup"
    assert sorted(p.name for p in backup.iterdir()) == [
        "ckpt-2.json",
        "ckpt-2.weights.h5",
        "ckpt-3.json",
        "ckpt-3.weights.h5",
    ]
    _truncate(backup / "ckpt-3.weights.h5")
    resumed, output = _run_with_output(tmp_path, "run", config | {"resume": True})
    lines = [line for line in output.splitlines() if "ckpt-3.weights.h5 is truncated" in line]
    assert len(lines) == 1 and f"resuming from the newest intact checkpoint, {backup / 'ckpt-2.weights.h5'}" in lines[0]
    assert_same(resumed, uninterrupted, rtol=0, atol=0)
    assert len(json.loads((tmp_path / "run.npz.json").read_text())["history"]) == 1  # only epoch 3 was run again
    with open(tmp_path / "run" / "log.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1", "2"]  # epoch 3's first row replaced
    assert json.loads((backup / "ckpt-3.json").read_text())["position"]["epoch"] == 3  # rewritten, intact


@pytest.mark.slow
@pytest.mark.multiprocess
def test_custom_loop_resume_with_a_truncated_latest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    # Checkpoints after steps 3, 4 (epoch 1 end), 6 and 8 (epoch 2 end): ckpt-2, -3, -4 kept. ckpt-4's data
    # truncated: the resumed run restores ckpt-3 (epoch 2, 2 of 4 steps done), runs steps 7-8, and ends
    # where the uninterrupted run ended (the custom loop resumes exactly mid-epoch).
    config = {"strategy": "none", "loop": "custom", "batch_size": 8, "checkpoint_every": 3}
    uninterrupted = run(tmp_path, "run", config)
    checkpoints = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in checkpoints.glob("ckpt-*.json")) == ["ckpt-2.json", "ckpt-3.json", "ckpt-4.json"]
    data = next(checkpoints.glob("ckpt-4.data-*"))
    _truncate(data)
    resumed, output = _run_with_output(tmp_path, "run", config | {"resume": True})
    lines = [line for line in output.splitlines() if f"{data.name} is truncated" in line]
    assert len(lines) == 1 and f"resuming from the newest intact checkpoint, {checkpoints / 'ckpt-3'}" in lines[0]
    assert_same(resumed, uninterrupted, rtol=0, atol=0)
    assert len(json.loads((tmp_path / "run.npz.json").read_text())["history"]) == 1  # only epoch 2 was finished
    with open(tmp_path / "run" / "log.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1"]


def test_run_directory_with_checkpoints_needs_resume(tmp_path):
    from keras_alexnet.training import TrainConfig, train

    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "latest.weights.h5").write_bytes(b"x")
    with pytest.raises(ValueError, match="--resume"):
        train(TrainConfig(run_dir=str(tmp_path), strategy="none", loop="fit"))


def test_nan_loss_stops_the_run_with_a_clear_message(tmp_path):
    from keras_alexnet.training import TrainConfig, train

    def exploding(num_classes, image_size):
        return keras.Sequential(
            [
                keras.Input((image_size, image_size, 3)),
                keras.layers.Flatten(),
                keras.layers.Dense(num_classes, activation="softmax"),
            ]
        )

    config = TrainConfig(
        limit=32,
        val_limit=8,
        image_size=8,
        resize=8,
        batch_size=8,
        epochs=3,
        learning_rate=1e30,
        run_dir=str(tmp_path),
        verbose=0,
        strategy="none",
        mean="none",
        pca_std=0.0,
    )
    with pytest.raises(RuntimeError, match="loss became nan"):
        train(config, model_fn=exploding)


def test_atomic_save_keeps_the_last_good_model(tmp_path, monkeypatch):
    from keras_alexnet.training.checkpoints import save_model_atomic

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    path = save_model_atomic(model, tmp_path / "model.keras")
    good = path.read_bytes()

    def crash(*args, **kwargs):
        with open(args[0], "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(model, "save", crash)
    with pytest.raises(OSError):
        save_model_atomic(model, path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]  # no leftovers
    np.testing.assert_array_equal(keras.saving.load_model(path).get_weights()[0], model.get_weights()[0])


def test_training_on_a_folder_with_bad_files_counts_them(tmp_path, rng):
    from PIL import Image

    from keras_alexnet.training import TrainConfig, train

    for split, count in (("train", 8), ("val", 4)):
        for c in ("a", "b"):
            folder = tmp_path / "data" / split / c
            folder.mkdir(parents=True)
            for i in range(count):
                Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(folder / f"{i}.jpg")
            (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")

    def tiny(num_classes, image_size):
        return keras.Sequential(
            [
                keras.Input((image_size, image_size, 3)),
                keras.layers.Flatten(),
                keras.layers.Dense(num_classes, "softmax"),
            ]
        )

    config = TrainConfig(
        dataset=f"folder:{tmp_path / 'data'}",
        val_split="val",
        image_size=12,
        resize=16,
        batch_size=4,
        epochs=1,
        steps_per_epoch=3,
        run_dir=str(tmp_path / "run"),
        verbose=0,
        strategy="none",
    )
    result = train(config, model_fn=tiny)
    assert result.bad_records == 4  # one per class folder, in both splits
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["bad_records"] == 4 and "undecodable" in results["bad_records_report"]
    assert result.effective_config["derived"]["class_names"] == ["a", "b"]
