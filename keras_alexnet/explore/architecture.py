"""The architecture panel's data: every layer's shape, parameters and MACs, its shape arithmetic, its tower.

The numbers are `keras_alexnet.models.summary.layer_table`'s (what `keras-alexnet info` prints). Each
convolution and pooling layer also gets its output size written out, `(227 - 11) / 4 + 1 = 55`, with an
explicit `ZeroPadding2D` before it (torchvision's conv1) folded in as `+ 2·2`, and `floor(...)` where the
division is not exact. `tower` says how the layer sits in the paper's two-GPU layout: "split" (one half
per tower: conv1 and everything up to conv2's pooling, conv4, conv5, pool5), "joined" (reads both towers:
conv3, fc6 and the layers after it), or "single" (a one-tower network such as torchvision's).

Example:

>>> from keras_alexnet.explore.architecture import output_arithmetic
>>> output_arithmetic(227, kernel=11, stride=4, pad=0, size_out=55)
'(227 - 11) / 4 + 1 = 55'
>>> output_arithmetic(224, kernel=11, stride=4, pad=2, size_out=55)
'floor((224 + 2·2 - 11) / 4) + 1 = 55'
"""

from __future__ import annotations

import functools

import keras

from keras_alexnet.models.summary import layer_table


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def output_arithmetic(size_in: int, *, kernel: int, stride: int, pad: int, size_out: int) -> str:
    """`(in + 2·p - k) / s + 1 = out`, with floor() when the division is not exact."""
    padded = f"{size_in} + 2·{pad} - {kernel}" if pad else f"{size_in} - {kernel}"
    exact = (size_in + 2 * pad - kernel) % stride == 0
    division = f"({padded}) / {stride}" if exact else f"floor(({padded}) / {stride})"
    return f"{division} + 1 = {size_out}"


def shape_arithmetic(layer: keras.layers.Layer, padding_before: int = 0) -> str:
    """The output side of a Conv2D or MaxPooling2D layer written out as arithmetic; "" for other layers."""
    if not isinstance(layer, keras.layers.Conv2D | keras.layers.MaxPooling2D):
        return ""
    kernel = _pair(layer.kernel_size if isinstance(layer, keras.layers.Conv2D) else layer.pool_size)[0]
    stride = _pair(layer.strides)[0]
    size_in = int(layer.input.shape[1]) - 2 * padding_before  # the side before the ZeroPadding2D layer
    size_out = int(layer.output.shape[1])
    pad = padding_before
    if layer.padding == "same":
        pad = pad + max((size_out - 1) * stride + kernel - size_in - 2 * pad, 0) // 2
    return output_arithmetic(size_in, kernel=kernel, stride=stride, pad=pad, size_out=size_out)


def _towers(model: keras.Model) -> int:
    try:
        return int(getattr(model.get_layer("conv2"), "groups", 1))
    except ValueError:
        return 1


def tower_layout(model: keras.Model) -> dict[str, str]:
    """For each layer name: "split", "joined" or "single" (see the module docstring)."""
    if _towers(model) < 2:
        return {layer.name: "single" for layer in model.layers}
    layout, state = {}, "split"
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            # conv1's kernels are split between the towers (each half reads the whole image); a later
            # convolution is split when it is grouped, and reads across both towers when it is not (conv3).
            state = "split" if layer.name == "conv1" or getattr(layer, "groups", 1) > 1 else "joined"
        elif isinstance(layer, keras.layers.Flatten | keras.layers.Dense):
            state = "joined"
        layout[layer.name] = state
    return layout


def architecture(model: keras.Model) -> dict:
    """JSON-ready description of `model`: per-layer rows (padding layers folded into the next), totals."""
    table = {row.name: row for row in layer_table(model)}
    layout = tower_layout(model)
    towers = _towers(model)
    rows, pending_pad = [], 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.ZeroPadding2D):
            pending_pad = int(_pair(layer.padding[0])[0])
            continue
        row = table[layer.name]
        shape = [int(s) for s in row.output_shape]
        rows.append(
            {
                "name": row.name,
                "type": row.kind,
                "output_shape": shape,
                "params": row.params,
                "macs": row.macs,
                "detail": row.detail + (f", pad {pending_pad}" if pending_pad else ""),
                "arithmetic": shape_arithmetic(layer, pending_pad),
                "tower": layout[layer.name],
                "tower_shape": shape[:-1] + [shape[-1] // towers] if layout[layer.name] == "split" else shape,
            }
        )
        pending_pad = 0
    input_shape = [int(s) for s in model.input.shape[1:]]
    return {
        "name": model.name,
        "input_shape": input_shape,
        "towers": towers,
        "layers": rows,
        "total_params": sum(row.params for row in table.values()),
        "total_macs": sum(row.macs for row in table.values()),
    }


@functools.cache
def variant_architecture(variant: str, classes: int = 1000) -> dict:
    """`architecture` of a freshly built (random, never trained) `variant` with `classes` outputs."""
    from keras_alexnet.applications import AlexNet

    return architecture(AlexNet(variant=variant, classes=classes))
