"""`--help`, `CMD --help` and `import keras_alexnet` import no TensorFlow or Keras; load_model still works."""

from __future__ import annotations

import subprocess
import sys

import pytest

from keras_alexnet.cli.main import COMMANDS

HEAVY = ("tensorflow", "keras", "torch", "jax")


def _heavy_after(code: str) -> list[str]:
    script = code + f"\nimport sys\nprint('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    line = [line for line in result.stdout.splitlines() if line.startswith("HEAVY:")][-1]
    return [name for name in line.removeprefix("HEAVY:").split(",") if name]


def _help(argv: list[str]) -> str:
    return (
        "import contextlib, io\nfrom keras_alexnet.cli.main import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main({argv!r})\n"
        "    except SystemExit:\n        pass\n"
    )


def test_top_level_help_and_import_are_light():
    assert _heavy_after(_help(["--help"])) == []
    assert _heavy_after("import keras_alexnet\nassert 'AlexNet' in dir(keras_alexnet)") == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_help_is_light(command):
    assert _heavy_after(_help([command, "--help"])) == []


def test_table_summaries_match_the_commands():
    from keras_alexnet.cli.main import build_parser

    choices = build_parser()._subparsers._group_actions[0]._choices_actions
    assert {action.dest: action.help for action in choices} == {name: row[1] for name, row in COMMANDS.items()}


def test_load_model_after_import_keras_alexnet(tmp_path):
    path = tmp_path / "tiny.keras"
    build = f"""
import keras
from keras_alexnet.layers import GroupedConv2D, LocalResponseNormalization
inputs = keras.Input((8, 8, 4))
x = GroupedConv2D(4, 3, groups=2, padding="same")(inputs)
outputs = LocalResponseNormalization()(x)
keras.Model(inputs, outputs).save({str(path)!r})
"""
    subprocess.run([sys.executable, "-c", build], check=True, timeout=120, capture_output=True)
    load = f"""
import keras_alexnet
import keras
model = keras.saving.load_model({str(path)!r})
print(sorted(type(layer).__name__ for layer in model.layers))
"""
    result = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True, timeout=120, check=True)
    assert "GroupedConv2D" in result.stdout and "LocalResponseNormalization" in result.stdout


def test_a_missing_extra_is_one_line_naming_it(tmp_path, monkeypatch, capsys):
    """`plot` with matplotlib faked missing: one stderr line naming the [analysis] extra, exit status 1."""
    from keras_alexnet.cli.main import main

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "log.csv").write_text("epoch,loss,val_top1,val_top5,lr\n0,2.0,0.5,0.2,0.01\n")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ModuleNotFoundError
    assert main(["plot", str(run_dir)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-alexnet plot: error: ")
    assert 'pip install "keras-alexnet[analysis]"' in lines[0] and "matplotlib" in lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["kernels", "--weights", "none", "-o", "k.png"],
        ["activations", "IMAGE", "--layer", "conv1", "-o", "a.png"],
        ["neighbours", "IMAGE", "--index", "index.npz", "-o", "n.png"],
        ["evaluate", "--weights", "none", "--dataset", "digits"],
    ],
    ids=lambda argv: argv[0],
)
def test_figure_commands_name_the_missing_extra_before_any_work(argv, tmp_path, monkeypatch, capsys):
    """Without matplotlib the figure commands stop before their work (no model, no input read): one line, [analysis]."""
    from keras_alexnet.cli.main import main

    monkeypatch.chdir(tmp_path)
    for name in ("IMAGE", "index.npz"):  # inputs that exist (their contents are never read)
        (tmp_path / name).write_bytes(b"placeholder")
    import keras_alexnet.analysis.model_io
    import keras_alexnet.data.sources

    def work(*args, **kwargs):
        raise AssertionError("the command started its work before checking for matplotlib")

    monkeypatch.setattr(keras_alexnet.analysis.model_io, "load_model", work)
    monkeypatch.setattr(keras_alexnet.data.sources, "load_source", work)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"keras-alexnet {argv[0]}: error: "), lines
    assert 'pip install "keras-alexnet[analysis]"' in lines[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["IMAGE", "index.npz"]  # nothing written
