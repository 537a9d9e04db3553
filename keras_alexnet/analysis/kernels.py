"""First-layer kernels (the paper's Figure 3) and how colour-specific each tower is.

The 2012 paper reports that the kernels learned by tower 1 (kernels 0-47) are
largely colour-agnostic while those of tower 2 (48-95) are largely
colour-specific. `kernel_report` measures this on any checkpoint with two
numbers per tower, computed on RGB kernels (BGR checkpoints, such as BVLC's,
are flipped first, using the checkpoint's NetworkRecord):

- `mean_chroma`: each kernel is contrast-normalised to [0, 1] (min-max over
  its 11x11x3 values); a pixel's chroma is max(R, G, B) - min(R, G, B) (HSV
  chroma); the kernel's chroma is the mean over its pixels; the tower's is the
  mean over its kernels. 0 for grey kernels.
- `colour_fraction`: the fraction of a kernel's variance (about its mean)
  that lies off the grey axis R=G=B: 0 for grey kernels, 2/3 on average for
  random kernels (the grey axis is one of three dimensions), 1 for kernels
  with no luminance component.

Example:

>>> import numpy as np
>>> from keras_alexnet.analysis.kernels import colour_fraction, mean_chroma
>>> grey = np.repeat(np.random.default_rng(0).normal(size=(11, 11, 1, 2)), 3, axis=2)
>>> mean_chroma(grey).round(6).tolist(), colour_fraction(grey).round(6).tolist()
([0.0, 0.0], [0.0, 0.0])
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np

from keras_alexnet.outputs import write_text_atomic
from keras_alexnet.weights.network import NetworkRecord

#: Pixels of the (11x11) kernels are drawn this many times larger.
ZOOM = 4


def conv1_kernels(model: keras.Model, network: NetworkRecord | None = None) -> np.ndarray:
    """conv1's kernels as RGB, shape (kernels, height, width, 3)."""
    try:
        kernel = keras.ops.convert_to_numpy(model.get_layer("conv1").kernel)
    except ValueError:
        raise ValueError(
            f"The model {model.name!r} has no 'conv1' layer (was it built with remove=('conv1',)?). "
            f"Received: a model with layers {[layer.name for layer in model.layers][:8]}..."
        ) from None
    if kernel.shape[2] != 3:
        raise ValueError(f"conv1 must read 3 colour channels. Received: a kernel of shape {kernel.shape}")
    kernel = np.transpose(kernel, (3, 0, 1, 2)).astype(np.float64)
    if network is not None and network.channel_order == "BGR":
        kernel = kernel[..., ::-1]
    return kernel


def normalise_kernels(kernels: np.ndarray) -> np.ndarray:
    """Contrast-normalise each kernel (first axis) to [0, 1]; constant kernels become 0.5 grey."""
    kernels = np.asarray(kernels, dtype=np.float64)
    flat = kernels.reshape(len(kernels), -1)
    low, high = flat.min(axis=1), flat.max(axis=1)
    span = high - low
    scaled = (flat - low[:, None]) / np.where(span > 0, span, 1.0)[:, None]
    scaled[span == 0] = 0.5
    return scaled.reshape(kernels.shape)


def mean_chroma(kernels: np.ndarray) -> np.ndarray:
    """Per kernel: mean over pixels of max(RGB) - min(RGB) after contrast normalisation.

    Accepts (kernels, H, W, 3) or a Keras conv kernel (H, W, 3, kernels).
    """
    kernels = _kernels_first(kernels)
    normalised = normalise_kernels(kernels)
    return (normalised.max(axis=-1) - normalised.min(axis=-1)).mean(axis=(1, 2))


def colour_fraction(kernels: np.ndarray) -> np.ndarray:
    """Per kernel: the share of its variance off the grey axis (0 grey, 2/3 random, 1 no luminance)."""
    kernels = _kernels_first(kernels)
    centred = kernels - kernels.mean(axis=(1, 2, 3), keepdims=True)
    total = (centred**2).sum(axis=(1, 2, 3))
    chromatic = ((centred - centred.mean(axis=-1, keepdims=True)) ** 2).sum(axis=(1, 2, 3))
    return np.where(total > 0, chromatic / np.where(total > 0, total, 1.0), 0.0)


def _kernels_first(kernels: np.ndarray) -> np.ndarray:
    kernels = np.asarray(kernels, dtype=np.float64)
    if kernels.ndim != 4 or 3 not in (kernels.shape[-1], kernels.shape[2]):
        raise ValueError(
            "Expected RGB kernels of shape (kernels, H, W, 3) or a conv kernel (H, W, 3, kernels). "
            f"Received: an array of shape {kernels.shape}"
        )
    if kernels.shape[-1] != 3:
        kernels = np.transpose(kernels, (3, 0, 1, 2))
    return kernels


def towers(count: int, groups: int = 2) -> list[tuple[str, range]]:
    """The (label, kernel indices) of each tower: two halves when `count` splits evenly, else one."""
    if groups > 1 and count % groups == 0:
        size = count // groups
        return [
            (f"tower {g + 1} (kernels {g * size}-{(g + 1) * size - 1})", range(g * size, (g + 1) * size))
            for g in range(groups)
        ]
    return [(f"single tower (kernels 0-{count - 1})", range(count))]


def model_towers(model: keras.Model) -> int:
    """2 for the two-tower layout (conv2 grouped), else 1."""
    try:
        return int(getattr(model.get_layer("conv2"), "groups", 1))
    except ValueError:
        return 1


def kernel_report(kernels: np.ndarray, groups: int = 2) -> dict:
    """Colour-specificity numbers per tower and per kernel, for RGB kernels (kernels, H, W, 3)."""
    chroma = mean_chroma(kernels)
    fraction = colour_fraction(kernels)
    report = {
        "towers": [],
        "per_kernel": {"mean_chroma": chroma.round(6).tolist(), "colour_fraction": fraction.round(6).tolist()},
    }
    for label, indices in towers(len(kernels), groups):
        index = np.asarray(indices)
        report["towers"].append(
            {
                "label": label,
                "first_kernel": int(index[0]),
                "last_kernel": int(index[-1]),
                "mean_chroma": round(float(chroma[index].mean()), 6),
                "colour_fraction": round(float(fraction[index].mean()), 6),
            }
        )
    return report


def kernel_mosaic(kernels: np.ndarray, columns: int = 16, zoom: int = ZOOM, gap: int = 1) -> np.ndarray:
    """Tile contrast-normalised RGB kernels (kernels, H, W, 3) into one float image in [0, 1]."""
    normalised = normalise_kernels(kernels)
    count, height, width, _ = normalised.shape
    rows = -(-count // columns)
    cell_h, cell_w = height * zoom + gap, width * zoom + gap
    mosaic = np.ones((rows * cell_h + gap, columns * cell_w + gap, 3))
    for i, kernel in enumerate(normalised):
        r, c = divmod(i, columns)
        big = np.kron(kernel, np.ones((zoom, zoom, 1)))
        mosaic[
            gap + r * cell_h : gap + r * cell_h + height * zoom, gap + c * cell_w : gap + c * cell_w + width * zoom
        ] = big
    return mosaic


def plot_kernels(kernels: np.ndarray, report: dict, path: str | os.PathLike, title: str = "conv1 kernels") -> Path:
    """Draw each tower's kernels as a labelled block, with its colour-specificity numbers."""
    from keras_alexnet.analysis.plotting import new_figure, save_figure

    blocks = report["towers"]
    mosaics = [kernel_mosaic(kernels[t["first_kernel"] : t["last_kernel"] + 1]) for t in blocks]
    width = 8.0
    heights = [width * m.shape[0] / m.shape[1] for m in mosaics]
    figure = new_figure(width, sum(heights) + 0.55 * len(blocks) + 0.4)
    axes = figure.subplots(len(blocks), 1, squeeze=False, gridspec_kw={"height_ratios": heights})
    for axis, mosaic, tower in zip(axes[:, 0], mosaics, blocks, strict=True):
        axis.imshow(mosaic, interpolation="nearest")
        axis.set_axis_off()
        axis.set_title(
            f"{tower['label']}: mean chroma {tower['mean_chroma']:.3f}, colour fraction {tower['colour_fraction']:.3f}",
            fontsize=9,
        )
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path)


def write_report(report: dict, path: str | os.PathLike) -> Path:
    """Write the report as JSON, atomically."""
    return write_text_atomic(path, json.dumps(report, indent=2) + "\n")
