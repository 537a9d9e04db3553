"""A BVLC-layout .caffemodel stand-in -> convert_file -> Keras, against ONNX Runtime on real images.

The stand-in is written with a hand-rolled protobuf encoder below (field numbers
from BVLC's caffe.proto), not with keras_alexnet's own schema, so that the
parser is checked against an independent writer. Like `bvlc_alexnet.caffemodel`
it uses the legacy V1 `layers` field with enum layer types, legacy 4D blob
dimensions (fc weights `(1, 1, out, in)`), data/loss/accuracy layers, in-place
ReLUs, `blobs_lr`/`weight_decay` and a `data_param` the converter must skip.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from conftest import max_abs_err, small_bvlc_weights

ort = pytest.importorskip("onnxruntime")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _uint(field: int, n: int) -> bytes:
    return _varint(field << 3) + _varint(n)


def _float(field: int, x: float) -> bytes:
    return _varint(field << 3 | 5) + struct.pack("<f", x)


def _bytes(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _string(field: int, text: str) -> bytes:
    return _bytes(field, text.encode())


def _blob(array: np.ndarray, v1: bool) -> bytes:
    data = _bytes(5, np.ascontiguousarray(array, "<f4").tobytes())  # packed floats
    if v1:  # legacy num/channels/height/width, padded with leading 1s
        dims = (1,) * (4 - array.ndim) + array.shape
        return b"".join(_uint(i + 1, d) for i, d in enumerate(dims)) + data
    return _bytes(7, _bytes(1, b"".join(_varint(d) for d in array.shape))) + data  # BlobShape, packed dims


# (name, V1 enum type, V2 type string, V1 param field, V2 param field, param bytes, bottom, top)
def _layers(weights: dict, conv2_group: int) -> list[tuple]:
    conv = {"conv1": (11, 4, 0, 1), "conv2": (5, 1, 2, conv2_group), "conv3": (3, 1, 1, 1), "conv4": (3, 1, 1, 2)}
    conv["conv5"] = (3, 1, 1, 2)
    layers = [("data", 5, "Data", 11, 107, _string(1, "ilsvrc12_train_leveldb") + _uint(4, 256), None, "data")]
    x = "data"
    for name, (k, stride, pad, group) in conv.items():
        i = name[-1]
        param = _uint(1, weights[f"{name}_w"].shape[0]) + _uint(4, k) + _uint(6, stride)
        param += (_uint(3, pad) if pad else b"") + (_uint(5, group) if group > 1 else b"")
        layers.append((name, 4, "Convolution", 10, 106, param, x, name))
        layers.append((f"relu{i}", 18, "ReLU", None, None, b"", name, name))
        x = name
        if i in "12":  # k is left out: Caffe's default is 1
            lrn = _uint(1, 5) + _float(2, 1e-4) + _float(3, 0.75)
            layers.append((f"norm{i}", 15, "LRN", 18, 118, lrn, x, f"norm{i}"))
            x = f"norm{i}"
        if i in "125":
            layers.append((f"pool{i}", 17, "Pooling", 19, 121, _uint(1, 0) + _uint(2, 3) + _uint(3, 2), x, f"pool{i}"))
            x = f"pool{i}"
    for name in ("fc6", "fc7", "fc8"):
        layers.append((name, 14, "InnerProduct", 17, 117, _uint(1, weights[f"{name}_w"].shape[0]), x, name))
        x = name
        if name != "fc8":
            layers.append((f"relu{name[-1]}", 18, "ReLU", None, None, b"", x, x))
            layers.append((f"drop{name[-1]}", 6, "Dropout", 12, 108, _float(1, 0.5), x, x))
    layers.append(("loss", 21, "SoftmaxWithLoss", None, None, b"", x, "loss"))
    layers.append(("accuracy", 1, "Accuracy", None, None, b"", x, "accuracy"))
    return layers


def write_caffemodel(weights: dict, v1: bool = True, conv2_group: int = 2, extra: dict | None = None) -> bytes:
    """Serialize a NetParameter with AlexNet's layers and `weights` (OIHW, (out, in)).

    `extra` maps a layer name to bytes appended to its layer-specific parameter message.
    """
    net = _string(1, "CaffeNet")
    for name, v1_type, v2_type, v1_field, v2_field, param, bottom, top in _layers(weights, conv2_group):
        param += (extra or {}).get(name, b"")
        blobs = [weights[f"{name}_{p}"] for p in "wb"] if f"{name}_w" in weights else []
        if v1:
            body = _string(4, name) + _uint(5, v1_type)
            body += _string(2, bottom) if bottom else b""
            body += _string(3, top) + b"".join(_bytes(6, _blob(b, True)) for b in blobs)
            body += b"".join(_float(7, lr) + _float(8, wd) for lr, wd in ((1, 1), (2, 0))) if blobs else b""
            body += _bytes(v1_field, param) if v1_field else b""
            net += _bytes(2, body)
        else:
            body = _string(1, name) + _string(2, v2_type)
            body += _string(3, bottom) if bottom else b""
            body += _string(4, top) + b"".join(_bytes(7, _blob(b, False)) for b in blobs)
            body += _bytes(v2_field, param) if v2_field else b""
            net += _bytes(100, body)
    return net


@pytest.fixture(scope="module")
def bvlc_weights():
    from fixtures.reference_models import random_bvlc_weights

    return random_bvlc_weights(seed=4)


@pytest.mark.slow
def test_v1_caffemodel_matches_onnxruntime_on_real_images(bvlc_weights, caffe_batch, tmp_path):
    from fixtures.reference_models import build_bvlc_like_onnx

    import keras_alexnet
    from keras_alexnet.convert import UnverifiedOriginalWarning, convert_file
    from keras_alexnet.models.variants import CAFFE_LRN
    from keras_alexnet.weights.network import NetworkRecord

    src = tmp_path / "stand_in.caffemodel"
    src.write_bytes(write_caffemodel(bvlc_weights, v1=True))
    with pytest.warns(UnverifiedOriginalWarning, match="not a known original"):
        out = convert_file(src, tmp_path / "ckpt", verify=True)  # verify: checked in a staging directory first
    network = NetworkRecord.read(out)
    assert network.lrn == CAFFE_LRN and network.preprocessing == "caffe" and network.variant == "original"

    graph = build_bvlc_like_onnx(bvlc_weights, logits_output=True)
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    _, expected = session.run(None, {"data_0": caffe_batch.transpose(0, 3, 1, 2).copy()})
    logits = keras_alexnet.AlexNet(weights=out, classifier_activation=None).predict(caffe_batch, verbose=0)
    assert np.std(expected) > 0.5
    assert max_abs_err(logits, expected) <= 1e-4


def test_v2_layer_field_gives_the_same_weights():
    """The current `layer` field (type strings, `shape` blobs) reads the same as the legacy layout."""
    from keras_alexnet.convert.caffe_converter import load_caffemodel, source_weights_from_caffe

    bvlc_weights = small_bvlc_weights(seed=5)
    v1 = source_weights_from_caffe(*load_caffemodel(write_caffemodel(bvlc_weights, v1=True)))
    v2 = source_weights_from_caffe(*load_caffemodel(write_caffemodel(bvlc_weights, v1=False)))
    assert v1.lrn == v2.lrn
    for a, b in zip([*v1.convs, *v1.denses], [*v2.convs, *v2.denses], strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(v2.denses[0][0], bvlc_weights["fc6_w"])


def test_wrong_group_in_caffemodel_is_refused():
    from keras_alexnet.convert.caffe_converter import keras_model_from_caffe

    weights = {f"{n}_{p}": np.zeros((1,), "float32") for n in ("conv2", "conv3", "conv4", "conv5") for p in "wb"}
    weights |= {f"{n}_{p}": np.zeros((1,), "float32") for n in ("fc6", "fc7", "fc8") for p in "wb"}
    weights |= {"conv1_w": np.zeros((96, 3, 11, 11), "float32"), "conv1_b": np.zeros((96,), "float32")}
    data = write_caffemodel(weights, conv2_group=1)
    with pytest.raises(ValueError, match=r"convolution 2 \(conv2\) has .*'groups': 1"):
        keras_model_from_caffe(data)


def test_not_a_caffemodel_is_refused(tmp_path):
    from keras_alexnet.convert.caffe_converter import keras_model_from_caffe

    path = tmp_path / "empty.caffemodel"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="holds no layers"):
        keras_model_from_caffe(path)
    path.write_bytes(b"\xff\xff\xff\xff")
    with pytest.raises(ValueError, match="is not a Caffe NetParameter"):
        keras_model_from_caffe(path)


def test_transposed_inner_product():
    """`inner_product_param { transpose: true }` stores fc weights (in, out); they are read back as (out, in)."""
    from keras_alexnet.convert.caffe_converter import load_caffemodel, source_weights_from_caffe

    weights = small_bvlc_weights(seed=8)
    stored = dict(weights, fc7_w=weights["fc7_w"].T.copy())
    data = write_caffemodel(stored, extra={"fc7": _uint(6, 1)})  # InnerProductParameter.transpose = true
    source = source_weights_from_caffe(*load_caffemodel(data))
    np.testing.assert_array_equal(source.denses[1][0], weights["fc7_w"])
    np.testing.assert_array_equal(source.denses[2][0], weights["fc8_w"])
