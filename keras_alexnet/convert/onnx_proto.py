"""The subset of ONNX's `onnx.proto` needed to read an AlexNet `.onnx` file, without the onnx package.

Field numbers are those of `onnx/onnx.proto` (proto2; ONNX never renumbers a
field): `ModelProto` (graph, opset imports), `GraphProto` (nodes, initializers,
inputs, outputs), `NodeProto`, `AttributeProto`, `ValueInfoProto` with the
tensor type and shape, and `TensorProto` with every place a tensor's values
can be stored inline: `raw_data` (little-endian bytes; what `onnx.numpy_helper`
writes, and so the stand-ins of `verify_networks.build_bvlc_like_onnx`), or the typed fields
`float_data`, `double_data`, `int32_data` (also float16 bits) and `int64_data`.
A tensor kept in an external file (`data_location` EXTERNAL) is refused: the
reader opens no path named inside a downloaded file. Every other field of a
real file is skipped as an unknown field.

`tensor_to_array` and `attribute_value` play the part of onnx's
`numpy_helper.to_array` and `helper.get_attribute_value`.

Example:

>>> import numpy as np
>>> from keras_alexnet.convert.onnx_proto import TensorProto, tensor_to_array
>>> tensor = TensorProto(name="w", dims=[2, 2], data_type=1, raw_data=np.arange(4, dtype="<f4").tobytes())
>>> tensor_to_array(TensorProto.FromString(tensor.SerializeToString()))
array([[0., 1.],
       [2., 3.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from keras_alexnet.convert.proto_schema import message_classes

_PACKAGE = "keras_alexnet_onnx"

# message -> [(field name, number, type or message name, "optional"/"repeated"/"packed", default)]
_MESSAGES: dict[str, list[tuple]] = {
    "StringStringEntryProto": [("key", 1, "string", "optional", None), ("value", 2, "string", "optional", None)],
    "TensorSegment": [("begin", 1, "int64", "optional", None), ("end", 2, "int64", "optional", None)],
    "TensorProto": [
        ("dims", 1, "int64", "repeated", None),
        ("data_type", 2, "int32", "optional", None),  # enum DataType, see DATA_TYPES
        ("segment", 3, "TensorSegment", "optional", None),
        ("float_data", 4, "float", "packed", None),
        ("int32_data", 5, "int32", "packed", None),
        ("int64_data", 7, "int64", "packed", None),
        ("name", 8, "string", "optional", None),
        ("raw_data", 9, "bytes", "optional", None),
        ("double_data", 10, "double", "packed", None),
        ("uint64_data", 11, "uint64", "packed", None),
        ("external_data", 13, "StringStringEntryProto", "repeated", None),
        ("data_location", 14, "int32", "optional", None),  # enum DataLocation: DEFAULT = 0, EXTERNAL = 1
    ],
    "SparseTensorProto": [("dims", 3, "int64", "repeated", None)],  # only detected, to refuse it by name
    "AttributeProto": [
        ("name", 1, "string", "optional", None),
        ("f", 2, "float", "optional", None),
        ("i", 3, "int64", "optional", None),
        ("s", 4, "bytes", "optional", None),
        ("t", 5, "TensorProto", "optional", None),
        ("floats", 7, "float", "repeated", None),
        ("ints", 8, "int64", "repeated", None),
        ("strings", 9, "bytes", "repeated", None),
        ("type", 20, "int32", "optional", None),  # enum AttributeType, see ATTRIBUTE_TYPES
        ("ref_attr_name", 21, "string", "optional", None),
    ],
    "NodeProto": [
        ("input", 1, "string", "repeated", None),
        ("output", 2, "string", "repeated", None),
        ("name", 3, "string", "optional", None),
        ("op_type", 4, "string", "optional", None),
        ("attribute", 5, "AttributeProto", "repeated", None),
        ("domain", 7, "string", "optional", None),
    ],
    "TensorShapeDimension": [  # TensorShapeProto.Dimension (a oneof of the two)
        ("dim_value", 1, "int64", "optional", None),
        ("dim_param", 2, "string", "optional", None),
    ],
    "TensorShapeProto": [("dim", 1, "TensorShapeDimension", "repeated", None)],
    "TypeProtoTensor": [  # TypeProto.Tensor
        ("elem_type", 1, "int32", "optional", None),
        ("shape", 2, "TensorShapeProto", "optional", None),
    ],
    "TypeProto": [("tensor_type", 1, "TypeProtoTensor", "optional", None)],
    "ValueInfoProto": [("name", 1, "string", "optional", None), ("type", 2, "TypeProto", "optional", None)],
    "GraphProto": [
        ("node", 1, "NodeProto", "repeated", None),
        ("name", 2, "string", "optional", None),
        ("initializer", 5, "TensorProto", "repeated", None),
        ("input", 11, "ValueInfoProto", "repeated", None),
        ("output", 12, "ValueInfoProto", "repeated", None),
        ("sparse_initializer", 15, "SparseTensorProto", "repeated", None),
    ],
    "OperatorSetIdProto": [("domain", 1, "string", "optional", None), ("version", 2, "int64", "optional", None)],
    "ModelProto": [
        ("ir_version", 1, "int64", "optional", None),
        ("producer_name", 2, "string", "optional", None),
        ("graph", 7, "GraphProto", "optional", None),
        ("opset_import", 8, "OperatorSetIdProto", "repeated", None),
    ],
}

#: TensorProto.DataType values read here -> (name, NumPy dtype, the typed field that holds them when not raw).
DATA_TYPES = {
    1: ("FLOAT", np.dtype("float32"), "float_data"),
    6: ("INT32", np.dtype("int32"), "int32_data"),
    7: ("INT64", np.dtype("int64"), "int64_data"),
    10: ("FLOAT16", np.dtype("float16"), "int32_data"),  # typed storage: the 16-bit patterns, one per int32
    11: ("DOUBLE", np.dtype("float64"), "double_data"),
}
#: AttributeProto.AttributeType values read here -> the field that holds the value.
ATTRIBUTE_TYPES = {1: "f", 2: "i", 3: "s", 4: "t", 6: "floats", 7: "ints", 8: "strings"}
EXTERNAL = 1

_CLASSES = message_classes(_PACKAGE, _MESSAGES)
ModelProto = _CLASSES["ModelProto"]
GraphProto = _CLASSES["GraphProto"]
NodeProto = _CLASSES["NodeProto"]
TensorProto = _CLASSES["TensorProto"]
AttributeProto = _CLASSES["AttributeProto"]


def tensor_to_array(tensor, description: str = "the ONNX model") -> np.ndarray:
    """The values of an inline `TensorProto` as a NumPy array of its shape (a read-only view of `raw_data`)."""
    name = tensor.name or "(unnamed)"
    if tensor.data_location == EXTERNAL or len(tensor.external_data):
        location = next((entry.value for entry in tensor.external_data if entry.key == "location"), "?")
        raise ValueError(
            f"{description}: tensor {name!r} keeps its values in an external file ({location!r}); keras_alexnet reads "
            "single-file ONNX models only (the published originals are one file) and opens no path named in a model. "
            "Save it as one file, e.g. `onnx.save_model(onnx.load(path), 'one.onnx', save_as_external_data=False)`. "
            f"Received: location={location!r}"
        )
    if tensor.HasField("segment"):
        raise ValueError(
            f"{description}: tensor {name!r} is one segment of a larger tensor, which keras_alexnet does not read. "
            f"Received: segment=({tensor.segment.begin}, {tensor.segment.end})"
        )
    if tensor.data_type not in DATA_TYPES:
        raise ValueError(
            f"{description}: tensor {name!r} has ONNX data type {tensor.data_type}; keras_alexnet reads "
            f"{', '.join(n for n, _, _ in DATA_TYPES.values())} weights. Received: data_type={tensor.data_type}"
        )
    type_name, dtype, typed_field = DATA_TYPES[tensor.data_type]
    shape = tuple(int(d) for d in tensor.dims)
    count = int(np.prod(shape, dtype=np.int64))
    if tensor.HasField("raw_data"):
        raw = tensor.raw_data  # read once: each access of a bytes field builds a new bytes object
        stored, complete = f"{len(raw)} bytes of raw_data", len(raw) == count * dtype.itemsize
        values = np.frombuffer(raw, dtype=dtype.newbyteorder("<")) if complete else None
    else:
        typed = getattr(tensor, typed_field)
        stored, complete = f"{len(typed)} values in {typed_field}", len(typed) == count
        if type_name == "FLOAT16":
            values = np.asarray(typed, dtype=np.int32).astype(np.uint16).view(np.float16)
        else:
            values = np.asarray(typed, dtype=dtype)
    if not complete:
        raise ValueError(
            f"{description}: tensor {name!r} has shape {shape} ({count} {type_name} values) but holds {stored}; "
            f"the file is damaged or truncated. Received: {stored}"
        )
    return values.astype(dtype, copy=False).reshape(shape)


def attribute_value(attribute, description: str = "the ONNX model"):
    """The value of an `AttributeProto`: float, int, bytes, TensorProto, or a list of floats / ints / bytes."""
    if attribute.ref_attr_name:
        raise ValueError(
            f"{description}: attribute {attribute.name!r} refers to a function attribute "
            f"({attribute.ref_attr_name!r}), which an AlexNet graph does not have. Received: {attribute.name!r}"
        )
    kind = attribute.type or _implicit_type(attribute)
    if kind not in ATTRIBUTE_TYPES:
        raise ValueError(
            f"{description}: attribute {attribute.name!r} is of ONNX attribute type {kind}, which keras_alexnet does "
            f"not read (it reads {sorted(ATTRIBUTE_TYPES)}). Received: type={kind}"
        )
    value = getattr(attribute, ATTRIBUTE_TYPES[kind])
    return list(value) if kind in (6, 7, 8) else value


def _implicit_type(attribute) -> int:
    """The attribute type of a file written before `AttributeProto.type` existed: the field that is set."""
    for kind, field in ATTRIBUTE_TYPES.items():
        if (kind in (6, 7, 8) and len(getattr(attribute, field))) or (kind < 6 and attribute.HasField(field)):
            return kind
    return 0
