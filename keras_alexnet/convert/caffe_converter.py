"""Convert a Caffe AlexNet (`bvlc_alexnet.caffemodel`) to Keras.

The binary `NetParameter` is parsed with protobuf (`caffe_proto`, the needed
subset of `caffe.proto`). Both layouts are read: the current `layer` field
(`LayerParameter`, type strings) and the legacy `layers` field
(`V1LayerParameter`, enum types), which the BVLC file uses. Layers run in the
order they are listed; data, loss and accuracy layers are skipped, the rest
must form AlexNet's structure, and every convolution's kernel, stride, padding
and group, every pooling window and the LRN constants are checked. Blobs may
give their shape as `shape` or as the legacy 4D `num/channels/height/width`
(BVLC: fc weights `(1, 1, out, in)`, biases `(1, 1, 1, out)`).

Example:

>>> from keras_alexnet.convert.caffe_converter import CAFFE_OPS
>>> CAFFE_OPS["InnerProduct"]
'dense'
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from google.protobuf.message import DecodeError

from keras_alexnet.convert import assemble
from keras_alexnet.convert.caffe_proto import V1_LAYER_TYPES, NetParameter  # needs protobuf
from keras_alexnet.models.variants import LRNConfig

CAFFE_OPS = {
    "Convolution": "conv",
    "ReLU": "relu",
    "LRN": "lrn",
    "Pooling": "pool",
    "Flatten": "flatten",
    "InnerProduct": "dense",
    "Dropout": "dropout",
    "Softmax": "softmax",
}
#: Layers with no part in inference (inputs, losses, metrics, blob plumbing).
SKIPPED = frozenset(
    {
        "Data",
        "ImageData",
        "WindowData",
        "MemoryData",
        "DummyData",
        "Input",
        "Accuracy",
        "SoftmaxWithLoss",
        "Silence",
        "Split",
    }
)


def load_caffemodel(source) -> tuple:
    """Parse a `.caffemodel` (path, bytes or NetParameter); returns `(NetParameter, description)`."""
    if isinstance(source, NetParameter):
        return source, "the Caffe model"
    net = NetParameter()
    if isinstance(source, bytes | bytearray):
        data, description = bytes(source), "the Caffe model"
    else:
        path = Path(os.fspath(source))
        if not path.is_file():
            raise ValueError(f"The Caffe model {path} does not exist. Received: {os.fspath(source)!r}")
        data, description = path.read_bytes(), str(path)
    try:
        net.ParseFromString(data)
    except DecodeError as error:
        raise ValueError(f"{description} is not a Caffe NetParameter ({error}). Received: {description}") from error
    if not net.layer and not net.layers:
        raise ValueError(f"{description} holds no layers; is it a .caffemodel? Received: {description}")
    return net, description


def keras_model_from_caffe(source):
    """Convert a Caffe AlexNet (path, bytes or NetParameter) to `(keras.Model, NetworkRecord)`."""
    net, description = load_caffemodel(source)
    return assemble.to_keras(source_weights_from_caffe(net, description))


def source_weights_from_caffe(net, description: str) -> assemble.SourceWeights:
    """Read the weights of a Caffe AlexNet in the originals' layout, checking its structure."""
    if net.layer:
        layers = [(layer.type, layer) for layer in net.layer]
    else:
        layers = [(V1_LAYER_TYPES.get(layer.type, f"V1 type {layer.type}"), layer) for layer in net.layers]
    if not net.layer and any(layer.type == 0 and layer.HasField("layer") for layer in net.layers):
        raise ValueError(
            f"{description} uses Caffe's oldest (V0) layer format; upgrade it with Caffe's "
            f"`upgrade_net_proto_binary` first. Received: {description}"
        )
    layers = [(kind, layer) for kind, layer in layers if kind not in SKIPPED]
    for kind, layer in layers:
        if kind not in CAFFE_OPS:
            raise ValueError(
                f"{description}: layer {layer.name!r} is a {kind} layer, which AlexNet does not have "
                f"(expected {sorted(CAFFE_OPS)}). Received: type {kind!r}"
            )
    ops = [CAFFE_OPS[kind] for kind, _ in layers]
    if "dense" in ops and "flatten" not in ops:
        ops.insert(ops.index("dense"), "flatten")  # Caffe's InnerProduct flattens its input itself
    names = [layer.name for _, layer in layers]
    convs = [layer for kind, layer in layers if kind == "Convolution"]
    if not convs or not convs[0].blobs:
        raise ValueError(f"{description} has no convolution with weights. Received: {description}")
    variant = assemble.variant_from_first_conv(_blob(convs[0].blobs[0]).shape[0], description)
    assemble.check_structure(ops, variant, description, names)

    conv_weights = []
    for index, layer in enumerate(convs):
        p = layer.convolution_param
        assemble.check_conv(
            index,
            variant,
            description,
            kernel=_pair(p.kernel_size, p, "kernel_h", "kernel_w"),
            strides=_pair(p.stride, p, "stride_h", "stride_w", default=1),
            pads=2 * _pair(p.pad, p, "pad_h", "pad_w", default=0),
            groups=p.group,
        )
        if any(d != 1 for d in p.dilation):
            raise ValueError(f"{description}: {layer.name!r} is dilated. Received: dilation={list(p.dilation)}")
        conv_weights.append(_weights(layer, p.bias_term, description, dense=False))
    for index, layer in enumerate(layer for kind, layer in layers if kind == "Pooling"):
        p = layer.pooling_param
        if p.pool != 0 or p.global_pooling:
            raise ValueError(f"{description}: {layer.name!r} is not a max pooling. Received: pool={p.pool}")
        pad = _pair([p.pad] if p.HasField("pad") else [], p, "pad_h", "pad_w", default=0)
        assemble.check_pool(
            index,
            variant,
            description,
            kernel=_pair([p.kernel_size] if p.HasField("kernel_size") else [], p, "kernel_h", "kernel_w"),
            strides=_pair([p.stride] if p.HasField("stride") else [], p, "stride_h", "stride_w", default=1),
            pads=(*pad, *pad),
            ceil_mode=True,  # Caffe rounds pooled sizes up
        )
    lrns = {_lrn(layer.lrn_param, description) for kind, layer in layers if kind == "LRN"}
    if len(lrns) > 1:
        raise ValueError(f"{description}: the LRN layers differ: {sorted(map(str, lrns))}. Received: {lrns}")
    denses = []
    for kind, layer in layers:
        if kind == "InnerProduct":
            p = layer.inner_product_param
            weight, bias = _weights(layer, p.bias_term, description, dense=True)
            denses.append((weight.T if p.transpose else weight, bias))
    lrn = lrns.pop() if lrns else None
    return assemble.SourceWeights(variant=variant, convs=conv_weights, denses=denses, lrn=lrn, source=description)


def _blob(blob) -> np.ndarray:
    """A BlobProto as an array of its declared shape (`shape`, else the legacy 4D dims)."""
    data = np.asarray(blob.data if len(blob.data) else blob.double_data, dtype=np.float32)
    if blob.HasField("shape"):
        shape = tuple(int(d) for d in blob.shape.dim)
    else:
        shape = tuple(int(d) for d in (blob.num, blob.channels, blob.height, blob.width))
    if int(np.prod(shape)) != data.size:
        raise ValueError(f"A blob declares shape {shape} but holds {data.size} values. Received: shape {shape}")
    return data.reshape(shape)


def _weights(layer, bias_term: bool, description: str, dense: bool) -> tuple[np.ndarray, np.ndarray]:
    expected = 2 if bias_term else 1
    if len(layer.blobs) != expected:
        raise ValueError(
            f"{description}: layer {layer.name!r} has {len(layer.blobs)} blobs, expected {expected}. "
            f"Received: {len(layer.blobs)} blobs"
        )
    weight = _blob(layer.blobs[0])
    if dense:  # legacy (1, 1, out, in) -> (out, in)
        weight = weight.reshape(weight.shape[-2:]) if weight.ndim > 2 else weight
    bias = _blob(layer.blobs[1]).reshape(-1) if bias_term else np.zeros(weight.shape[0], np.float32)
    return weight, bias


def _pair(values, param, h_name: str, w_name: str, default: int | None = None) -> tuple[int, int]:
    """(h, w) from a repeated/optional Caffe field, its `_h`/`_w` variants, or a default."""
    values = list(values)
    if param.HasField(h_name) or param.HasField(w_name):
        return int(getattr(param, h_name)), int(getattr(param, w_name))
    if len(values) == 1:
        return int(values[0]), int(values[0])
    if len(values) == 2:
        return int(values[0]), int(values[1])
    if not values and default is not None:
        return default, default
    raise ValueError(f"Cannot read a 2D size from {values}. Received: {values}")


def _lrn(param, description: str) -> LRNConfig:
    if param.norm_region != 0:
        raise ValueError(f"{description}: LRN within channels is not AlexNet's. Received: norm_region=1")
    return LRNConfig(
        size=int(param.local_size),
        k=float(str(np.float32(param.k))),
        alpha=float(str(np.float32(param.alpha))),
        beta=float(str(np.float32(param.beta))),
        average=True,
    )
