"""Damaged checkpoints: each gets a sha256 record, the newest intact one is used, staging is never a result.

Fast, in-process tests on tiny models; the end-to-end resume tests (final weights equal to an uninterrupted
run) are in test_resume.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_alexnet.cli.main import main
from keras_alexnet.errors import DamagedFileError
from keras_alexnet.training.checkpoints import (
    DamagedCheckpointError,
    WeightsBackup,
    check_record,
    save_model_atomic,
    select_tf_checkpoint,
)
from keras_alexnet.training.loop import CustomLoop


def _model(seed: int = 0) -> keras.Model:
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, kernel_initializer=keras.initializers.GlorotUniform(seed))]
    )
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse")
    return model


def _train_step(model, seed: int) -> None:
    rng = np.random.default_rng(seed)
    model.train_on_batch(rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 3)).astype("float32"))


def _backup_with_three(tmp_path):
    """Three checkpoints (epochs 1, 2, 3), the weights of each; the backup keeps the newest two."""
    backup, model, weights = WeightsBackup(tmp_path / "backup"), _model(), {}
    for epoch in (1, 2, 3):
        _train_step(model, epoch)
        backup.save(model, epoch, {"epoch": epoch, "batch": 0})
        weights[epoch] = [np.array(w) for w in model.get_weights()]
    return backup, weights


def _truncate(path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _flip_a_bit(path, offset: int = -200) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x10
    path.write_bytes(bytes(data))


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_backup_keeps_two_checkpoints_each_with_a_sha256_record(tmp_path):
    backup, _ = _backup_with_three(tmp_path)
    assert sorted(p.name for p in backup.directory.iterdir()) == [
        "ckpt-2.json",
        "ckpt-2.weights.h5",
        "ckpt-3.json",
        "ckpt-3.weights.h5",
    ]
    record = json.loads((backup.directory / "ckpt-3.json").read_text())
    entry = record["files"]["ckpt-3.weights.h5"]
    assert entry["bytes"] == (backup.directory / "ckpt-3.weights.h5").stat().st_size and len(entry["sha256"]) == 64
    assert record["position"] == {"epoch": 3, "batch": 0}
    assert check_record(backup.directory / "ckpt-3.json") == ({"epoch": 3, "batch": 0}, None)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (_truncate, "ckpt-3.weights.h5 is truncated ("),
        (_flip_a_bit, "ckpt-3.weights.h5 fails its sha256 check (corrupted)"),
        (lambda path: path.with_name("ckpt-3.json").unlink(), "its record ckpt-3.json is missing"),
        (lambda path: path.with_name("ckpt-3.json").write_text("{not json"), "its record ckpt-3.json is unreadable"),
        (lambda path: path.unlink(), "ckpt-3.weights.h5 is missing"),
    ],
    ids=["truncated", "bit-flip", "no-record", "bad-record", "no-weights"],
)
def test_damaged_newest_backup_falls_back_to_the_previous_one_in_one_line(tmp_path, damage, problem):
    backup, weights = _backup_with_three(tmp_path)
    damage(backup.weights_path(3))
    choice = backup.select()
    assert choice.path == backup.weights_path(2) and choice.position["epoch"] == 2 and choice.number == 2
    message = choice.message
    assert "\n" not in message and problem in message
    assert str(backup.weights_path(3)) in message and f"resuming from the newest intact checkpoint, {choice.path}"
    restored = _model(seed=5)
    restored.optimizer.build(restored.trainable_variables)
    restored.load_weights(choice.path)
    for got, want in zip(restored.get_weights(), weights[2], strict=True):
        np.testing.assert_array_equal(got, want)


def test_intact_newest_backup_is_used_without_a_message(tmp_path):
    backup, _ = _backup_with_three(tmp_path)
    choice = backup.select()
    assert choice.path == backup.weights_path(3) and choice.message is None


def test_no_intact_backup_is_one_error_naming_every_file_and_the_fix(tmp_path):
    backup, _ = _backup_with_three(tmp_path)
    _truncate(backup.weights_path(3))
    _flip_a_bit(backup.weights_path(2))
    with pytest.raises(DamagedCheckpointError) as error:
        backup.select()
    message = str(error.value)
    assert isinstance(error.value, DamagedFileError) and isinstance(error.value, ValueError)
    assert str(backup.weights_path(3)) in message and str(backup.weights_path(2)) in message
    assert "is truncated" in message and "fails its sha256 check" in message
    assert f"Delete {backup.directory} and train without --resume" in message and "Received:" in message
    assert "\n" not in message


def test_saving_after_a_fallback_replaces_the_damaged_checkpoint_and_keeps_two(tmp_path):
    backup, _ = _backup_with_three(tmp_path)
    _truncate(backup.weights_path(3))
    choice = backup.select()
    backup.save(_model(), choice.number + 1, {"epoch": 3, "batch": 0})  # what the resumed run does next
    assert backup.numbers() == [3, 2]
    assert backup.select().path == backup.weights_path(3) and backup.select().message is None


def test_earlier_versions_backup_is_checked_by_reading_it(tmp_path):
    # Keras' BackupAndRestore layout, as earlier versions wrote it (no record).
    directory = tmp_path / "backup"
    directory.mkdir()
    model = _model()
    model.optimizer.build(model.trainable_variables)
    model.save_weights(directory / "latest.weights.h5")
    (directory / "training_metadata.json").write_text('{"epoch": 4, "batch": 0}')
    choice = WeightsBackup(directory).select()
    assert choice.path.name == "latest.weights.h5" and choice.position["epoch"] == 4 and choice.message is None
    _truncate(directory / "latest.weights.h5", keep=0.6)
    with pytest.raises(DamagedCheckpointError, match="latest.weights.h5 is not a readable HDF5 file"):
        WeightsBackup(directory).select()
    # The first new checkpoint replaces the old layout.
    WeightsBackup(directory).save(model, 5, {"epoch": 5, "batch": 0})
    assert sorted(p.name for p in directory.iterdir()) == ["ckpt-5.json", "ckpt-5.weights.h5"]


def test_stale_staging_of_a_killed_checkpoint_write_is_removed_and_never_a_checkpoint(tmp_path):
    backup, _ = _backup_with_three(tmp_path)
    dead = _dead_pid()
    # What a save killed mid-write leaves: a staging directory named after its (now dead) writer ...
    stale = backup.directory / f".ckpt-4.weights.h5.save.{dead}.0123abcd"
    stale.mkdir()
    (stale / "staging.weights.h5").write_bytes(b"half a checkpoint")
    # ... and an earlier version's `tempfile.mkdtemp` staging (no owner recorded), over an hour old.
    legacy = backup.directory / ".latest.weights.h5.k2j4h5g6"
    legacy.mkdir()
    (legacy / "staging.weights.h5").write_bytes(b"half a checkpoint")
    os.utime(legacy, (0, 0))
    # A staging directory of a process that is still running is left alone.
    alive = backup.directory / f".ckpt-9.weights.h5.save.{os.getppid()}.89abcdef"
    alive.mkdir()
    assert backup.numbers() == [3, 2]  # staging never counts as a checkpoint
    assert backup.select().path == backup.weights_path(3)  # resuming is a use of the place: stale staging goes
    assert not stale.exists() and not legacy.exists() and alive.exists()
    stale.mkdir()
    model = _model(seed=7)
    _train_step(model, 4)
    backup.save(model, 4, {"epoch": 4, "batch": 0})
    assert not stale.exists()
    assert backup.select().path == backup.weights_path(4)
    restored = _model()
    restored.optimizer.build(restored.trainable_variables)
    restored.load_weights(backup.weights_path(4))
    np.testing.assert_array_equal(restored.get_weights()[0], model.get_weights()[0])


def test_save_model_atomic_removes_a_dead_writers_staging(tmp_path):
    model = _model()
    _train_step(model, 0)
    stale = tmp_path / f".model.keras.save.{_dead_pid()}.deadbeef"
    stale.mkdir()
    (stale / "staging.keras").write_bytes(b"partial")
    path = save_model_atomic(model, tmp_path / "model.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]
    np.testing.assert_array_equal(keras.saving.load_model(path).get_weights()[0], model.get_weights()[0])


def test_train_resume_with_no_intact_checkpoint_is_one_cli_error_line(tmp_path, capsys):
    backup, _ = _backup_with_three(tmp_path / "run")
    _truncate(backup.weights_path(3))
    backup.weights_path(2).write_bytes(os.urandom(2000))
    code = main(["train", "--resume", "--run-dir", str(tmp_path / "run"), "--strategy", "none", "--verbose", "0"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("keras-alexnet train: error:")]
    assert len(lines) == 1
    assert str(backup.weights_path(3)) in lines[0] and str(backup.weights_path(2)) in lines[0]
    assert "without --resume" in lines[0]


def test_run_directory_holding_only_staging_is_not_a_run(tmp_path):
    from keras_alexnet.training import TrainConfig, train

    stale = tmp_path / "backup" / f".ckpt-1.weights.h5.save.{_dead_pid()}.0123abcd"
    stale.mkdir(parents=True)
    # Past the "already holds checkpoints" check: the error is the next one, about the dataset.
    with pytest.raises(ValueError, match="Unknown dataset"):
        train(TrainConfig(run_dir=str(tmp_path), strategy="none", loop="fit", dataset="no-such-dataset-x"))


# -- the custom loop's TensorFlow checkpoints -----------------------------------------------------------------------
def _custom_loop(directory):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    return CustomLoop(
        model, keras.optimizers.SGD(0.1, momentum=0.9), tf.distribute.get_strategy(), directory, verbose=0
    )


def _dataset(epoch):
    rng = np.random.default_rng(epoch)
    images, labels = rng.normal(size=(12, 4)).astype("float32"), rng.integers(0, 3, 12).astype("int32")
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)


def _custom_run(directory):
    """One epoch of 3 steps, a checkpoint after every step: ckpt-2, -3, -4 kept (max_to_keep=3)."""
    loop = _custom_loop(directory)
    loop.checkpoint_every = 1
    weights, original_save = {}, loop.save

    def save():
        original_save()
        weights[len(weights) + 1] = [np.array(w) for w in loop.model.get_weights()]

    loop.save = save
    loop.fit(_dataset, epochs=1, global_batch_size=4)
    return loop, weights


def test_custom_loop_checkpoints_have_records_and_a_damaged_one_is_passed_over(tmp_path):
    loop, weights = _custom_run(tmp_path)
    assert [os.path.basename(p) for p in loop.manager.checkpoints] == ["ckpt-2", "ckpt-3", "ckpt-4"]
    assert sorted(p.name for p in tmp_path.glob("ckpt-*.json")) == ["ckpt-2.json", "ckpt-3.json", "ckpt-4.json"]
    assert check_record(tmp_path / "ckpt-4.json")[0] == {"epoch": 1, "step_in_epoch": 0, "iterations": 3}
    data = next(tmp_path.glob("ckpt-4.data-*"))
    _truncate(data)
    choice = select_tf_checkpoint(tmp_path)
    assert choice.path == tmp_path / "ckpt-3"
    assert "\n" not in choice.message and f"{tmp_path / 'ckpt-4'} is damaged: {data.name} is truncated" in (
        choice.message
    )
    fresh = _custom_loop(tmp_path)
    assert fresh.restore() is not None
    for got, want in zip(fresh.model.get_weights(), weights[3], strict=True):
        np.testing.assert_array_equal(got, want)
    assert (int(fresh.epoch.numpy()), int(fresh.step_in_epoch.numpy())) == (0, 3)


def test_custom_loop_checkpoint_without_record_is_checked_by_tensorflow(tmp_path):
    _custom_run(tmp_path)
    for record in tmp_path.glob("ckpt-*.json"):
        record.unlink()  # an earlier version's checkpoints
    assert select_tf_checkpoint(tmp_path).path == tmp_path / "ckpt-4"
    _flip_a_bit(next(tmp_path.glob("ckpt-4.data-*")), offset=10)
    choice = select_tf_checkpoint(tmp_path)
    assert choice.path == tmp_path / "ckpt-3" and "ckpt-4 is damaged: it is not readable" in choice.message


def test_custom_loop_with_no_intact_checkpoint_raises_naming_them(tmp_path):
    _custom_run(tmp_path)
    for data in tmp_path.glob("ckpt-*.data-*"):
        _truncate(data, keep=0.3)
    with pytest.raises(DamagedCheckpointError) as error:
        _custom_loop(tmp_path).restore()
    for n in (2, 3, 4):
        assert str(tmp_path / f"ckpt-{n}") in str(error.value)
    assert "train without --resume" in str(error.value)


def test_custom_loop_removes_the_shards_of_a_killed_save_and_never_takes_them_for_a_checkpoint(tmp_path):
    _custom_run(tmp_path)
    temp = tmp_path / "ckpt-5_temp"  # TensorFlow's shards, before it merges them into ckpt-5.index / .data
    temp.mkdir()
    (temp / "part-00000-of-00001.index").write_bytes(b"half")
    (temp / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"half")
    loop = _custom_loop(tmp_path)
    assert loop.restore().path == tmp_path / "ckpt-4"
    assert not temp.exists()


def test_custom_loop_checkpoint_index_unreadable_falls_back_to_the_files(tmp_path):
    _custom_run(tmp_path)
    (tmp_path / "checkpoint").write_text("garbage {{{")
    assert select_tf_checkpoint(tmp_path).path == tmp_path / "ckpt-4"
