"""Pre- and post-processing matching the way each checkpoint was trained.

- "caffe" (the "original" variant, BVLC weights): RGB -> BGR, then subtract the
  per-channel ImageNet mean of the BVLC mean image (0-255 pixels, no scaling).
- "torch" (the "torchvision" variant): scale to [0, 1], subtract the ImageNet mean
  (0.485, 0.456, 0.406) and divide by the std (0.229, 0.224, 0.225), RGB.
- "paper" (weights trained by `keras-alexnet train`): subtract the training set's
  RGB mean, 0-255 (Section 2); the mean is in the checkpoint's `NetworkRecord`,
  so use `preprocess_for(x, network)`, which applies any checkpoint's convention.

Inputs are RGB, as Keras Applications expect; NumPy arrays and tensors, uint8 or
float; the input is never modified.

Example:

>>> import numpy as np
>>> from keras_alexnet import preprocess_input
>>> preprocess_input(np.full((1, 2, 2, 3), 255, "uint8"), variant="torchvision")[0, 0, 0].round(3)
array([2.249, 2.429, 2.64 ], dtype=float32)
"""

from __future__ import annotations

import warnings

import numpy as np

from keras_alexnet.imagenet import imagenet_classes

#: Per-channel mean (B, G, R) of Caffe's `ilsvrc_2012_mean.binaryproto`, the
#: mean image the BVLC model was trained with (its spatial average).
CAFFE_BGR_MEAN = (104.00698793, 116.66876762, 122.67891434)
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)
MODES = ("caffe", "torch")  # the conventions that need nothing but their name ("paper" needs a mean)


def resolve_mode(variant: str | None = None, mode: str | None = None, weights: str | None = None) -> str:
    """The preprocessing mode for an explicit mode, a registered weights name or a variant."""
    if mode is not None:
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
        return mode
    if weights is not None:
        from keras_alexnet.weights.registry import get_weights_record

        return get_weights_record(weights).network.preprocessing
    from keras_alexnet.models.variants import get_variant

    return get_variant(variant or "original").preprocessing


def preprocess_input(
    x,
    data_format: str | None = None,
    *legacy,
    variant: str | None = None,
    mode: str | None = None,
    weights: str | None = None,
):
    """Prepare RGB images (0-255) for AlexNet, as the variant's checkpoint was trained.

    The positional order is Keras Applications' (`preprocess_input(x, data_format=None)`); the checkpoint
    selectors are keyword-only. A variant name passed second (the order before 0.2) still works for one
    release, with a `DeprecationWarning` naming `variant=` (so do the old positional `data_format`, `mode` and
    `weights` after it: `preprocess_input(x, "torchvision", "channels_first")`).

    Args:
        x: images, `(..., H, W, 3)` (or `(..., 3, H, W)` channels-first), NumPy or tensor, any dtype.
        data_format: "channels_last" or "channels_first"; defaults to Keras' setting.
        variant: "original" (Caffe/BVLC preprocessing, default) or "torchvision".
        mode: "caffe" or "torch", overriding `variant`.
        weights: a registered weights name, overriding `variant`.

    Returns:
        float32 array or tensor of the same shape (BGR for "caffe").

    Example:

    >>> import numpy as np
    >>> preprocess_input(np.zeros((1, 3, 1, 1), "uint8"), "channels_first", variant="torchvision")[0, :, 0, 0].round(3)
    array([-2.118, -2.036, -1.804], dtype=float32)
    """
    import keras

    if legacy:  # the order before 0.2: preprocess_input(x, variant, data_format, mode, weights)
        if not _is_variant_name(data_format) or len(legacy) > 3 or variant is not None:
            raise TypeError(
                "preprocess_input takes `x` and `data_format` positionally; pass `variant`, `mode` and `weights` "
                f"as keywords. Received: {2 + len(legacy)} positional arguments"
            )
        warnings.warn(
            f"preprocess_input(x, {data_format!r}, ...): the positional order is now Keras Applications' "
            f"(x, data_format); pass the rest as keywords: preprocess_input(x, data_format=..., variant="
            f"{data_format!r}, mode=..., weights=...). The positional form will be removed in the next release.",
            DeprecationWarning,
            stacklevel=2,
        )
        variant, data_format = data_format, legacy[0]
        mode = legacy[1] if len(legacy) > 1 and mode is None else mode
        weights = legacy[2] if len(legacy) > 2 and weights is None else weights
    if data_format not in (None, "channels_last", "channels_first") and _is_variant_name(data_format):
        if variant is not None:
            raise ValueError(
                "`preprocess_input`'s second argument is `data_format` (as in Keras Applications); pass the variant "
                f"once, as `variant=`. Received: data_format={data_format!r}, variant={variant!r}"
            )
        warnings.warn(
            f"preprocess_input(x, {data_format!r}): the second positional argument is now `data_format`, as in "
            f"Keras Applications; pass the variant as a keyword: preprocess_input(x, variant={data_format!r}). "
            "The positional form will be removed in the next release.",
            DeprecationWarning,
            stacklevel=2,
        )
        variant, data_format = data_format, None
    mode = resolve_mode(variant, mode, weights)
    data_format = data_format or keras.config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"`data_format` must be 'channels_last' or 'channels_first'. Received: data_format={data_format!r}"
        )
    channel_axis = -1 if data_format == "channels_last" else -3
    if isinstance(x, np.ndarray | list | tuple):
        return _preprocess(np.array(x, dtype=np.float32, copy=True), mode, channel_axis, np)
    return _preprocess(keras.ops.cast(x, "float32"), mode, channel_axis, keras.ops)


def _is_variant_name(value) -> bool:
    from keras_alexnet.models.variants import VARIANTS

    return isinstance(value, str) and value in VARIANTS


def preprocess_for(x, network, data_format: str | None = None):
    """Prepare RGB images (0-255) as the weights of `network` (a `NetworkRecord`) were trained.

    "caffe" and "torch" as in `preprocess_input`; "paper" subtracts the record's `pixel_mean`.

    Example:

    >>> import numpy as np
    >>> from keras_alexnet.weights import NetworkRecord
    >>> record = NetworkRecord(classes=10, preprocessing="paper", pixel_mean=(10.0, 20.0, 30.0))
    >>> preprocess_for(np.full((1, 2, 2, 3), 40, "uint8"), record)[0, 0, 0]
    array([30., 20., 10.], dtype=float32)
    """
    if network.preprocessing != "paper":
        return preprocess_input(x, mode=network.preprocessing, data_format=data_format)
    import keras

    if network.pixel_mean is None:
        raise ValueError(
            "These weights use the paper's preprocessing (minus the training set's mean) but their record has no "
            "`pixel_mean`; write the checkpoint again with `keras-alexnet train`. Received: pixel_mean=None"
        )
    data_format = data_format or keras.config.image_data_format()
    channel_axis = -1 if data_format == "channels_last" else -3
    xp = np if isinstance(x, np.ndarray | list | tuple) else keras.ops
    x = np.array(x, dtype=np.float32, copy=True) if xp is np else keras.ops.cast(x, "float32")
    _check_rgb(x, channel_axis)
    shape = [1] * len(x.shape)
    shape[channel_axis] = 3
    return x - xp.reshape(xp.array(network.pixel_mean, dtype="float32"), shape)


def _check_rgb(x, channel_axis: int) -> None:
    if len(x.shape) < 3 or x.shape[channel_axis] != 3:
        raise ValueError(
            "`preprocess_input` expects RGB images with 3 channels on the channel axis "
            f"({channel_axis}). Received: input of shape {tuple(x.shape)}"
        )


def _preprocess(x, mode: str, channel_axis: int, xp):
    _check_rgb(x, channel_axis)
    shape = [1] * len(x.shape)
    shape[channel_axis] = 3
    if mode == "caffe":
        x = xp.flip(x, axis=channel_axis)
        return x - xp.reshape(xp.array(CAFFE_BGR_MEAN, dtype="float32"), shape)
    mean = xp.reshape(xp.array(TORCH_MEAN, dtype="float32"), shape)
    std = xp.reshape(xp.array(TORCH_STD, dtype="float32"), shape)
    return (x / 255.0 - mean) / std


def decode_predictions(preds, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """Decode a batch of ImageNet predictions into (WordNet id, name, score), best first.

    Example:

    >>> import numpy as np
    >>> from keras_alexnet import decode_predictions
    >>> p = np.zeros((1, 1000)); p[0, 1] = 1.0
    >>> decode_predictions(p, top=1)[0][0][:2]
    ('n01443537', 'goldfish, Carassius auratus')
    """
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "`decode_predictions` expects a batch of ImageNet predictions, an array of shape "
            f"(samples, 1000). Received: array of shape {preds.shape}"
        )
    if not isinstance(top, int) or top < 1:
        raise ValueError(f"`top` must be a positive integer. Received: top={top!r}")
    classes = imagenet_classes()
    results = []
    for row in preds:
        order = np.argsort(-row, kind="stable")[:top]
        results.append([(classes[i][0], classes[i][1], float(row[i])) for i in order])
    return results
