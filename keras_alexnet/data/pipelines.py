"""`tf.data` pipelines for training and evaluation, parallel and prefetched.

Training (`make_train_dataset`): shorter side to 256 and centre 256 x 256
square, kept as uint8 like the paper's stored images (`train_squares`, optionally
cached in memory); PCA colour augmentation (optional, with saved statistics); mean
subtraction (per-pixel mean image or per-channel mean); a random
`image_size` crop and a horizontal flip; batched. Random draws are stateless
and seeded per example, so a pipeline with a fixed `seed` is reproducible.

Evaluation (`make_eval_dataset`, `load_eval_dataset`): the same 256 square
(or, `resize_mode="warp"`, the whole image warped to 256 x 256, as BVLC's Caffe
data was), the same normalisation, then the centre crop (batches of (B, S, S, 3)) or the
paper's ten crops (batches of (B, 10, S, S, 3)).

Normalisation (`normalization=`): a `PixelStatistics` (the paper: subtract the
training set's mean; `mean="image"` for the per-pixel mean image, `"channel"`
for the per-channel mean, `"none"` to keep 0-255 values but still use its PCA), "caffe" or "torch" (what the registered
checkpoints expect, see `keras_alexnet.preprocess_input`), or None (0-255).

Example:

>>> from keras_alexnet.data import load_eval_dataset
>>> ds, source = load_eval_dataset("digits", "validation", image_size=67, crops="ten", batch_size=4)
>>> tuple(next(iter(ds))[0].shape)
(4, 10, 67, 67, 3)
"""

from __future__ import annotations

import os

import tensorflow as tf

from keras_alexnet.data import transforms
from keras_alexnet.data.sources import ImageSource, load_source
from keras_alexnet.data.statistics import PixelStatistics

MEANS = ("image", "channel", "none")
CROPS = ("center", "ten")
RESIZE = 256


def _normalizer(normalization, mean: str, side: int):
    """A function float32 (side, side, 3) -> normalised image (applied before cropping)."""
    if mean not in MEANS:
        raise ValueError(f"`mean` must be one of {MEANS}. Received: mean={mean!r}")
    if normalization is None or (mean == "none" and isinstance(normalization, PixelStatistics)):
        return lambda image: image
    if isinstance(normalization, PixelStatistics):
        if mean == "image":
            mean_image = normalization.mean_image
            if tuple(mean_image.shape[:2]) != (side, side):
                raise ValueError(
                    f"The mean image is {mean_image.shape[0]}x{mean_image.shape[1]} but images are resized to "
                    f"{side}x{side}; recompute the statistics or use mean='channel'. Received: {mean_image.shape}"
                )
            value = tf.constant(mean_image, tf.float32)
        else:
            value = tf.constant(normalization.channel_mean, tf.float32)
        return lambda image: image - value
    if hasattr(normalization, "preprocessing"):  # a NetworkRecord: its checkpoint's convention and pixel mean
        from keras_alexnet.preprocessing import preprocess_for

        return lambda image: preprocess_for(image, normalization, data_format="channels_last")
    if isinstance(normalization, str) and normalization in ("caffe", "torch"):
        from keras_alexnet.preprocessing import preprocess_input

        return lambda image: preprocess_input(image, mode=normalization, data_format="channels_last")
    raise ValueError(
        "`normalization` must be a PixelStatistics, a NetworkRecord, 'caffe', 'torch' or None. "
        f"Received: normalization={normalization!r}"
    )


def _check_size(image_size: int, side: int) -> None:
    if not isinstance(image_size, int) or not 1 <= image_size <= side:
        raise ValueError(f"`image_size` must be an integer from 1 to {side}. Received: image_size={image_size!r}")


def train_squares(source: ImageSource, *, resize: int = RESIZE, cache: bool = False) -> tf.data.Dataset:
    """The training images as the paper stored them: (uint8 `resize` x `resize` centre square, label).

    uint8 keeps the shuffle buffer and the cache at a quarter of float32's size (10,000 squares of
    256 x 256 x 3: 2 GB instead of 8 GB). With `cache=True` the squares are kept in memory after the
    first pass, so later epochs skip reading, decoding and resizing: 197 KB per 256 x 256 image, for
    datasets that fit (not ImageNet's 1.28M images).
    """
    squares = source.dataset.map(
        lambda image, label: (
            tf.saturate_cast(tf.round(transforms.resize_and_center_crop(image, resize)), tf.uint8),
            label,
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return squares.cache() if cache else squares


def make_train_dataset(
    source: ImageSource,
    *,
    batch_size: int = 128,
    image_size: int = 227,
    normalization: PixelStatistics | str | None = None,
    mean: str = "channel",
    pca_std: float = 0.1,
    flip: bool = True,
    seed: int = 0,
    epoch: int = 0,
    shuffle_buffer: int = 10_000,
    drop_remainder: bool = True,
    repeat: bool = False,
    resize: int = RESIZE,
    cache: bool = False,
    squares: tf.data.Dataset | None = None,
) -> tf.data.Dataset:
    """The paper's training pipeline; yields (float32 (B, S, S, 3), int32 (B,)).

    PCA lighting needs `normalization` to be a `PixelStatistics` (its eigen-decomposition); set
    `pca_std=0` to switch it off. The shuffle order and the random crops, flips and PCA draws depend
    only on (`seed`, `epoch`): pass the epoch number to get a new order each epoch (see
    `make_epochs_dataset`). `squares` (from `train_squares(source, ...)`) lets several epochs share
    one cache; `cache` is used when it is None.
    """
    _check_size(image_size, resize)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise ValueError(f"`epoch` must be an integer >= 0. Received: epoch={epoch!r}")
    normalize = _normalizer(normalization, mean, resize)
    # Everything but the per-pixel mean image is a per-channel affine map, which commutes with cropping and
    # flipping: crop first and add the per-image PCA shift to the small crop (same result, less work).
    per_pixel = isinstance(normalization, PixelStatistics) and mean == "image"
    use_pca = bool(pca_std) and isinstance(normalization, PixelStatistics)
    eigenvalues = normalization.eigenvalues if use_pca else None
    eigenvectors = normalization.eigenvectors if use_pca else None

    dataset = squares if squares is not None else train_squares(source, resize=resize, cache=cache)
    if shuffle_buffer:
        # The order depends on (seed, epoch) only, so epoch `e` is the same whether or not the run was resumed.
        dataset = dataset.shuffle(
            shuffle_buffer, seed=(seed * 1_000_003 + epoch) % (2**31 - 1), reshuffle_each_iteration=False
        )

    def augment(index, example):
        image, label = example
        # Stateless per-example seeds from (seed, epoch, position): reproducible and resumable.
        seeds = tf.random.experimental.stateless_split(
            tf.stack([tf.constant(seed * 1_000_003 + epoch, tf.int64), index]), 2
        )
        if per_pixel:
            image = normalize(tf.cast(image, tf.float32))
        if flip:
            image = transforms.random_crop_and_flip(image, image_size, seed=seeds[1])
        else:
            image = tf.image.stateless_random_crop(image, (image_size, image_size, 3), seed=seeds[1])
        image = tf.cast(image, tf.float32)
        if use_pca:
            image = image + transforms.pca_shift(eigenvalues, eigenvectors, pca_std, seed=seeds[0])
        if not per_pixel:
            image = normalize(image)
        return image, label

    dataset = dataset.enumerate().map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def make_epochs_dataset(source: ImageSource, *, start_epoch: int = 0, end_epoch: int, **kwargs) -> tf.data.Dataset:
    """Epochs `start_epoch` .. `end_epoch - 1` of `make_train_dataset`, one after the other.

    For `model.fit(..., steps_per_epoch=...)`: every epoch has its own (seed, epoch) order, so a
    run resumed at epoch `e` sees exactly the batches an uninterrupted run would. With `cache=True`
    all epochs share one in-memory cache of the squares, filled by the first.
    """
    kwargs.pop("repeat", None)
    if end_epoch <= start_epoch:
        raise ValueError(f"`end_epoch` must exceed `start_epoch`. Received: {start_epoch=}, {end_epoch=}")
    if kwargs.get("squares") is None:
        kwargs["squares"] = train_squares(
            source, resize=kwargs.get("resize", RESIZE), cache=bool(kwargs.pop("cache", False))
        )
    dataset = make_train_dataset(source, epoch=start_epoch, **kwargs)
    for epoch in range(start_epoch + 1, end_epoch):
        dataset = dataset.concatenate(make_train_dataset(source, epoch=epoch, **kwargs))
    return dataset.prefetch(tf.data.AUTOTUNE)


def make_eval_dataset(
    source: ImageSource,
    *,
    batch_size: int = 128,
    image_size: int = 227,
    crops: str = "center",
    normalization: PixelStatistics | str | None = None,
    mean: str = "channel",
    resize: int = RESIZE,
    resize_mode: str = "shorter_side",
) -> tf.data.Dataset:
    """Evaluation batches: (B, S, S, 3) for `crops="center"`, (B, 10, S, S, 3) for `"ten"`.

    `resize_mode`: "shorter_side" (the paper, torchvision) or "warp" (both sides to `resize`, as BVLC's Caffe
    data); `keras_alexnet.eval_preprocessing.eval_preprocessing(network)` names a checkpoint's.
    """
    from keras_alexnet.eval_preprocessing import check_resize_mode

    check_resize_mode(resize_mode)
    _check_size(image_size, resize)
    if crops not in CROPS:
        raise ValueError(f"`crops` must be one of {CROPS}. Received: crops={crops!r}")
    normalize = _normalizer(normalization, mean, resize)

    def prepare(image, label):
        square = normalize(transforms.resize_and_center_crop(image, resize, resize_mode))
        if crops == "ten":
            return transforms.ten_crop(square, image_size), label
        return tf.ensure_shape(transforms.center_crop(square, image_size), (image_size, image_size, 3)), label

    dataset = source.dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def load_eval_dataset(
    dataset: str,
    split: str = "validation",
    *,
    image_size: int = 227,
    crops: str = "center",
    batch_size: int = 64,
    normalization: PixelStatistics | str | None = None,
    mean: str = "channel",
    data_dir: str | os.PathLike | None = None,
    manual_dir: str | os.PathLike | None = None,
    download: bool = False,
    limit: int | None = None,
    resize: int = RESIZE,
    resize_mode: str = "shorter_side",
) -> tuple[tf.data.Dataset, ImageSource]:
    """Load `split` of `dataset` (TFDS name, "folder:PATH" or "digits") ready for evaluation.

    Returns the batched dataset and its `ImageSource` (class names, `bad_records` counter).
    """
    source = load_source(dataset, split, data_dir=data_dir, manual_dir=manual_dir, download=download, limit=limit)
    eval_ds = make_eval_dataset(
        source,
        batch_size=batch_size,
        image_size=image_size,
        crops=crops,
        normalization=normalization,
        mean=mean,
        resize=resize,
        resize_mode=resize_mode,
    )
    return eval_ds, source
