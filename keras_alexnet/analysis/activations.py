"""Feature maps of one image at one layer, drawn as a grid.

Example:

>>> import keras_alexnet, numpy as np
>>> from keras_alexnet.analysis.activations import layer_activations
>>> model = keras_alexnet.AlexNet(include_top=False)
>>> layer_activations(model, np.zeros((227, 227, 3), "float32"), "conv1").shape
(55, 55, 96)
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import keras
import numpy as np

from keras_alexnet.analysis.layers import get_layer, spatial_layer_names


def layer_activations(model: keras.Model, image: np.ndarray, layer: str) -> np.ndarray:
    """The (H, W, C) output of `layer` for one preprocessed image (H, W, 3), channels last."""
    target = get_layer(model, layer, spatial_layer_names(model), what="layer with feature maps")
    probe = keras.Model(model.input, target.output)
    output = keras.ops.convert_to_numpy(probe(np.asarray(image, np.float32)[None], training=False))[0]
    if keras.config.image_data_format() == "channels_first":
        output = np.transpose(output, (1, 2, 0))
    return output


def normalise_maps(maps: np.ndarray) -> np.ndarray:
    """Scale each channel of (H, W, C) to [0, 1] by its own min and max (constant maps become 0)."""
    maps = np.asarray(maps, dtype=np.float64)
    low = maps.min(axis=(0, 1), keepdims=True)
    span = maps.max(axis=(0, 1), keepdims=True) - low
    return np.where(span > 0, (maps - low) / np.where(span > 0, span, 1.0), 0.0)


def activation_mosaic(maps: np.ndarray, columns: int | None = None, gap: int = 1) -> np.ndarray:
    """Tile the normalised channels of (H, W, C) into one 2D image (NaN in the gaps)."""
    height, width, channels = maps.shape
    columns = columns or math.ceil(math.sqrt(channels * 1.5))
    rows = math.ceil(channels / columns)
    mosaic = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan)
    normalised = normalise_maps(maps)
    for c in range(channels):
        r, col = divmod(c, columns)
        mosaic[r * (height + gap) : r * (height + gap) + height, col * (width + gap) : col * (width + gap) + width] = (
            normalised[..., c]
        )
    return mosaic


def plot_activations(
    image: np.ndarray, maps: np.ndarray, path: str | os.PathLike, title: str, max_maps: int | None = None
) -> Path:
    """The input image beside the grid of its feature maps (each scaled to its own range)."""
    from keras_alexnet.analysis.plotting import matplotlib_module, new_figure, save_figure

    matplotlib = matplotlib_module()

    shown = maps[..., :max_maps] if max_maps else maps
    mosaic = activation_mosaic(shown)
    aspect = mosaic.shape[1] / mosaic.shape[0]
    figure = new_figure(2.6 + 7.0, max(3.0, 7.0 / aspect) + 0.5)
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 3.6]})
    left.imshow(image)
    left.set_title("input", fontsize=9)
    left.set_axis_off()
    colormap = matplotlib.colormaps["gray"].with_extremes(bad="#3060c0")
    right.imshow(mosaic, cmap=colormap, vmin=0.0, vmax=1.0, interpolation="nearest")
    right.set_title(f"{shown.shape[-1]} of {maps.shape[-1]} maps, {maps.shape[0]}x{maps.shape[1]}", fontsize=9)
    right.set_axis_off()
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path)
