"""Protobuf message classes for a subset of a `.proto` schema, built at run time with protobuf alone.

The originals' binary formats are protobuf messages (ONNX's `onnx.proto`, Caffe's
`caffe.proto`). A reader needs only the messages and fields it uses, with their
field numbers (which those formats never change); every other field of a real
file is skipped by the parser as an unknown field. `message_classes` turns a
table of fields into message classes through protobuf's descriptor API, so no
`protoc` output and no package of the format (onnx, caffe) is needed.
Enum fields are declared as integers (same wire encoding).

Example:

>>> from keras_alexnet.convert.proto_schema import message_classes
>>> classes = message_classes("example", {"Pair": [("key", 1, "string", "optional", None),
...                                                ("values", 2, "int64", "packed", None)]})
>>> pair = classes["Pair"].FromString(classes["Pair"](key="a", values=[1, 2]).SerializeToString())
>>> pair.key, list(pair.values)
('a', [1, 2])
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
SCALAR_TYPES = {
    "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES,
    "float": _F.TYPE_FLOAT,
    "double": _F.TYPE_DOUBLE,
    "int64": _F.TYPE_INT64,
    "uint64": _F.TYPE_UINT64,
    "int32": _F.TYPE_INT32,
    "uint32": _F.TYPE_UINT32,
    "bool": _F.TYPE_BOOL,
}
#: A field: (name, number, scalar type or message name, "optional" / "repeated" / "packed", default or None).
Field = tuple[str, int, str, str, "str | None"]


def file_descriptor(package: str, messages: dict[str, list[Field]]) -> descriptor_pb2.FileDescriptorProto:
    """A proto2 file descriptor with `messages` (each a list of `Field`) in `package`."""
    proto = descriptor_pb2.FileDescriptorProto(name=f"keras_alexnet/{package}.proto", package=package, syntax="proto2")
    for message_name, fields in messages.items():
        message = proto.message_type.add(name=message_name)
        for name, number, kind, label, default in fields:
            field = message.field.add(name=name, number=number)
            field.label = _F.LABEL_OPTIONAL if label == "optional" else _F.LABEL_REPEATED
            if kind in SCALAR_TYPES:
                field.type = SCALAR_TYPES[kind]
            else:
                field.type = _F.TYPE_MESSAGE
                field.type_name = f".{package}.{kind}"
            if label == "packed":
                field.options.packed = True
            if default is not None:
                field.default_value = default
    return proto


def message_classes(package: str, messages: dict[str, list[Field]]) -> dict[str, type]:
    """The message classes of `messages`, by name, in a descriptor pool of their own."""
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_descriptor(package, messages))
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{name}")) for name in messages}
