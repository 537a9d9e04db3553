"""`keras-alexnet quickstart`: the full AlexNet from random weights to >= 90 % on the digits, then its outputs."""

import json

import numpy as np
import pytest

from keras_alexnet.cli.main import main
from keras_alexnet.quickstart import free_run_dir
from keras_alexnet.training.presets import PRESETS, preset_config
from keras_alexnet.weights.network import NetworkRecord


@pytest.mark.slow
def test_quickstart_reaches_90_percent_and_uses_its_checkpoint(quickstart_run, capsys):
    results = json.loads((quickstart_run / "results.json").read_text())
    assert results["val_top1_accuracy"] >= 0.90
    assert results["val_top1_accuracy"] == pytest.approx(1 - results["final"]["val_top1_error"])
    config = json.loads((quickstart_run / "config.json").read_text())
    # The full paper network, trained from scratch: every layer trainable, two towers, LRN, 227x227.
    assert config["config"]["variant"] == "original" and config["derived"]["image_size"] == 227
    assert config["config"]["init"] == "lsuv" and config["config"]["dataset"] == "digits"
    # The checkpoint knows its classes and pixel mean; predict names them on the held-out samples.
    network = NetworkRecord.read(quickstart_run / "checkpoint")
    assert network.class_names == tuple(str(i) for i in range(10)) and network.preprocessing == "paper"
    assert network.lrn is not None and network.pixel_mean is not None
    samples = results["quickstart"]["samples"]
    assert len(samples) == 8 and results["quickstart"]["samples_correct"] >= 6
    paths = [s["image"] for s in samples]
    assert main(["predict", *paths, "--weights", str(quickstart_run / "checkpoint"), "--top", "3", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    for sample in samples:
        got = payload["predictions"][sample["image"]]
        assert [g["label"] for g in got] == [t["label"] for t in sample["top"]]
        assert [g["score"] for g in got] == pytest.approx([t["score"] for t in sample["top"]], rel=1e-4, abs=1e-6)
    # The curves have a point per quarter epoch; the kernels figure and report exist.
    rows = (quickstart_run / "log.csv").read_text().strip().splitlines()[1:]
    assert len(rows) == PRESETS["quickstart"]["epochs"] >= 8
    for name in ("curves.png", "kernels.png", "kernels.json", "samples/00_digit_0.png"):
        assert (quickstart_run / name).stat().st_size > 0
    report = json.loads((quickstart_run / "kernels.json").read_text())
    assert len(report["towers"]) == 2


@pytest.mark.slow
def test_evaluate_reads_the_quickstart_checkpoint_names(quickstart_run, tmp_path, capsys):
    """evaluate maps the digits to the checkpoint's classes by name and gets the run's own validation error."""
    results = json.loads((quickstart_run / "results.json").read_text())
    out_json = tmp_path / "eval.json"
    argv = ["evaluate", "--weights", str(quickstart_run / "checkpoint"), "--dataset", "digits", "--split"]
    argv += ["validation", "--json", str(out_json), "--csv", str(tmp_path / "c.csv"), "--plot", str(tmp_path / "p.png")]
    assert main(argv) == 0
    summary = json.loads(out_json.read_text())
    # The training loop's validation (tf.data crops) and evaluate's agree to within two images of 359.
    assert summary["crops"]["center"]["top1_error"] == pytest.approx(results["final"]["val_top1_error"], abs=2 / 359)


def test_free_run_dir_never_reuses_a_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert str(free_run_dir(None)) == "runs/quickstart"
    (tmp_path / "runs/quickstart").mkdir(parents=True)
    assert str(free_run_dir(None)) == "runs/quickstart"  # empty: used
    (tmp_path / "runs/quickstart/mine.txt").write_text("user data")
    assert str(free_run_dir(None)) == "runs/quickstart-2"
    with pytest.raises(ValueError, match=r"not an empty directory.*Received: --run-dir runs/quickstart"):
        free_run_dir("runs/quickstart")
    assert (tmp_path / "runs/quickstart/mine.txt").read_text() == "user data"


def test_quickstart_preset_departs_from_the_paper_only_where_listed():
    paper, quick = preset_config("paper"), preset_config("quickstart", run_dir="r")
    changed = {k for k, v in quick.to_dict().items() if v != paper.to_dict()[k]}
    assert changed == set(PRESETS["quickstart"]) - {"dataset", "variant"} | {"run_dir"}
    assert (paper.init, paper.optimizer, paper.lr_schedule, paper.batch_size) == ("paper", "sgd", "plateau", 128)
    with pytest.raises(ValueError, match="Unknown training preset.*Received: preset='fast'"):
        preset_config("fast")


def test_train_preset_flags_given_win_even_at_their_default(monkeypatch):
    """`train --preset quickstart --optimizer sgd` trains with SGD although 'sgd' is TrainConfig's default."""
    import keras_alexnet.training as training

    seen = {}

    class StopError(Exception):
        pass

    def fake_train(config):
        seen["config"] = config
        raise StopError

    monkeypatch.setattr(training, "train", fake_train)
    with pytest.raises(StopError):
        from keras_alexnet.cli.main import build_parser

        args = build_parser().parse_args(["train", "--preset", "quickstart", "--optimizer", "sgd", "--epochs", "3"])
        args.func(args)
    config = seen["config"]
    assert (config.optimizer, config.epochs, config.init, config.batch_size) == ("sgd", 3, "lsuv", 32)


def test_adam_refuses_the_sgd_bias_multipliers():
    with pytest.raises(ValueError, match="with --optimizer adam.*Received: bias_lr_mult=2"):
        preset_config("quickstart", bias_lr_mult=2.0)


def test_lsuv_gives_unit_activations_in_every_layer():
    import keras

    from keras_alexnet.training.initialization import scale_to_unit_activations
    from keras_alexnet.training.model import build_training_model

    model = build_training_model(10, 67, init="lsuv", seed=3)
    x = np.random.default_rng(1).normal(0, 60, (6, 67, 67, 3)).astype("float32")
    scale_to_unit_activations(model, x)
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"):
        out = keras.Model(model.input, model.get_layer(name).output)(x, training=False)
        assert float(np.sqrt(np.mean(np.square(out)))) == pytest.approx(1.0, rel=1e-3)
    features = keras.Model(model.input, model.get_layer("predictions").input)(x, training=False)
    logits = np.asarray(features) @ np.asarray(model.get_layer("predictions").kernel)
    assert float(logits.std()) == pytest.approx(1.0, rel=1e-3)


def test_no_backups_cannot_resume():
    with pytest.raises(ValueError, match=r"False with --no-backups.*Received: resume=True"):
        preset_config("quickstart", resume=True)
