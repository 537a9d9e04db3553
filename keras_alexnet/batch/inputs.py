"""Streaming inputs for `predict`, `embed` and `evaluate`: any number of images in bounded memory.

An input is one of (`expand_inputs` reads them lazily, in this order of checks):

- `@LIST.txt`: a text file with one image path a line (blank lines and lines starting with `#` are skipped;
  relative paths are relative to the list file's folder);
- `tfds:NAME:SPLIT`: every image of a prepared TFDS split (`tfds:imagenette/320px-v2:validation`,
  `tfds:imagenet2012:validation[:1000]`; `data_dir=` is the TFDS data directory, never downloaded here);
  each is named `tfds:NAME:SPLIT/INDEX`;
- a folder: its image files (`IMAGE_EXTENSIONS`), recursively, sorted folder by folder (a folder without
  any is reported as that input's error);
- a file: itself, whatever its extension;
- a glob pattern (`photos/**/*.jpg`, with `*`, `?` or `[`): the files it matches, sorted;
- anything else is passed on as a file name, so that a missing file becomes that file's error, not the run's.

`decode_stream` decodes them with `keras_alexnet.image_io.load_image` (EXIF orientation, 16-bit scaling,
`MAX_IMAGE_PIXELS`: the same rules as everywhere) in a thread pool, in input order, with at most
`in_flight` images decoded or being decoded at once, so memory does not grow with the number of images. A
file that cannot be read is a `Decoded` with `error` set (the message `load_image` gives), not an exception.

Example:

>>> import tempfile, pathlib, numpy as np
>>> from PIL import Image
>>> from keras_alexnet.batch.inputs import decode_stream, expand_inputs
>>> from keras_alexnet.eval_preprocessing import eval_preprocessing
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> Image.fromarray(np.zeros((40, 50, 3), "uint8")).save(folder / "a.png")
>>> _ = (folder / "b.jpg").write_bytes(b"not an image")
>>> spec = eval_preprocessing("torch", resize=32, crop=32)
>>> [(d.key.rsplit("/", 1)[1], d.image is None) for d in decode_stream(expand_inputs([str(folder)]), spec)]
[('a.png', False), ('b.jpg', True)]
"""

from __future__ import annotations

import collections
import dataclasses
import glob
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from keras_alexnet.errors import require
from keras_alexnet.eval_preprocessing import EvalPreprocessing

#: File name extensions a folder is searched for (case-insensitive); files named explicitly may have any.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
TFDS_PREFIX = "tfds:"
LIST_PREFIX = "@"
_GLOB_CHARACTERS = ("*", "?", "[")


@dataclasses.dataclass(frozen=True)
class InputItem:
    """One image to decode: `key` names it in results (a path, or `tfds:NAME:SPLIT/INDEX`); `data` its bytes."""

    key: str
    data: bytes | None = None  # None: read the file `key`
    error: str | None = None  # known to be unreadable before decoding (an input folder without images)


@dataclasses.dataclass(frozen=True)
class Decoded:
    """A decoded input: `image` (uint8, crop x crop x 3) or `error` (one line naming the file)."""

    key: str
    image: np.ndarray | None = None
    error: str | None = None


def is_glob(spec: str) -> bool:
    """Whether `spec` is a glob pattern (and not an existing file whose name has `*`, `?` or `[`)."""
    return any(c in spec for c in _GLOB_CHARACTERS) and not os.path.exists(spec)


def check_inputs(specs: Sequence[str], *, data_dir: str | None = None) -> None:
    """Refuse, before any model is built, inputs that cannot give a single image (ValueError naming them)."""
    if not specs:
        raise ValueError("Give at least one image, folder, glob pattern, @list.txt or tfds:NAME:SPLIT. Received: []")
    for spec in specs:
        if spec.startswith(LIST_PREFIX):
            if not Path(spec[1:]).is_file():
                raise ValueError(
                    f"The list file {spec[1:]!r} does not exist; '@FILE' names a text file with one image path a "
                    f"line. Received: {spec!r}"
                )
        elif spec.startswith(TFDS_PREFIX):
            _tfds_builder(spec, data_dir)
        elif is_glob(spec) and not glob.glob(spec, recursive=True):
            raise ValueError(f"The glob pattern {spec!r} matches no file. Received: {spec!r}")


def expand_inputs(
    specs: Iterable[str], *, data_dir: str | None = None, skip: set[str] | None = None
) -> Iterator[InputItem]:
    """The images of `specs` (see the module docstring), lazily, each key once; keys in `skip` are left out.

    `skip` is extended with the keys yielded that could come again (so an image named twice is decoded once):
    those of every input but the last, and those of list files and glob patterns, which may repeat a path.
    The keys of a last (or only) folder or TFDS split cannot repeat and are not kept, so streaming one folder
    or split holds nothing per image.
    """
    specs = list(specs)
    seen = skip if skip is not None else set()
    for number, spec in enumerate(specs):
        remember = number < len(specs) - 1 or _may_repeat(spec)
        for item in _expand_one(spec, data_dir):
            if item.key not in seen:
                if remember:
                    seen.add(item.key)
                yield item


def _may_repeat(spec: str) -> bool:
    """Whether one input can give the same key twice (a list file, or a glob matching a folder and its files)."""
    return spec.startswith(LIST_PREFIX) or (not spec.startswith(TFDS_PREFIX) and is_glob(spec))


def count_inputs(specs: Iterable[str], *, data_dir: str | None = None) -> int:
    """How many items `expand_inputs(specs)` yields (duplicates counted; a TFDS split from its metadata)."""
    total = 0
    for spec in specs:
        if spec.startswith(TFDS_PREFIX):
            builder, split = _tfds_builder(spec, data_dir)
            total += builder.info.splits[split].num_examples
        else:
            total += sum(1 for _ in _expand_one(spec, data_dir))
    return total


def _expand_one(spec: str, data_dir: str | None) -> Iterator[InputItem]:
    if spec.startswith(LIST_PREFIX):
        yield from _read_list(Path(spec[1:]))
    elif spec.startswith(TFDS_PREFIX):
        yield from _tfds_items(spec, data_dir)
    elif os.path.isdir(spec):
        empty = True
        for path in walk_images(spec):
            empty = False
            yield InputItem(path)
        if empty:
            problem = f"a folder without image files ({', '.join(IMAGE_EXTENSIONS)}), searched recursively"
            yield InputItem(spec, error=f"{spec}: {problem}. Received: {spec}")
    elif os.path.exists(spec) or not is_glob(spec):
        yield InputItem(spec)
    else:
        for path in sorted(glob.glob(spec, recursive=True)):
            if os.path.isdir(path):
                yield from (InputItem(p) for p in walk_images(path))
            else:
                yield InputItem(path)


def walk_images(folder: str | os.PathLike) -> Iterator[str]:
    """Image files under `folder` (by extension), recursively; sorted within each folder, folders in sorted order."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                yield os.path.join(root, name)


def _read_list(path: Path) -> Iterator[InputItem]:
    base = path.parent
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            name = line.strip()
            if name and not name.startswith("#"):
                yield InputItem(name if os.path.isabs(name) else os.path.join(base, name))


def parse_tfds_spec(spec: str) -> tuple[str, str]:
    """(NAME, SPLIT) of `tfds:NAME:SPLIT` (ValueError naming the form otherwise)."""
    parts = spec[len(TFDS_PREFIX) :].split(":", 1)
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ValueError(
            f"A TFDS input is tfds:NAME:SPLIT, e.g. tfds:imagenette/320px-v2:validation or "
            f"tfds:imagenet2012:validation[:1000]. Received: {spec!r}"
        )
    return parts[0], parts[1]


def _tfds_builder(spec: str, data_dir: str | None):
    """The prepared TFDS builder and split of `tfds:NAME:SPLIT` (ValueError if unknown or not prepared)."""
    tfds = require("tensorflow_datasets", "train", f"Reading the TFDS input {spec!r}")

    from keras_alexnet.data.sources import _classification_keys, _tfds_split

    name, split = parse_tfds_spec(spec)
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # tfds raises its own DatasetNotFoundError
        raise ValueError(f"Unknown TFDS dataset {name!r} ({error}). Received: {spec!r}") from error
    if not builder.is_prepared():
        raise ValueError(
            f"TFDS dataset {name!r} is not prepared in {builder.data_dir}; prepare it first (e.g. `tfds build "
            f"{name}`, or `keras-alexnet evaluate --dataset {name} --download`) or pass --data-dir. Received: {spec!r}"
        )
    _classification_keys(builder, name)
    base_split = split.split("[", 1)[0]
    return builder, split if "[" in split else _tfds_split(builder, base_split)


def _tfds_items(spec: str, data_dir: str | None) -> Iterator[InputItem]:
    import tensorflow_datasets as tfds

    from keras_alexnet.data.sources import _classification_keys

    builder, split = _tfds_builder(spec, data_dir)
    name = spec[len(TFDS_PREFIX) :].split(":", 1)[0]
    image_key, _ = _classification_keys(builder)
    dataset = builder.as_dataset(split=split, shuffle_files=False, decoders={image_key: tfds.decode.SkipDecoding()})
    for index, example in enumerate(dataset.as_numpy_iterator()):
        yield InputItem(f"{TFDS_PREFIX}{name}:{split}/{index}", bytes(example[image_key]))


def decode_item(item: InputItem, spec: EvalPreprocessing) -> Decoded:
    """Decode one input with `load_image` as `spec` says; a per-file failure becomes `Decoded.error`."""
    from keras_alexnet.image_io import ImageReadError, load_image

    if item.error is not None:
        return Decoded(item.key, error=item.error)
    if item.data is None:
        source = item.key
    else:
        source = io.BytesIO(item.data)
        source.name = item.key
    try:
        image = load_image(source, size=spec.crop, resize=spec.resize, resize_mode=spec.resize_mode)
    except ImageReadError as error:
        return Decoded(item.key, error=" ".join(str(error).split()))
    except FileNotFoundError as error:
        return Decoded(item.key, error=f"{item.key}: {error.strerror or error}")
    return Decoded(item.key, image=image)


def decode_stream(
    items: Iterable[InputItem], spec: EvalPreprocessing, *, workers: int | None = None, in_flight: int | None = None
) -> Iterator[Decoded]:
    """Decode `items` in a pool of `workers` threads (default: the CPU count), yielding them in input order.

    At most `in_flight` items (default 4 x workers, at least 32) are decoded or waiting to be taken, so memory
    stays bounded however many images there are. Pillow releases the GIL while it decodes and resizes, so
    threads decode in parallel, and alongside the network.
    """
    workers = workers or os.cpu_count() or 1
    in_flight = in_flight or max(32, 4 * workers)
    if workers < 1 or in_flight < 1:
        raise ValueError(f"`workers` and `in_flight` must be positive. Received: {workers}, {in_flight}")
    iterator = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="keras_alexnet_decode") as pool:
        pending: collections.deque = collections.deque()
        for item in iterator:
            pending.append(pool.submit(decode_item, item, spec))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


__all__ = [
    "IMAGE_EXTENSIONS",
    "Decoded",
    "InputItem",
    "check_inputs",
    "count_inputs",
    "decode_item",
    "decode_stream",
    "expand_inputs",
    "parse_tfds_spec",
    "walk_images",
]
