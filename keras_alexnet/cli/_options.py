"""The one home of command-line options shared by several `keras-alexnet` commands (no heavy imports).

Example:

>>> import argparse
>>> from keras_alexnet.cli._options import add_model_options
>>> parser = argparse.ArgumentParser()
>>> add_model_options(parser)
>>> parser.parse_args([]).seed
0
"""

from __future__ import annotations

import argparse

#: What `--weights` takes, in every command that builds a network.
WEIGHTS_VALUES = (
    "'imagenet', a registered name (`keras-alexnet weights`), hf://org/repo[@revision], a checkpoint directory, "
    "a .weights.h5 or .keras file, or 'none' for random weights (seeded by --seed)"
)


def weights_value(text: str) -> str | None:
    """A `--weights` value: None (random weights) for 'none', else the text as given.

    Example:

    >>> weights_value("none"), weights_value("imagenet")
    (None, 'imagenet')
    """
    return None if text.strip().lower() == "none" else text


def add_weights_argument(parser: argparse.ArgumentParser, *, default: str | None) -> None:
    """`--weights`, with the same values and the same 'none' in every command; `default` None means random weights."""
    shown = "random weights" if default is None else repr(default)
    parser.add_argument("--weights", type=weights_value, default=default, help=f"{WEIGHTS_VALUES} (default: {shown})")


def add_model_options(parser: argparse.ArgumentParser, *, weights_default: str | None = None) -> None:
    """--weights, --variant and --seed (the seed of random weights: --weights none, or no --weights)."""
    add_weights_argument(parser, default=weights_default)
    parser.add_argument(
        "--variant",
        default=None,
        choices=("original", "torchvision"),
        help="architecture (default: the checkpoint's, else 'original')",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights (default: 0)")


def describe_weights(weights: str | None, seed: int | None) -> str:
    """A short description of the weights for figure titles."""
    return str(weights) if weights is not None else f"random weights (seed {seed})"


#: Help texts of the `DataOptions` fields (train, finetune) and of the one-split flags (stats, evaluate).
DATA_HELPS = {
    "dataset": "'digits' (embedded, offline), 'folder:PATH' (class sub-folders) or a TFDS name (imagenet2012, ...)",
    "train_split": "training split",
    "val_split": "validation split",
    "data_dir": "TFDS data directory",
    "manual_dir": "TFDS manual-download directory (ImageNet's ILSVRC2012_img_{train,val}.tar)",
    "download": "let TFDS download and prepare the dataset",
    "limit": "use only the first N training images",
    "val_limit": "use only the first N validation images",
}


def add_split_arguments(parser: argparse.ArgumentParser, *, split: str, dataset_default: str | None = "digits") -> None:
    """`--dataset`, `--split`, `--data-dir`, `--manual-dir`, `--download`, `--limit`: one split of a dataset.

    `dataset_default=None` makes `--dataset` required.
    """
    parser.add_argument(
        "--dataset", default=dataset_default, required=dataset_default is None, help=DATA_HELPS["dataset"]
    )
    parser.add_argument("--split", default=split, help=f"split to read (default: {split})")
    for name in ("data_dir", "manual_dir"):
        parser.add_argument("--" + name.replace("_", "-"), default=None, help=DATA_HELPS[name])
    parser.add_argument("--download", action="store_true", help=DATA_HELPS["download"])
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images")


def source_kwargs(args: argparse.Namespace) -> dict:
    """The `load_source` keyword arguments that `add_split_arguments`' flags give (all but dataset and split)."""
    return dict(data_dir=args.data_dir, manual_dir=args.manual_dir, download=args.download, limit=args.limit)


#: Short precision names accepted by `--precision`, and the Keras dtype policy each stands for.
PRECISION_ALIASES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def precision_policy(value: str) -> str:
    """The Keras dtype policy name for a `--precision` value (a short name such as bf16, or a policy name)."""
    from keras_alexnet.performance import DTYPE_CHOICES

    policy = PRECISION_ALIASES.get(value, value)
    if policy not in DTYPE_CHOICES:
        choices = ", ".join([*PRECISION_ALIASES, *DTYPE_CHOICES])
        raise argparse.ArgumentTypeError(f"must be one of {choices}. Received: {value!r}")
    return policy


#: The `--precision` value of int8 (OpenVINO + NNCF through `keras_alexnet.fast_predictor`; not a Keras policy).
INT8 = "int8"
#: `fast_predictor`'s precision for each `--precision` value it runs.
FAST_PRECISIONS = {None: "fp32", "float32": "fp32", "mixed_bfloat16": "bf16", INT8: "int8"}
RUNTIME_CHOICES = ("keras", "auto", "tensorflow", "openvino")


def precision_or_int8(value: str) -> str:
    """`precision_policy`, and "int8" (for the commands that offer `--runtime`)."""
    return INT8 if value == INT8 else precision_policy(value)


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    """`--runtime` and `--calibration`: run the model through `keras_alexnet.fast_predictor` (docs/performance.md)."""
    parser.add_argument(
        "--runtime",
        choices=RUNTIME_CHOICES,
        default="keras",
        help="keras (the default: the Keras model under --precision), or fast_predictor's: auto (the fastest "
        "measured here for --precision), tensorflow, openvino (the [openvino] extra)",
    )
    add_calibration_argument(parser)


def add_calibration_argument(parser: argparse.ArgumentParser) -> None:
    """`--calibration IMAGES...`: the images of an int8 model (`predict --runtime`, `export --format openvino`)."""
    parser.add_argument(
        "--calibration",
        nargs="+",
        default=None,
        metavar="IMAGES",
        help="images (files, folders, globs; the first 300 are used) for --precision int8: NNCF's quantization "
        "ranges and the reported agreement with fp32 (top-1, mean KL, logit cosine)",
    )


def add_precision_argument(parser: argparse.ArgumentParser, *, int8: bool = False) -> None:
    """`--precision` (alias `--dtype`, its earlier name) for a command that builds a model: sets `args.dtype`.

    With `int8`, "int8" is accepted too (with `add_runtime_arguments`: it runs through OpenVINO/NNCF).

    Example:

    >>> parser = argparse.ArgumentParser()
    >>> add_precision_argument(parser)
    >>> parser.parse_args(["--precision", "bf16"]).dtype, parser.parse_args(["--dtype", "float32"]).dtype
    ('mixed_bfloat16', 'float32')
    """
    parser.add_argument(
        "--precision",
        "--dtype",
        dest="dtype",
        type=precision_or_int8 if int8 else precision_policy,
        default=None,
        metavar="PRECISION",
        help="fp32 (the default), bf16 (= mixed_bfloat16: fast on CPUs with AVX512-BF16/AMX; the classifier "
        "stays float32), fp16, or any Keras dtype policy name (float32, mixed_bfloat16, bfloat16, mixed_float16, "
        "float16)"
        + (", or int8 (OpenVINO + NNCF; needs --calibration)" if int8 else "")
        + "; --dtype is the earlier name of this option",
    )
