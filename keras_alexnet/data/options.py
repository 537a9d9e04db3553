"""Where a run's images come from: the dataset fields shared by training and fine-tuning.

`TrainConfig` and `FinetuneConfig` both extend `DataOptions`, so the flags
(`--dataset`, `--data-dir`, `--limit`, ...), their help texts and the way the
two splits are opened are written once. Commands that read one split
(`stats`, `evaluate`) take the same flags from `add_split_arguments`.

Example:

>>> from keras_alexnet.data.options import DataOptions
>>> train, val = DataOptions(dataset="digits", limit=8, val_limit=4).load_sources()
>>> train.num_examples, val.num_examples, train.num_classes
(8, 4, 10)
"""

from __future__ import annotations

import argparse
import dataclasses

from keras_alexnet.data.sources import ImageSource, load_source

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


@dataclasses.dataclass(kw_only=True)
class DataOptions:
    """A dataset and its training/validation splits, as `load_source` opens them."""

    dataset: str = "digits"
    train_split: str = "train"
    val_split: str = "validation"
    data_dir: str | None = None
    manual_dir: str | None = None
    download: bool = False
    limit: int | None = None
    val_limit: int | None = None

    def load_sources(self) -> tuple[ImageSource, ImageSource]:
        """The (training, validation) sources, each limited by its own `limit` / `val_limit`."""
        common = dict(data_dir=self.data_dir, manual_dir=self.manual_dir, download=self.download)
        train = load_source(self.dataset, self.train_split, limit=self.limit, **common)
        val = load_source(self.dataset, self.val_split, limit=self.val_limit, **common)
        return train, val


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
