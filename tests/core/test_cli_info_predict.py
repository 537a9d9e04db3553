"""`keras-alexnet info` and `keras-alexnet predict`."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import keras_alexnet
from keras_alexnet.cli.main import main
from keras_alexnet.weights.checkpoint import save_checkpoint
from keras_alexnet.weights.network import NetworkRecord


def test_info_table_totals(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "60,965,224" in out and "724,406,816" in out
    for name in ("conv1", "norm1", "pool1", "conv2", "norm2", "conv5", "pool5", "fc6", "fc7", "predictions"):
        assert f"\n{name} " in out
    assert "2 towers" in out and "bvlc_imagenet1k" in out


def test_info_json_for_torchvision(capsys):
    assert main(["info", "--variant", "torchvision", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["total_params"] == 61_100_840
    assert payload["total_macs"] == 714_188_480
    conv1 = next(layer for layer in payload["layers"] if layer["name"] == "conv1")
    assert conv1["output_shape"] == [55, 55, 64] and conv1["macs"] == 55 * 55 * 64 * 11 * 11 * 3


def test_info_unknown_variant(capsys):
    assert main(["info", "--variant", "resnet"]) == 1
    assert "Received: variant='resnet'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def images(tmp_path_factory, sample_image_paths):
    folder = tmp_path_factory.mktemp("images")
    gray = folder / "gray.jpg"
    Image.fromarray(np.linspace(0, 255, 300 * 200, dtype=np.uint8).reshape(200, 300)).save(gray)
    broken = folder / "broken.jpg"
    broken.write_bytes(b"this is not a jpeg")
    return [str(p) for p in sample_image_paths], str(gray), str(broken)


def test_predict_random_weights_reports_bad_files_and_continues(images, capsys):
    photos, gray, broken = images
    status = main(["predict", *photos, broken, gray, "--weights", "none", "--top", "3"])
    captured = capsys.readouterr()
    assert status == 1
    error_lines = [line for line in captured.err.splitlines() if "error" in line]
    assert len(error_lines) == 1 and "broken.jpg" in error_lines[0]
    for path in [*photos, gray]:
        assert path in captured.out
    assert captured.out.count("  1. ") == 3 and captured.out.count("  3. ") == 3


def test_predict_from_local_checkpoint_json(images, tmp_path, capsys):
    photos, gray, _ = images
    model = keras_alexnet.AlexNet(variant="torchvision")
    checkpoint = save_checkpoint(model, tmp_path / "ckpt", NetworkRecord(variant="torchvision"))
    assert main(["predict", *photos, "--weights", str(checkpoint), "--top", "2", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["failed"] == 0
    assert set(payload["predictions"]) == set(photos)
    # The CLI must give what the Python API gives on the same images.
    from keras_alexnet.image_io import load_image

    x = keras_alexnet.preprocess_input(np.stack([load_image(p, size=224) for p in photos]), variant="torchvision")
    expected = keras_alexnet.decode_predictions(model.predict(x, verbose=0), top=2)
    for path, labels in zip(photos, expected, strict=True):
        assert [item["wnid"] for item in payload["predictions"][path]] == [w for w, _, _ in labels]
        assert [item["score"] for item in payload["predictions"][path]] == pytest.approx([s for _, _, s in labels])


def test_predict_names_the_classes_of_a_checkpoint_trained_here(images, tmp_path, capsys):
    """A 10-class checkpoint with its own class names and pixel mean (what `train` writes) is classified."""
    photos, gray, _ = images
    names = tuple(f"digit {i}" for i in range(10))
    mean = (30.0, 60.0, 90.0)
    model = keras_alexnet.AlexNet(variant="torchvision", classes=10)
    kernel, bias = model.get_layer("predictions").get_weights()
    model.get_layer("predictions").set_weights([kernel, np.linspace(-3, 3, 10, dtype="float32")])  # a clear order
    record = NetworkRecord(
        variant="torchvision",
        classes=10,
        preprocessing="paper",
        categories="digits:train",
        class_names=names,
        pixel_mean=mean,
    )
    checkpoint = save_checkpoint(model, tmp_path / "ckpt", record)
    assert main(["predict", *photos, gray, "--weights", str(checkpoint), "--top", "3", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["classes"] == 10
    # Independent reference: the paper's preprocessing in NumPy (minus the RGB mean), then model.predict.
    from keras_alexnet.image_io import load_image

    paths = [*photos, gray]
    x = np.stack([load_image(p, size=224) for p in paths]).astype("float32") - np.array(mean, "float32")
    expected = model.predict(x, verbose=0)
    for path, row in zip(paths, expected, strict=True):
        order = np.argsort(-row)[:3]
        got = payload["predictions"][path]
        assert [item["label"] for item in got] == [names[i] for i in order]
        assert [item["index"] for item in got] == [int(i) for i in order]
        assert [item["score"] for item in got] == pytest.approx(row[order].tolist(), rel=1e-5)
        assert "wnid" not in got[0]
    assert main(["predict", photos[0], "--weights", str(checkpoint), "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "digit" in out and "(n0" not in out
    assert main(["predict", photos[0], "--weights", str(checkpoint), "--top", "11"]) == 1
    assert "at most the model's 10 classes. Received: --top 11" in capsys.readouterr().err


def test_predict_bfloat16_policy(images, capsys):
    photos, _, _ = images
    assert main(["predict", photos[0], "--weights", "none", "--dtype", "mixed_bfloat16", "--json"]) == 0
    scores = [item["score"] for item in json.loads(capsys.readouterr().out)["predictions"][photos[0]]]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True)


def test_predict_missing_file_and_bad_top(images, capsys):
    photos, _, _ = images
    assert main(["predict", "/no/such.jpg", photos[0], "--weights", "none"]) == 1
    captured = capsys.readouterr()
    assert "/no/such.jpg" in captured.err and photos[0] in captured.out
    assert main(["predict", photos[0], "--weights", "none", "--top", "0"]) == 1
    assert "Received: --top 0" in capsys.readouterr().err


def test_console_entry_point_help():
    result = subprocess.run(
        [sys.executable, "-m", "keras_alexnet.cli.main", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    for command in ("info", "predict"):
        assert command in result.stdout


def test_predict_every_bad_file_is_one_line_and_the_rest_are_classified(images, tmp_path, capsys, monkeypatch):
    import builtins
    import os
    import struct
    import zlib

    photos, gray, _ = images

    def png_header(path, width, height):  # a PNG that claims width x height pixels and holds none
        ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
        chunk = struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82")

    bad = {name: tmp_path / name for name in ("truncated.jpg", "empty.jpg", "folder.jpg", "locked.jpg", "text.jpg")}
    with open(photos[0], "rb") as photo:
        data = photo.read()
    bad["truncated.jpg"].write_bytes(data[: len(data) // 2])
    bad["empty.jpg"].write_bytes(b"")
    bad["folder.jpg"].mkdir()
    bad["locked.jpg"].write_bytes(data)
    bad["text.jpg"].write_text("hello, I am not a picture\n")
    bad["bomb.png"] = tmp_path / "bomb.png"
    png_header(bad["bomb.png"], 60000, 60000)  # Pillow's DecompressionBombError (not an OSError)
    bad["huge.png"] = tmp_path / "huge.png"
    png_header(bad["huge.png"], 20000, 20000)  # over MAX_IMAGE_PIXELS
    bad["missing.jpg"] = tmp_path / "missing.jpg"
    deep = tmp_path / "deep16.png"
    Image.fromarray(np.linspace(0, 65535, 300 * 200).astype(np.uint16).reshape(200, 300)).save(deep)

    locked = str(bad["locked.jpg"])
    os.chmod(locked, 0)
    if os.geteuid() == 0:  # root reads any file: make the open fail the way it does for a user
        real_open = builtins.open

        def open_(file, *args, **kwargs):
            if os.fspath(file) == locked if isinstance(file, str | os.PathLike) else False:
                raise PermissionError(13, "Permission denied", locked)
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", open_)

    good = [*photos, gray, str(deep)]
    arguments = [good[0], *map(str, bad.values()), *good[1:]]
    status = main(["predict", *arguments, "--weights", "none", "--top", "1", "--batch-size", "2"])
    captured = capsys.readouterr()
    assert status == 1
    assert "Traceback" not in captured.out + captured.err
    error_lines = [line for line in captured.err.splitlines() if line.startswith("keras-alexnet predict: error: ")]
    assert len(error_lines) == len(bad), error_lines
    for path in bad.values():
        assert sum(str(path) in line for line in error_lines) == 1, (path, error_lines)
    for path in good:
        assert f"{path}\n  1. " in captured.out
    assert captured.out.count("  1. ") == len(good)
    assert any("Permission denied" in line and locked in line for line in error_lines), error_lines
    assert any("MAX_IMAGE_PIXELS" in line and "20000 x 20000" in line for line in error_lines), error_lines


@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_predict_batch_size_must_be_positive(images, capsys, value):
    photos, _, _ = images
    with pytest.raises(SystemExit) as caught:
        main(["predict", photos[0], "--weights", "none", "--batch-size", value])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "--batch-size" in err and f"Received: '{value}'" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["predict", "export"])
@pytest.mark.parametrize(
    ("flag", "value", "policy"),
    [
        ("--precision", "bf16", "mixed_bfloat16"),
        ("--precision", "fp32", "float32"),
        ("--dtype", "mixed_bfloat16", "mixed_bfloat16"),
    ],
)
def test_precision_is_one_shared_option_with_the_old_dtype_name(command, flag, value, policy):
    from keras_alexnet.cli.main import build_parser

    argv = [command, "x.jpg"] if command == "predict" else [command, "out"]
    assert build_parser().parse_args([*argv, flag, value]).dtype == policy


WEIGHTS_COMMANDS = {
    "predict": ["x.jpg"],
    "export": ["out"],
    "kernels": [],
    "activations": ["x.jpg"],
    "evaluate": ["--dataset", "digits"],
    "embed": ["images", "-o", "index.npz"],
    "explore": [],
}


@pytest.mark.parametrize("command", sorted(WEIGHTS_COMMANDS))
def test_weights_is_one_convention_in_every_command(command):
    """The same values and the same 'none' (random weights) everywhere, with the same help text."""
    from keras_alexnet.cli._options import WEIGHTS_VALUES
    from keras_alexnet.cli.main import build_parser

    parser = build_parser()
    argv = [command, *WEIGHTS_COMMANDS[command]]
    assert parser.parse_args([*argv, "--weights", "none"]).weights is None
    assert parser.parse_args([*argv, "--weights", "NONE"]).weights is None
    assert parser.parse_args([*argv, "--weights", "hf://org/repo"]).weights == "hf://org/repo"
    subparsers = next(action for action in parser._actions if action.dest == "command")
    help_text = " ".join(subparsers.choices[command].format_help().split())
    assert " ".join(WEIGHTS_VALUES.split()) in help_text
