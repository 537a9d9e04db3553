"""Convert an ONNX AlexNet (the model zoo's `bvlcalexnet-12.onnx`) to Keras.

The graph is read by topology, never by tensor names: starting from the one
graph input that is not an initializer, the converter follows the chain of
nodes to the output, maps each node to an abstract operation (Conv -> "conv",
Gemm or MatMul+Add -> "dense", Reshape/Flatten -> "flatten", ...), checks the
sequence against the variant's structure, checks every Conv's kernel, strides,
pads and group, every MaxPool's window and the LRN constants, and takes the
k-th Conv's and the k-th dense node's constant inputs as the k-th layer's
weights (their shapes are checked too).

The file is parsed with protobuf alone (`onnx_proto`, the needed subset of
`onnx.proto`), so a core install (no `convert` extra, no onnx package)
converts the primary original of `weights="imagenet"`. The source may be a
path, the file's bytes, or a `ModelProto` (ours, or onnx's: re-read from its
bytes).

The zoo file declares a 224x224 input, but its conv1 is 11x11 / 4 without
padding and its Reshape expects 6x6x256, so the network only works at 227x227;
the declared spatial size is ignored and the converted model takes 227x227.

Example:

>>> import numpy as np
>>> from keras_alexnet.convert.verify_networks import build_bvlc_like_onnx, bvlc_weight_shapes
>>> from keras_alexnet.convert.onnx_converter import keras_model_from_onnx
>>> rng = np.random.default_rng(0)
>>> weights = {name: rng.normal(0, 0.01, shape).astype("float32") for name, shape in bvlc_weight_shapes().items()}
>>> model, network = keras_model_from_onnx(build_bvlc_like_onnx(weights, input_size=224))
>>> network.variant, network.lrn.k, model.input_shape
('original', 1.0, (None, 227, 227, 3))
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from google.protobuf.message import DecodeError

from keras_alexnet.convert import assemble

# At module level: `keras_alexnet.weights.fetch` tests that this module imports. It needs protobuf only (a core
# dependency), never the onnx package.
from keras_alexnet.convert.onnx_proto import ModelProto, attribute_value, tensor_to_array
from keras_alexnet.models.variants import LRNConfig

#: ONNX op type -> abstract operation.
OPS = {
    "Conv": "conv",
    "Relu": "relu",
    "LRN": "lrn",
    "MaxPool": "pool",
    "Reshape": "flatten",
    "Flatten": "flatten",
    "Gemm": "dense",
    "MatMul": "dense",
    "Add": "bias",
    "Softmax": "softmax",
    "Dropout": "dropout",
    "Identity": "identity",
}


#: The operator-set domains of the standard operators ("" is the default, "ai.onnx" its explicit name).
STANDARD_DOMAINS = ("", "ai.onnx")


def load_onnx(source, description: str | None = None) -> tuple:
    """Parse `source` (path, bytes, or a ModelProto: ours or onnx's) into `(ModelProto, description)`."""
    if isinstance(source, ModelProto):
        model, description = source, description or "the ONNX model"
    else:
        if isinstance(source, bytes | bytearray | memoryview):
            data, description = bytes(source), description or "the ONNX model"
        elif _is_onnx_package_model(source):
            data, description = source.SerializeToString(), description or "the ONNX model"
        else:
            path = Path(os.fspath(source))
            if not path.is_file():
                raise ValueError(f"The ONNX file {path} does not exist. Received: {os.fspath(source)!r}")
            data, description = path.read_bytes(), str(path)
        try:
            model = ModelProto.FromString(data)
        except DecodeError as error:
            raise ValueError(
                f"{description} is not a readable ONNX model ({error}); is the file complete? Received: {description}"
            ) from error
    if not model.HasField("graph") or not model.graph.node:
        raise ValueError(
            f"{description} is not a readable ONNX model: it holds no graph nodes (a damaged download, or another "
            f"kind of file). Received: {description}"
        )
    return model, description


def _is_onnx_package_model(source) -> bool:
    """Whether `source` is a ModelProto of the onnx package (or another class with ONNX's message type)."""
    descriptor = getattr(source, "DESCRIPTOR", None)
    return getattr(descriptor, "full_name", None) == "onnx.ModelProto" and hasattr(source, "SerializeToString")


def keras_model_from_onnx(source):
    """Convert an ONNX AlexNet (path, bytes or ModelProto) to `(keras.Model, NetworkRecord)`."""
    model, description = load_onnx(source)
    return assemble.to_keras(source_weights_from_onnx(model, description))


def source_weights_from_onnx(model, description: str = "the ONNX model") -> assemble.SourceWeights:
    """Read the weights of an ONNX AlexNet graph (anything `load_onnx` takes) in the originals' layout."""
    model, description = load_onnx(model, description)
    graph = model.graph
    if len(graph.sparse_initializer):
        raise ValueError(
            f"{description} stores {len(graph.sparse_initializer)} weight tensors as sparse initializers, which "
            f"keras_alexnet does not read. Received: {len(graph.sparse_initializer)} sparse initializers"
        )
    constants = {t.name: tensor_to_array(t, description) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            constants[node.output[0]] = tensor_to_array(node.attribute[0].t, description)
    chain = _follow_chain(graph, constants, description)
    ops, names = [], []
    for node in chain:
        if node.domain not in STANDARD_DOMAINS:
            raise ValueError(
                f"{description}: node {node.name or node.output[0]!r} is a {node.op_type} of the operator domain "
                f"{node.domain!r}; AlexNet uses standard ONNX operators only. Received: domain={node.domain!r}"
            )
        if node.op_type not in OPS:
            raise ValueError(
                f"{description}: node {node.name or node.output[0]!r} is a {node.op_type}, which AlexNet does "
                f"not have (expected one of {sorted(OPS)}). Received: op_type={node.op_type!r}"
            )
        if node.op_type == "Add" and (not ops or ops[-1] != "dense"):
            raise ValueError(
                f"{description}: an Add node ({node.name!r}) that does not follow a MatMul. Received: op_type='Add'"
            )
        if node.op_type == "Add":
            continue
        ops.append(OPS[node.op_type])
        names.append(node.name or node.output[0])
    convs = [n for n in chain if n.op_type == "Conv"]
    if not convs:
        raise ValueError(f"{description} has no convolution. Received: {description}")
    first_kernel = _constant(constants, convs[0], 1, description)
    variant = assemble.variant_from_first_conv(first_kernel.shape[0], description)
    assemble.check_structure(ops, variant, description, names)

    conv_weights = []
    for index, node in enumerate(convs):
        kernel = _constant(constants, node, 1, description)
        attrs = _attributes(node)
        _check_default(node, attrs, "auto_pad", b"NOTSET", description)
        _check_default(node, attrs, "dilations", [1, 1], description)
        assemble.check_conv(
            index,
            variant,
            description,
            kernel=attrs.get("kernel_shape", kernel.shape[2:]),
            strides=attrs.get("strides", [1, 1]),
            pads=attrs.get("pads", [0, 0, 0, 0]),
            groups=attrs.get("group", 1),
        )
        bias = _constant(constants, node, 2, description) if len(node.input) > 2 else np.zeros(kernel.shape[0])
        conv_weights.append((kernel, bias))
    pools = [n for n in chain if n.op_type == "MaxPool"]
    for index, node in enumerate(pools):
        attrs = _attributes(node)
        _check_default(node, attrs, "auto_pad", b"NOTSET", description)
        _check_default(node, attrs, "dilations", [1, 1], description)
        _check_default(node, attrs, "storage_order", 0, description)
        assemble.check_pool(
            index,
            variant,
            description,
            kernel=attrs.get("kernel_shape", []),
            strides=attrs.get("strides", [1, 1]),
            pads=attrs.get("pads", []),
            ceil_mode=bool(attrs.get("ceil_mode", 0)),
        )
    for node in chain:
        attrs = _attributes(node)
        if node.op_type == "Flatten" and attrs.get("axis", 1) != 1:
            raise ValueError(f"{description}: Flatten with axis={attrs['axis']}, expected 1. Received: {attrs}")
        if node.op_type == "Reshape":
            shape = _constant(constants, node, 1, description).astype(np.int64).tolist()
            if len(shape) != 2 or shape[0] not in (-1, 0, 1):
                raise ValueError(
                    f"{description}: Reshape {node.name!r} to {shape}; AlexNet flattens pool5 to (batch, features). "
                    f"Received: shape={shape}"
                )
    lrns = {(a.get("size"), a.get("alpha", 1e-4), a.get("beta", 0.75), a.get("bias", 1.0)) for a in _of(chain, "LRN")}
    if len(lrns) > 1:
        raise ValueError(f"{description}: the two LRN nodes have different constants {sorted(lrns)}. Received: {lrns}")
    lrn = None
    if lrns:
        size, alpha, beta, bias = lrns.pop()
        lrn = LRNConfig(size=int(size), k=_float(bias), alpha=_float(alpha), beta=_float(beta), average=True)
    denses = [_dense_weights(node, chain, constants, description) for node in chain if OPS.get(node.op_type) == "dense"]
    return assemble.SourceWeights(variant=variant, convs=conv_weights, denses=denses, lrn=lrn, source=description)


def _follow_chain(graph, constants: dict, description: str) -> list:
    """The nodes from the graph input to the graph output, in order; fails on branches."""
    inputs = [v.name for v in graph.input if v.name not in constants]
    if len(inputs) != 1:
        raise ValueError(f"{description} must have exactly one image input; it has {inputs}. Received: inputs={inputs}")
    _check_input(graph.input, inputs[0], description)
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            if name and name not in constants:
                consumers.setdefault(name, []).append(node)
    outputs = {v.name for v in graph.output}
    chain, tensor = [], inputs[0]
    while tensor not in outputs or consumers.get(tensor):
        nodes = consumers.get(tensor, [])
        if len(nodes) != 1:
            raise ValueError(
                f"{description}: tensor {tensor!r} feeds {len(nodes)} nodes; AlexNet is a single chain of "
                f"operations. Received: consumers {[n.op_type for n in nodes]}"
            )
        node = nodes[0]
        if len(chain) > 10_000:
            raise ValueError(f"{description}: the graph has a cycle. Received: {description}")
        chain.append(node)
        tensor = node.output[0]
    return chain


def _check_input(values, name: str, description: str) -> None:
    value = next(v for v in values if v.name == name)
    dims = value.type.tensor_type.shape.dim
    if len(dims) == 4 and dims[1].HasField("dim_value") and dims[1].dim_value != 3:
        raise ValueError(
            f"{description}: input {name!r} has {dims[1].dim_value} channels; AlexNet takes 3 (NCHW). "
            f"Received: {dims[1].dim_value} channels"
        )


def _dense_weights(node, chain: list, constants: dict, description: str) -> tuple:
    """(weight (out, in), bias) of a Gemm, or of a MatMul followed by an Add."""
    attrs = _attributes(node)
    if node.op_type == "Gemm":
        if attrs.get("transA", 0):
            raise ValueError(f"{description}: Gemm {node.name!r} has transA=1. Received: {attrs}")
        weight = _constant(constants, node, 1, description)
        weight = weight if attrs.get("transB", 0) else weight.T
        bias = _constant(constants, node, 2, description) if len(node.input) > 2 else np.zeros(weight.shape[0])
        return weight * attrs.get("alpha", 1.0), np.broadcast_to(bias * attrs.get("beta", 1.0), weight.shape[:1])
    weight = _constant(constants, node, 1, description).T
    following = chain[chain.index(node) + 1] if chain.index(node) + 1 < len(chain) else None
    if following is None or following.op_type != "Add":
        return weight, np.zeros(weight.shape[0], weight.dtype)
    index = 1 if following.input[0] == node.output[0] else 0
    return weight, _constant(constants, following, index, description)


def _constant(constants: dict, node, index: int, description: str) -> np.ndarray:
    name = node.input[index] if index < len(node.input) else ""
    if name not in constants:
        raise ValueError(
            f"{description}: input {index} of {node.op_type} node {node.name!r} is not a constant weight "
            f"tensor. Received: {name!r}"
        )
    return np.asarray(constants[name], dtype=np.float32)


def _attributes(node) -> dict:
    return {a.name: attribute_value(a) for a in node.attribute}


def _check_default(node, attrs: dict, name: str, default, description: str) -> None:
    if name in attrs and attrs[name] != default and not (name == "auto_pad" and attrs[name] == b"VALID"):
        raise ValueError(
            f"{description}: {node.op_type} node {node.name!r} has {name}={attrs[name]!r}, AlexNet uses "
            f"{default!r}. Received: {name}={attrs[name]!r}"
        )


def _of(chain: list, op_type: str) -> list[dict]:
    return [_attributes(n) for n in chain if n.op_type == op_type]


def _float(value: float) -> float:
    """A float32 attribute as the decimal it was written as (1e-4, not 9.99999974e-05)."""
    return float(str(np.float32(value)))
