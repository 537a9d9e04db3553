"""Per-layer table of an AlexNet: output shape, parameters and multiply-accumulates.

MACs count the multiply-accumulates of convolutions and dense layers per image
(`out_h * out_w * filters * kh * kw * in_channels / groups` and `in * out`);
biases, ReLU, LRN, pooling and dropout are not counted.

Example:

>>> import keras_alexnet
>>> from keras_alexnet.models.summary import layer_table
>>> rows = layer_table(keras_alexnet.AlexNet())
>>> sum(r.params for r in rows), sum(r.macs for r in rows)
(60965224, 724406816)
"""

from __future__ import annotations

import dataclasses
import math

import keras


@dataclasses.dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    output_shape: tuple
    params: int
    macs: int
    detail: str = ""


def layer_macs(layer: keras.layers.Layer) -> int:
    """Multiply-accumulates per image of a Conv2D (grouped or not) or Dense layer; 0 otherwise."""
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw, in_per_group, filters = layer.kernel.shape
        out_shape = layer.output.shape
        spatial = out_shape[1:3] if layer.data_format == "channels_last" else out_shape[2:4]
        return int(math.prod(spatial) * filters * kh * kw * in_per_group)
    if isinstance(layer, keras.layers.Dense):
        return int(math.prod(layer.kernel.shape))
    return 0


def _detail(layer: keras.layers.Layer) -> str:
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw = layer.kernel_size
        text = f"{layer.filters}@{kh}x{kw}/{layer.strides[0]} {layer.padding}"
        return text + (f", {layer.groups} towers" if layer.groups > 1 else "")
    if isinstance(layer, keras.layers.MaxPooling2D):
        return f"{layer.pool_size[0]}x{layer.pool_size[1]}/{layer.strides[0]}"
    if isinstance(layer, keras.layers.ZeroPadding2D):
        return f"pad {layer.padding[0][0]}"
    if isinstance(layer, keras.layers.Dropout):
        return f"rate {layer.rate}"
    if isinstance(layer, keras.layers.Dense):
        return f"{layer.units} units"
    config = layer.get_config()
    if "beta" in config and "size" in config:
        mode = "average" if config["average"] else "sum"
        return f"n={config['size']} k={config['k']:g} alpha={config['alpha']:g} beta={config['beta']:g} {mode}"
    return ""


def layer_table(model: keras.Model) -> list[LayerRow]:
    """One row per layer of `model` (input layer included)."""
    rows = []
    for layer in model.layers:
        shape = tuple(layer.output.shape[1:])
        rows.append(
            LayerRow(
                layer.name, type(layer).__name__, shape, int(layer.count_params()), layer_macs(layer), _detail(layer)
            )
        )
    return rows


def format_table(rows: list[LayerRow]) -> str:
    """A fixed-width text table with totals."""
    header = ("layer", "type", "output shape", "parameters", "MACs", "")
    lines = [header]
    for row in rows:
        shape = "x".join("?" if s is None else str(s) for s in row.output_shape)
        lines.append((row.name, row.kind, shape, f"{row.params:,}", f"{row.macs:,}", row.detail))
    total_params = sum(r.params for r in rows)
    total_macs = sum(r.macs for r in rows)
    lines.append(("total", "", "", f"{total_params:,}", f"{total_macs:,}", f"= {2 * total_macs / 1e9:.2f} GFLOP"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    aligned = []
    for i, line in enumerate(lines):
        cells = [
            cell.rjust(w) if j in (3, 4) else cell.ljust(w)
            for j, (cell, w) in enumerate(zip(line, widths, strict=True))
        ]
        aligned.append("  ".join(cells).rstrip())
        if i == 0 or i == len(lines) - 2:
            aligned.append("  ".join("-" * w for w in widths))
    return "\n".join(aligned)
