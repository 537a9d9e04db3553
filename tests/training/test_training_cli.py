"""The CLI: `train` on the embedded set writes checkpoints, logs and a plot; `stats`; `plot`; `finetune`."""

from __future__ import annotations

import csv
import json

import keras
import numpy as np
import pytest

from keras_alexnet.cli.main import main


@pytest.mark.slow
def test_train_command_real_alexnet_writes_run_directory(tmp_path, capsys):
    run_dir = tmp_path / "run"
    code = main(
        [
            "train",
            "--dataset",
            "digits",
            "--epochs",
            "1",
            "--limit",
            "32",
            "--val-limit",
            "16",
            "--batch-size",
            "16",
            "--image-size",
            "67",
            "--checkpoint-every",
            "1",
            "--run-dir",
            str(run_dir),
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert '"bad_records": 0' in out
    for name in (
        "config.json",
        "pixel_stats.npz",
        "pixel_stats.json",
        "log.csv",
        "curves.png",
        "model.keras",
        "results.json",
        "lr_schedule.json",
        "backup/ckpt-3.weights.h5",  # 2 steps (ckpt-1, ckpt-2) and the epoch end (ckpt-3); the newest 2 kept
        "backup/ckpt-3.json",
        "backup/ckpt-2.weights.h5",
    ):
        assert (run_dir / name).is_file(), name
    assert any((run_dir / "tensorboard").rglob("events.out.tfevents.*"))
    config = json.loads((run_dir / "config.json").read_text())
    assert config["config"]["momentum"] == 0.9 and config["derived"]["global_batch_size"] == 16
    assert config["derived"]["learning_rate_scaled"] == pytest.approx(0.01 * 16 / 128)
    with open(run_dir / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and {"loss", "top1_error", "top5_error", "val_top1_error", "learning_rate"} <= set(rows[0])
    model = keras.saving.load_model(run_dir / "model.keras")
    assert [layer.name for layer in model.layers if layer.name.startswith("conv")] == [f"conv{i}" for i in range(1, 6)]
    # model.keras knows what its weights are for: the run's classes, input size and preprocessing with its mean.
    import keras_alexnet

    record = keras_alexnet.network_record(model)
    assert (record.variant, record.classes, record.input_size, record.preprocessing) == ("original", 10, 67, "paper")
    assert record.class_names is not None and len(record.class_names) == 10
    assert record.pixel_mean is not None and all(0 < value < 255 for value in record.pixel_mean)
    assert not (run_dir / "backup" / "ckpt-1.weights.h5").exists()
    assert json.loads((run_dir / "backup" / "ckpt-3.json").read_text())["position"]["epoch"] == 1
    # Same directory again without --resume: refused.
    assert main(["train", "--limit", "32", "--run-dir", str(run_dir), "--verbose", "0"]) == 1
    assert "--resume" in capsys.readouterr().err


def test_stats_and_plot_commands(tmp_path, capsys):
    assert main(["stats", "--dataset", "digits", "--limit", "20", "--resize", "32", "--output", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "pixel_stats.json").read_text())
    assert summary["num_images"] == 20 and summary["image_size"] == [32, 32, 3]
    (tmp_path / "log.csv").write_text(
        "epoch,loss,top1_error,top5_error,learning_rate\n0,2,0.9,0.5,0.01\n1,1,0.5,0.1,0.001\n"
    )
    assert main(["plot", str(tmp_path)]) == 0
    png = tmp_path / "curves.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", str(tmp_path / "missing")]) == 1
    assert "No training log" in capsys.readouterr().err


def test_train_flags_cover_every_config_field():
    import dataclasses

    from keras_alexnet.cli.main import build_parser
    from keras_alexnet.training import TrainConfig

    args = build_parser().parse_args(["train"])
    assert {f.name for f in dataclasses.fields(TrainConfig)} <= set(vars(args))
    assert build_parser().parse_args(["train", "--no-flip", "--mean", "image"]).flip is False


def test_train_rejects_bad_values(tmp_path, capsys):
    assert main(["train", "--mean", "median", "--run-dir", str(tmp_path)]) == 1
    assert "Received: mean='median'" in capsys.readouterr().err
    assert main(["train", "--strategy", "multiworker", "--limit", "8", "--run-dir", str(tmp_path)]) == 1
    assert "TF_CONFIG" in capsys.readouterr().err


@pytest.fixture
def random_checkpoint(tmp_path):
    """A keras_alexnet checkpoint directory made from a randomly initialised AlexNet."""
    import keras_alexnet
    from keras_alexnet.weights.checkpoint import save_checkpoint
    from keras_alexnet.weights.network import NetworkRecord

    keras.utils.set_random_seed(0)
    return save_checkpoint(keras_alexnet.AlexNet(weights=None), tmp_path / "random_ckpt", NetworkRecord())


@pytest.mark.slow
def test_finetune_command_outputs_load_everywhere(tmp_path, random_checkpoint, capsys):
    import keras_alexnet

    out_dir = tmp_path / "ft"
    code = main(
        [
            "finetune",
            "--weights",
            str(random_checkpoint),
            "--limit",
            "16",
            "--val-limit",
            "4",
            "--batch-size",
            "8",
            "--epochs",
            "1",
            "--run-dir",
            str(out_dir),
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["center_crop"]) >= {"top1_error", "top5_error"} and report["ten_crop"]["crops"] == "ten"
    trained = keras.saving.load_model(out_dir / "finetuned.keras")
    assert trained.output_shape == (None, 10)
    # The checkpoint names its classes (the digits' label names), so predict/evaluate/explore print them.
    from keras_alexnet.weights.network import NetworkRecord

    assert NetworkRecord.read(out_dir / "checkpoint").class_names == tuple(str(i) for i in range(10))
    x = np.random.default_rng(0).normal(size=(2, 227, 227, 3)).astype("float32")
    expected = trained.predict(x, verbose=0)
    for model in (
        keras_alexnet.AlexNet(weights=out_dir / "checkpoint", classes=10),
        keras_alexnet.AlexNet(weights=str(out_dir / "finetuned.keras"), classes=10),
        keras_alexnet.AlexNet(weights=str(out_dir / "finetuned.weights.h5"), classes=10, variant="original"),
    ):
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-6)
    # The trunk was frozen: conv1 is unchanged, the new classifier is trained.
    source = keras_alexnet.AlexNet(weights=random_checkpoint)
    np.testing.assert_array_equal(
        trained.get_layer("conv1").get_weights()[0], source.get_layer("conv1").get_weights()[0]
    )


def test_train_config_file_with_overrides(tmp_path, monkeypatch):
    import keras_alexnet.training as training
    from keras_alexnet.training import TrainConfig

    saved = TrainConfig(learning_rate=0.05, epochs=7, limit=10)
    (tmp_path / "config.json").write_text(json.dumps({"config": saved.to_dict(), "derived": {}}))
    seen = {}

    def fake_train(config):
        seen["config"] = config
        raise ValueError("stop here")

    monkeypatch.setattr(training, "train", fake_train)
    assert main(["train", "--config", str(tmp_path / "config.json"), "--epochs", "2"]) == 1
    assert (seen["config"].learning_rate, seen["config"].epochs, seen["config"].limit) == (0.05, 2, 10)


def test_replace_classifier_freeze_options():
    import keras_alexnet
    from keras_alexnet.training.finetune import replace_classifier

    base = keras_alexnet.AlexNet()
    trainable = {
        freeze: {layer.name for layer in replace_classifier(base, 7, freeze).layers if layer.trainable_weights}
        for freeze in ("conv", "all", "none")
    }
    assert trainable["conv"] == {"fc6", "fc7", "predictions"}
    assert trainable["all"] == {"predictions"}
    assert trainable["none"] == {"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "predictions"}
    assert replace_classifier(base, 7).get_layer("predictions").units == 7
    with pytest.raises(ValueError, match="Received: freeze='trunk'"):
        replace_classifier(base, 7, "trunk")
    with pytest.raises(ValueError, match="include_top=True"):
        replace_classifier(keras_alexnet.AlexNet(include_top=False), 7)


def test_every_train_flag_has_its_help_written_once_on_its_config_field():
    """`train --help` texts come from TrainConfig's fields (`training.config.option`), none from a second list."""
    import dataclasses

    from keras_alexnet.cli import train as train_command
    from keras_alexnet.cli._options import DATA_HELPS
    from keras_alexnet.data.options import DataOptions
    from keras_alexnet.training.config import TrainConfig

    data_fields = {field.name for field in dataclasses.fields(DataOptions)}
    for field in dataclasses.fields(TrainConfig):
        if field.name in data_fields:
            continue
        assert field.metadata.get("help"), f"TrainConfig.{field.name} has no help text"
        assert field.name not in train_command.HELPS, f"{field.name}'s help is written twice"
    assert set(train_command.HELPS) <= set(DATA_HELPS) | data_fields
