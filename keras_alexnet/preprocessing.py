"""Pre- and post-processing matching the way each checkpoint was trained.

- "caffe" (the "original" variant, BVLC weights): RGB -> BGR, then subtract the
  per-channel ImageNet mean of the BVLC mean image (0-255 pixels, no scaling).
- "torch" (the "torchvision" variant): scale to [0, 1], subtract the ImageNet mean
  (0.485, 0.456, 0.406) and divide by the std (0.229, 0.224, 0.225), RGB.

Inputs are RGB, as Keras Applications expect; NumPy arrays and tensors, uint8 or
float; the input is never modified.

Example:

>>> import numpy as np
>>> from keras_alexnet import preprocess_input
>>> preprocess_input(np.full((1, 2, 2, 3), 255, "uint8"), variant="torchvision")[0, 0, 0].round(3)
array([2.249, 2.429, 2.64 ], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from keras_alexnet.imagenet import imagenet_classes

#: Per-channel mean (B, G, R) of Caffe's `ilsvrc_2012_mean.binaryproto`, the
#: mean image the BVLC model was trained with (its spatial average).
CAFFE_BGR_MEAN = (104.00698793, 116.66876762, 122.67891434)
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)
MODES = ("caffe", "torch")


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
    variant: str | None = None,
    data_format: str | None = None,
    mode: str | None = None,
    weights: str | None = None,
):
    """Prepare RGB images (0-255) for AlexNet, as the variant's checkpoint was trained.

    Args:
        x: images, `(..., H, W, 3)` (or `(..., 3, H, W)` channels-first), NumPy or tensor, any dtype.
        variant: "original" (Caffe/BVLC preprocessing, default) or "torchvision".
        data_format: "channels_last" or "channels_first"; defaults to Keras' setting.
        mode: "caffe" or "torch", overriding `variant`.
        weights: a registered weights name, overriding `variant`.

    Returns:
        float32 array or tensor of the same shape (BGR for "caffe").
    """
    import keras

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


def _preprocess(x, mode: str, channel_axis: int, xp):
    if len(x.shape) < 3 or x.shape[channel_axis] != 3:
        raise ValueError(
            "`preprocess_input` expects RGB images with 3 channels on the channel axis "
            f"({channel_axis}). Received: input of shape {tuple(x.shape)}"
        )
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
