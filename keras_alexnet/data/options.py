"""Where a run's images come from: the dataset fields shared by training and fine-tuning.

`TrainConfig` and `FinetuneConfig` both extend `DataOptions`, so the flags
(`--dataset`, `--data-dir`, `--limit`, ...) and the way the two splits are
opened are written once; the flags' help texts and `add_split_arguments`
(one split: `stats`, `evaluate`) live in `keras_alexnet.cli._options`.

Example:

>>> from keras_alexnet.data.options import DataOptions
>>> train, val = DataOptions(dataset="digits", limit=8, val_limit=4).load_sources()
>>> train.num_examples, val.num_examples, train.num_classes
(8, 4, 10)
"""

from __future__ import annotations

import dataclasses

from keras_alexnet.data.sources import ImageSource, load_source


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
