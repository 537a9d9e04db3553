"""The subset of Caffe's `caffe.proto` needed to read a `.caffemodel`, built at run time.

Field numbers and defaults are those of BVLC Caffe's `src/caffe/proto/caffe.proto`
(proto2): `NetParameter` with both `layer` (100, `LayerParameter`, Caffe >= 2015)
and the legacy `layers` (2, `V1LayerParameter`, what `bvlc_alexnet.caffemodel`
uses), `BlobProto` with `shape` and the legacy `num/channels/height/width`, and
the convolution, pooling, LRN and inner-product parameters. Every other field
of a real file is skipped by the parser as an unknown field. Enum fields are
read as integers (see `V1_LAYER_TYPES`).

Example:

>>> from keras_alexnet.convert.caffe_proto import NetParameter
>>> net = NetParameter()
>>> net.ParseFromString(NetParameter(name="AlexNet").SerializeToString())
9
>>> net.name
'AlexNet'
"""

from __future__ import annotations

from keras_alexnet.convert.proto_schema import Field, message_classes

_PACKAGE = "keras_alexnet_caffe"

# message -> [(field name, number, type or message name, "optional"/"repeated"/"packed", default)]
_MESSAGES: dict[str, list[Field]] = {
    "BlobShape": [("dim", 1, "int64", "packed", None)],
    "BlobProto": [
        ("shape", 7, "BlobShape", "optional", None),
        ("data", 5, "float", "packed", None),
        ("double_data", 8, "double", "packed", None),
        ("num", 1, "int64", "optional", "0"),
        ("channels", 2, "int64", "optional", "0"),
        ("height", 3, "int64", "optional", "0"),
        ("width", 4, "int64", "optional", "0"),
    ],
    "ConvolutionParameter": [
        ("num_output", 1, "uint32", "optional", None),
        ("bias_term", 2, "bool", "optional", "true"),
        ("pad", 3, "uint32", "repeated", None),
        ("kernel_size", 4, "uint32", "repeated", None),
        ("group", 5, "uint32", "optional", "1"),
        ("stride", 6, "uint32", "repeated", None),
        ("pad_h", 9, "uint32", "optional", "0"),
        ("pad_w", 10, "uint32", "optional", "0"),
        ("kernel_h", 11, "uint32", "optional", None),
        ("kernel_w", 12, "uint32", "optional", None),
        ("stride_h", 13, "uint32", "optional", None),
        ("stride_w", 14, "uint32", "optional", None),
        ("dilation", 18, "uint32", "repeated", None),
    ],
    "PoolingParameter": [
        ("pool", 1, "int32", "optional", "0"),  # enum PoolMethod: MAX = 0, AVE = 1, STOCHASTIC = 2
        ("kernel_size", 2, "uint32", "optional", None),
        ("stride", 3, "uint32", "optional", "1"),
        ("pad", 4, "uint32", "optional", "0"),
        ("kernel_h", 5, "uint32", "optional", None),
        ("kernel_w", 6, "uint32", "optional", None),
        ("stride_h", 7, "uint32", "optional", None),
        ("stride_w", 8, "uint32", "optional", None),
        ("pad_h", 9, "uint32", "optional", "0"),
        ("pad_w", 10, "uint32", "optional", "0"),
        ("global_pooling", 12, "bool", "optional", "false"),
    ],
    "LRNParameter": [
        ("local_size", 1, "uint32", "optional", "5"),
        ("alpha", 2, "float", "optional", "1"),
        ("beta", 3, "float", "optional", "0.75"),
        ("norm_region", 4, "int32", "optional", "0"),  # enum NormRegion: ACROSS_CHANNELS = 0
        ("k", 5, "float", "optional", "1"),
    ],
    "InnerProductParameter": [
        ("num_output", 1, "uint32", "optional", None),
        ("bias_term", 2, "bool", "optional", "true"),
        ("axis", 5, "int32", "optional", "1"),
        ("transpose", 6, "bool", "optional", "false"),
    ],
    "LayerParameter": [
        ("name", 1, "string", "optional", None),
        ("type", 2, "string", "optional", None),
        ("bottom", 3, "string", "repeated", None),
        ("top", 4, "string", "repeated", None),
        ("blobs", 7, "BlobProto", "repeated", None),
        ("convolution_param", 106, "ConvolutionParameter", "optional", None),
        ("inner_product_param", 117, "InnerProductParameter", "optional", None),
        ("lrn_param", 118, "LRNParameter", "optional", None),
        ("pooling_param", 121, "PoolingParameter", "optional", None),
    ],
    "V1LayerParameter": [
        ("bottom", 2, "string", "repeated", None),
        ("top", 3, "string", "repeated", None),
        ("name", 4, "string", "optional", None),
        ("type", 5, "int32", "optional", "0"),  # enum LayerType, see V1_LAYER_TYPES
        ("blobs", 6, "BlobProto", "repeated", None),
        ("convolution_param", 10, "ConvolutionParameter", "optional", None),
        ("inner_product_param", 17, "InnerProductParameter", "optional", None),
        ("lrn_param", 18, "LRNParameter", "optional", None),
        ("pooling_param", 19, "PoolingParameter", "optional", None),
        ("layer", 1, "V0LayerParameter", "optional", None),  # only detected, to name the V0 format
    ],
    "V0LayerParameter": [("name", 1, "string", "optional", None)],
    "NetParameter": [
        ("name", 1, "string", "optional", None),
        ("layers", 2, "V1LayerParameter", "repeated", None),
        ("layer", 100, "LayerParameter", "repeated", None),
    ],
}

#: V1LayerParameter.LayerType values -> the (V2) layer type strings.
V1_LAYER_TYPES = {
    1: "Accuracy",
    3: "Concat",
    4: "Convolution",
    5: "Data",
    6: "Dropout",
    8: "Flatten",
    12: "ImageData",
    14: "InnerProduct",
    15: "LRN",
    17: "Pooling",
    18: "ReLU",
    20: "Softmax",
    21: "SoftmaxWithLoss",
    22: "Split",
    24: "WindowData",
    29: "MemoryData",
    32: "DummyData",
    36: "Silence",
}


_CLASSES = message_classes(_PACKAGE, _MESSAGES)
NetParameter = _CLASSES["NetParameter"]
BlobProto = _CLASSES["BlobProto"]
LayerParameter = _CLASSES["LayerParameter"]
V1LayerParameter = _CLASSES["V1LayerParameter"]
