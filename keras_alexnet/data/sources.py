"""Where images come from: TFDS by name, a local folder of class sub-folders, or the embedded set.

`load_source(name, split)` returns an `ImageSource`: a `tf.data.Dataset` of
(uint8 RGB image of any size, int32 label) plus the class names and a counter
of skipped bad records. Names:

- "digits": the embedded default, scikit-learn's 1,797 handwritten digits
  (8x8, ten classes) shipped with the package; works offline. Deterministic
  splits: "train" (80 %, stratified) and "validation"/"test" (the other 20 %).
- "folder:PATH" or an existing directory PATH: a folder with one sub-folder per
  class (indexed by `keras.utils.image_dataset_from_directory`, the files
  decoded by `keras_alexnet.data.decode`, bad files skipped and counted). If
  PATH has `train/` and `validation/` (or `val/`, `test/`) sub-folders, `split`
  picks one. Refused with a `ValueError`: an empty class folder (the head would
  have a class without examples), split folders whose class folders differ
  (the label indices would not match), a split with no folder.
- any TFDS image-classification dataset ("imagenet2012", "imagenette",
  "oxford_flowers102", ...): `data_dir` is the TFDS data directory and
  `manual_dir` the directory holding manually downloaded archives
  (ImageNet's `ILSVRC2012_img_train.tar` and `ILSVRC2012_img_val.tar`).
  `download=False` never touches the network.

Example:

>>> from keras_alexnet.data.sources import load_source
>>> source = load_source("digits", "train")
>>> source.num_classes, source.num_examples
(10, 1438)
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from keras_alexnet.data.decode import BadRecordCounter, decode_images
from keras_alexnet.errors import require

EMBEDDED = "digits"
#: The image files a folder dataset's class folders are searched for (Keras' list).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_SPLIT_ALIASES = {"validation": ("validation", "val", "valid", "test"), "test": ("test", "validation", "val")}


@dataclasses.dataclass
class ImageSource:
    """A dataset of (uint8 RGB image, int32 label) with its metadata."""

    dataset: object  # tf.data.Dataset
    class_names: list[str]
    num_examples: int | None
    name: str
    split: str
    bad_records: BadRecordCounter

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def load_source(
    name: str,
    split: str = "train",
    *,
    data_dir: str | os.PathLike | None = None,
    manual_dir: str | os.PathLike | None = None,
    download: bool = False,
    limit: int | None = None,
    shuffle_files: bool = False,
    counter: BadRecordCounter | None = None,
) -> ImageSource:
    """Load `split` of the dataset `name` (see the module docstring for the names)."""
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"`limit` must be a positive integer or None. Received: limit={limit!r}")
    counter = counter if counter is not None else BadRecordCounter()
    if name == EMBEDDED:
        source = _digits(split, counter)
    elif name.startswith("folder:") or Path(name).is_dir():
        source = _folder(Path(name.removeprefix("folder:")), split, counter)
    else:
        source = _tfds(name, split, data_dir, manual_dir, download, shuffle_files, counter)
    if limit is not None:
        source.dataset = source.dataset.take(limit)
        if source.num_examples is not None:
            source.num_examples = min(source.num_examples, limit)
    return source


def digits_arrays(split: str = "train"):
    """The embedded set as NumPy: uint8 images (N, 8, 8, 3) and int32 labels (N,)."""
    import numpy as np

    require("sklearn", "train", f"The embedded {EMBEDDED!r} dataset (scikit-learn's digits)")
    from sklearn.datasets import load_digits

    if split not in ("train", "validation", "test"):
        raise ValueError(
            f"The embedded '{EMBEDDED}' set has the splits 'train', 'validation' and 'test'. Received: split={split!r}"
        )
    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    labels = digits.target.astype(np.int32)
    order = np.random.default_rng(0).permutation(len(labels))
    # Stratified: for each class, the first 80 % (in a fixed random order) are the training split.
    train = np.zeros(len(labels), bool)
    for c in range(10):
        members = order[labels[order] == c]
        train[members[: int(round(0.8 * len(members)))]] = True
    chosen = order[train[order]] if split == "train" else order[~train[order]]
    return np.repeat(images[chosen][..., None], 3, axis=-1), labels[chosen]


def _digits(split: str, counter: BadRecordCounter) -> ImageSource:
    import tensorflow as tf

    images, labels = digits_arrays(split)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    return ImageSource(dataset, [str(i) for i in range(10)], len(labels), EMBEDDED, split, counter)


def _class_folders(directory: Path) -> list[str]:
    """The class sub-folders of `directory` as Keras indexes them: sorted, hidden ones left out."""
    return sorted(p.name for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))


def _split_folders(root: Path) -> dict[str, Path]:
    """The split sub-folders of `root` (train/, validation/, val/, valid/, test/) that exist."""
    names = ("train", *dict.fromkeys(a for aliases in _SPLIT_ALIASES.values() for a in aliases))
    return {name: root / name for name in names if (root / name).is_dir()}


def _check_split_classes(splits: dict[str, Path]) -> None:
    """Every split folder must have the training split's class folders: labels are indices of the sorted names."""
    if "train" not in splits:
        return
    train = set(_class_folders(splits["train"]))
    for name, folder in splits.items():
        other = set(_class_folders(folder))
        if name == "train" or other == train:
            continue
        only_train, only_other = sorted(train - other), sorted(other - train)
        raise ValueError(
            f"The class folders of {splits['train']} and {folder} differ (only in train: {only_train}; only in "
            f"{name}: {only_other}), so a label index would mean different classes in the two splits. Give both "
            f"splits the same class folders (add, rename or remove folders). Received: train classes "
            f"{sorted(train)}, {name} classes {sorted(other)}"
        )


def _folder(root: Path, split: str, counter: BadRecordCounter) -> ImageSource:
    import keras
    import tensorflow as tf

    if not root.is_dir():
        raise ValueError(f"The image folder does not exist. Received: {root}")
    # With train/ and validation/ (val/, test/) sub-folders, `split` picks one; otherwise the
    # folder itself holds the class sub-folders, for every split.
    splits = _split_folders(root)
    split_dir = next((splits[a] for a in _SPLIT_ALIASES.get(split, (split,)) if a in splits), None)
    if splits and split_dir is None:
        wanted = ", ".join(f"{a}/" for a in _SPLIT_ALIASES.get(split, (split,)))
        raise ValueError(
            f"{root} has the split folders {sorted(f'{name}/' for name in splits)} but none for the split {split!r} "
            f"(looked for {wanted}). Add one, or choose a split that is there (--train-split / --val-split, or "
            f"--split). Received: split={split!r}"
        )
    _check_split_classes(splits)
    root = split_dir or root
    # keras indexes the class sub-folders (sorted class names, image extensions only);
    # the files are read and decoded here so that bad ones are skipped, not fatal.
    indexed = keras.utils.image_dataset_from_directory(
        root, labels="inferred", label_mode="int", batch_size=None, shuffle=False, image_size=(8, 8), verbose=False
    )
    class_names = list(indexed.class_names)
    paths = list(indexed.file_paths)
    if not paths:
        raise ValueError(f"No images found in the class sub-folders of {root}. Received: {root}")
    index = {c: i for i, c in enumerate(class_names)}
    # The class is the first folder below `root` (Keras also indexes images in nested folders).
    labels = [index[Path(os.path.relpath(p, root)).parts[0]] for p in paths]
    counts = {c: 0 for c in class_names}
    for label in labels:
        counts[class_names[label]] += 1
    empty = [root / c for c, n in counts.items() if n == 0]
    if empty:
        raise ValueError(
            f"The class folder(s) {[c.name for c in empty]} in {root} hold no images ({', '.join(IMAGE_EXTENSIONS)}), "
            f"so the model would get output classes without a single example. Add images to them or remove them. "
            f"Received: empty class folders {[str(c) for c in empty]}"
        )
    dataset = tf.data.Dataset.from_tensor_slices((paths, tf.constant(labels, tf.int32)))
    dataset = dataset.map(lambda p, y: (tf.io.read_file(p), y, p), num_parallel_calls=tf.data.AUTOTUNE)
    return ImageSource(decode_images(dataset, counter), class_names, len(paths), f"folder:{root}", split, counter)


def _tfds(name, split, data_dir, manual_dir, download, shuffle_files, counter) -> ImageSource:
    tfds = require("tensorflow_datasets", "train", f"Reading the TFDS dataset {name!r}")
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # tfds raises its own DatasetNotFoundError
        raise ValueError(
            f"Unknown dataset {name!r}: use {EMBEDDED!r}, 'folder:PATH' or a TFDS dataset name ({error}). "
            f"Received: dataset={name!r}"
        ) from error
    _classification_keys(builder, name)  # fail before downloading anything
    if download or manual_dir is not None:
        config = tfds.download.DownloadConfig(manual_dir=os.fspath(manual_dir)) if manual_dir else None
        builder.download_and_prepare(download_config=config)
    elif not builder.is_prepared():
        raise ValueError(
            f"TFDS dataset {name!r} is not prepared in {builder.data_dir}; pass download=True (--download) "
            f"or manual_dir= (--manual-dir) for manually downloaded archives. Received: data_dir={data_dir!r}"
        )
    return tfds_builder_source(builder, split, shuffle_files=shuffle_files, counter=counter)


def tfds_builder_source(
    builder, split: str, *, shuffle_files: bool = False, counter: BadRecordCounter | None = None
) -> ImageSource:
    """An `ImageSource` from a prepared TFDS builder (e.g. `tfds.builder(...)`, `tfds.ImageFolder(...)`)."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    counter = counter if counter is not None else BadRecordCounter()
    features = builder.info.features
    image_key, label_key = _classification_keys(builder)
    split = _tfds_split(builder, split)
    dataset = builder.as_dataset(
        split=split,
        shuffle_files=shuffle_files,
        decoders={image_key: tfds.decode.SkipDecoding()},
        read_config=tfds.ReadConfig(add_tfds_id=True),
    )

    def to_tuple(ex):
        # A record key (TFDS id, else the file name) so that a bad record is counted once.
        key = next((ex[k] for k in ("tfds_id", "image/filename", "file_name") if k in ex), None)
        image, label = ex[image_key], tf.cast(ex[label_key], tf.int32)
        return (image, label) if key is None else (image, label, key)

    dataset = dataset.map(to_tuple)
    num_examples = builder.info.splits[split].num_examples
    return ImageSource(
        decode_images(dataset, counter), list(features[label_key].names), num_examples, builder.name, split, counter
    )


def _classification_keys(builder, name: str | None = None) -> tuple[str, str]:
    """The names of the builder's Image and ClassLabel features; ValueError (naming `name`) when it has not both."""
    import tensorflow_datasets as tfds

    features = builder.info.features
    image_key = next((k for k, f in features.items() if isinstance(f, tfds.features.Image)), None)
    label_key = next((k for k, f in features.items() if isinstance(f, tfds.features.ClassLabel)), None)
    if image_key is None or label_key is None:
        raise ValueError(
            f"TFDS dataset {name or builder.name!r} is not an image-classification dataset (it needs an Image and a "
            f"ClassLabel feature). Received: features={list(features)}"
        )
    return image_key, label_key


def _tfds_split(builder, split: str) -> str:
    available = set(builder.info.splits.keys())
    if split in available or "[" in split:
        return split
    for alias in _SPLIT_ALIASES.get(split, ()):
        if alias in available:
            return alias
    raise ValueError(f"{builder.name} has the splits {sorted(available)}. Received: split={split!r}")
