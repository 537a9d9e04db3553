"""BVLC-like ONNX graph -> convert_file -> Keras, against ONNX Runtime on real images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import max_abs_err, small_bvlc_weights

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _run_ort(model, batch_nhwc: np.ndarray, size: int = 227) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and logits from ONNX Runtime, one image at a time, with the input declared at `size`."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    model.graph.output.append(onnx.helper.make_tensor_value_info("fc8_1", onnx.TensorProto.FLOAT, None))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = dims[3].dim_value = size
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    outputs = [session.run(["prob_1", "fc8_1"], {"data_0": x[None].transpose(0, 3, 1, 2).copy()}) for x in batch_nhwc]
    return np.concatenate([o[0] for o in outputs]), np.concatenate([o[1] for o in outputs])


@pytest.mark.slow
def test_zoo_like_graph_converts_and_matches_onnxruntime(tmp_path, caffe_batch, caplog):
    """Declared 224x224 and batch 1, as in the zoo file; named like the original but different -> warning."""
    from fixtures.reference_models import build_bvlc_like_onnx, random_bvlc_weights

    import keras_alexnet
    from keras_alexnet.convert import UnverifiedOriginalWarning, convert_file
    from keras_alexnet.convert.verify import verify_parity
    from keras_alexnet.models.variants import CAFFE_LRN

    graph = build_bvlc_like_onnx(random_bvlc_weights(seed=2), input_size=224, batch_size=1)
    src = tmp_path / "bvlcalexnet-12.onnx"
    onnx.save(graph, src)
    with pytest.warns(UnverifiedOriginalWarning, match="named like the known original of 'bvlc_imagenet1k'"):
        out = convert_file(src, tmp_path / "ckpt")
    assert [r.levelname for r in caplog.records if r.name == "keras_alexnet.convert"] == ["WARNING"]
    record = json.loads((out / "keras_alexnet.json").read_text())
    assert record["variant"] == "original" and record["preprocessing"] == "caffe" and record["channel_order"] == "BGR"
    assert record["lrn"] == CAFFE_LRN.to_dict()

    expected_probs, expected_logits = _run_ort(graph, caffe_batch)
    logits = keras_alexnet.AlexNet(weights=out, classifier_activation=None).predict(caffe_batch, verbose=0)
    probs = keras_alexnet.AlexNet(weights=out).predict(caffe_batch, verbose=0)
    assert np.std(expected_logits) > 0.5 and expected_probs.max() > 0.01
    assert max_abs_err(logits, expected_logits) <= 1e-4
    assert max_abs_err(probs, expected_probs) <= 1e-5
    report = verify_parity(out, src, "onnx")  # the same check, as `keras-alexnet convert --verify` runs it
    assert report.ok() and report.reference == "ONNX Runtime" and report.max_abs_logit_err <= 1e-4


def _tiny_graph():
    """The BVLC-like graph with placeholder weights (conv1's real shape only): for structure errors, fast."""
    from fixtures.reference_models import BVLC_CONVS, BVLC_DENSES, build_bvlc_like_onnx

    weights = {f"{name}_{p}": np.zeros((1,), "float32") for name, *_ in (*BVLC_CONVS, *BVLC_DENSES) for p in "wb"}
    weights["conv1_w"] = np.zeros((96, 3, 11, 11), "float32")
    return build_bvlc_like_onnx(weights)


def _without_conv4(graph):
    """The graph with conv4 and its ReLU cut out: four convolutions."""
    graph = onnx.ModelProto.FromString(graph.SerializeToString())
    nodes = list(graph.graph.node)
    keep = [n for n in nodes if n.output[0] not in ("conv4_1", "conv4_2")]
    for node in keep:
        node.input[:] = ["conv3_2" if name == "conv4_2" else name for name in node.input]
    del graph.graph.node[:]
    graph.graph.node.extend(keep)
    return graph


def test_four_convolutions_are_refused():
    from keras_alexnet.convert.onnx_converter import keras_model_from_onnx

    with pytest.raises(
        ValueError, match=r"not have the structure of the 'original' AlexNet.*position 12 \(node 'pool5_1'"
    ):
        keras_model_from_onnx(_without_conv4(_tiny_graph()))


def test_wrong_group_is_refused():
    from keras_alexnet.convert.onnx_converter import keras_model_from_onnx

    graph = _tiny_graph()
    conv2 = [n for n in graph.graph.node if n.op_type == "Conv"][1]
    next(a for a in conv2.attribute if a.name == "group").i = 1
    with pytest.raises(ValueError, match=r"convolution 2 \(conv2\) has .*'groups': 1.*'groups': 2"):
        keras_model_from_onnx(graph)


def test_branching_graph_is_refused():
    from onnx import helper

    from keras_alexnet.convert.onnx_converter import keras_model_from_onnx

    graph = _tiny_graph()
    graph.graph.node.append(helper.make_node("Relu", ["conv1_1"], ["side_branch"]))
    with pytest.raises(ValueError, match="tensor 'conv1_1' feeds 2 nodes"):
        keras_model_from_onnx(graph)


def test_flatten_node_and_names_do_not_matter():
    """A Flatten instead of the Reshape, and every tensor renamed: same weights in the same places."""
    from fixtures.reference_models import build_bvlc_like_onnx

    from keras_alexnet.convert.assemble import chw_rows_to_hwc
    from keras_alexnet.convert.onnx_converter import source_weights_from_onnx

    weights = small_bvlc_weights(seed=3)
    graph = build_bvlc_like_onnx(weights, flatten="flatten")
    renames = {t.name: f"t{i}" for i, t in enumerate(graph.graph.initializer)}
    for tensor in graph.graph.initializer:
        tensor.name = renames[tensor.name]
    for node in graph.graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
    source = source_weights_from_onnx(graph)
    for (kernel, bias), name in zip(source.convs, ["conv1", "conv2", "conv3", "conv4", "conv5"], strict=True):
        np.testing.assert_array_equal(kernel, weights[f"{name}_w"])
        np.testing.assert_array_equal(bias, weights[f"{name}_b"])
    np.testing.assert_array_equal(source.denses[0][0], weights["fc6_w"])
    # fc6's rows: Keras row (h, w, c) is the original's row c*36 + h*6 + w.
    reordered = chw_rows_to_hwc(weights["fc6_w"].T, 256, 6, 6)
    np.testing.assert_array_equal(reordered[(2 * 6 + 3) * 256 + 5], weights["fc6_w"][:, 5 * 36 + 2 * 6 + 3])


def test_error_paths(tmp_path):
    from keras_alexnet.convert import convert_file

    with pytest.raises(ValueError, match="does not exist.*Received: src="):
        convert_file(tmp_path / "missing.onnx", tmp_path / "out")
    unknown = tmp_path / "weights.bin"
    unknown.write_bytes(b"\0" * 16)
    with pytest.raises(ValueError, match=r"Cannot tell the format of weights.bin.*Received"):
        convert_file(unknown, tmp_path / "out")
    with pytest.raises(ValueError, match=r"Unknown source format.*Received: 'tensorflow'"):
        convert_file(unknown, tmp_path / "out", source_format="tensorflow")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not protobuf \xff\xff\xff")
    with pytest.raises(ValueError, match="not a readable ONNX model"), pytest.warns(UserWarning):
        convert_file(garbage, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _set_pool1(graph, **attributes):
    from onnx import helper

    pool1 = next(n for n in graph.graph.node if n.op_type == "MaxPool")
    for name, value in attributes.items():
        kept = [a for a in pool1.attribute if a.name != name]
        del pool1.attribute[:]
        pool1.attribute.extend([*kept, helper.make_attribute(name, value)])
    return graph


def test_harmless_end_padding_of_a_pooling_is_accepted():
    """Exporters emulate Caffe's rounding with end padding; at 227x227 it changes nothing (checked with ORT)."""
    from onnx import TensorProto, helper

    from keras_alexnet.convert.onnx_converter import source_weights_from_onnx

    source_weights_from_onnx(_set_pool1(_tiny_graph(), pads=[0, 0, 1, 1]))
    with pytest.raises(ValueError, match=r"max pooling 1 \(input 55x55\) with end padding 1 and ceil_mode=1 gives 28"):
        source_weights_from_onnx(_set_pool1(_tiny_graph(), pads=[0, 0, 1, 1], ceil_mode=1))
    with pytest.raises(ValueError, match=r"max pooling 1 has .* and pads \(1, 1, 1, 1\)"):
        source_weights_from_onnx(_set_pool1(_tiny_graph(), pads=[1, 1, 1, 1]))

    def pool(pads):
        node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=pads)
        graph = helper.make_graph(
            [node],
            "pool",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 55, 55])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)], ir_version=8)
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return session.run(None, {"x": x})[0]

    x = np.random.default_rng(0).normal(size=(1, 2, 55, 55)).astype("float32")
    np.testing.assert_array_equal(pool([0, 0, 1, 1]), pool([0, 0, 0, 0]))


def test_matmul_add_gemm_variants_and_constant_nodes_read_the_same_weights():
    """fc7 as MatMul + Add, fc8 as Gemm(transB=0, alpha=2, beta=0.5), conv1's kernel from a Constant node.

    ONNX Runtime confirms the rewritten graph computes the same function; the converter must then read the
    same (out, in) weights and biases.
    """
    from fixtures.reference_models import build_bvlc_like_onnx
    from onnx import helper, numpy_helper

    from keras_alexnet.convert.onnx_converter import source_weights_from_onnx

    weights = small_bvlc_weights(seed=6)
    reference = build_bvlc_like_onnx(weights)
    graph = onnx.ModelProto.FromString(reference.SerializeToString())
    init = {t.name: t for t in graph.graph.initializer}
    nodes = list(graph.graph.node)
    fc7 = next(n for n in nodes if n.output[0] == "fc7_1")
    fc8 = next(n for n in nodes if n.output[0] == "fc8_1")
    init["fc7_w_0"].CopyFrom(numpy_helper.from_array(weights["fc7_w"].T.copy(), "fc7_w_0"))
    matmul = helper.make_node("MatMul", [fc7.input[0], "fc7_w_0"], ["fc7_mm"])
    add = helper.make_node("Add", ["fc7_b_0", "fc7_mm"], ["fc7_1"])  # bias first: operand order must not matter
    init["fc8_w_0"].CopyFrom(numpy_helper.from_array((weights["fc8_w"].T / 2).copy(), "fc8_w_0"))
    init["fc8_b_0"].CopyFrom(numpy_helper.from_array(weights["fc8_b"] * 2, "fc8_b_0"))
    gemm = helper.make_node("Gemm", list(fc8.input), ["fc8_1"], transB=0, alpha=2.0, beta=0.5)
    kernel = helper.make_node("Constant", [], ["conv1_w_0"], value=numpy_helper.from_array(weights["conv1_w"]))
    rewritten = [kernel] + [n for n in nodes if n not in (fc7, fc8)]
    rewritten.insert(rewritten.index(next(n for n in rewritten if n.output[0] == "fc7_2")), add)
    rewritten.insert(rewritten.index(add), matmul)
    rewritten.insert(rewritten.index(next(n for n in rewritten if n.op_type == "Softmax")), gemm)
    del graph.graph.node[:]
    graph.graph.node.extend(rewritten)
    kept = [t for t in graph.graph.initializer if t.name != "conv1_w_0"]
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(kept)

    x = np.random.default_rng(0).normal(0, 50, (1, 3, 227, 227)).astype("float32")
    run = [ort.InferenceSession(g.SerializeToString(), providers=["CPUExecutionProvider"]) for g in (reference, graph)]
    np.testing.assert_allclose(*[s.run(None, {"data_0": x})[0] for s in run], rtol=1e-5, atol=1e-6)

    source = source_weights_from_onnx(graph)
    np.testing.assert_array_equal(source.convs[0][0], weights["conv1_w"])
    for (weight, bias), name in zip(source.denses[1:], ("fc7", "fc8"), strict=True):
        np.testing.assert_allclose(weight, weights[f"{name}_w"], rtol=1e-6)
        np.testing.assert_allclose(bias, weights[f"{name}_b"], rtol=1e-6)


# --- The reader without the onnx package (keras_alexnet.convert.onnx_proto), against onnx as the writer ---


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "int64"])
@pytest.mark.parametrize("raw", [True, False], ids=["raw_data", "typed_field"])
def test_tensor_values_read_as_onnx_reads_them(dtype, raw):
    """Every inline storage the converter may meet: raw_data (what the stand-ins and numpy_helper write) and
    the typed fields (float_data, double_data, int32_data with float16 bits, int64_data), written by onnx."""
    from onnx import helper, numpy_helper

    from keras_alexnet.convert.onnx_proto import TensorProto, tensor_to_array

    values = (np.random.default_rng(0).standard_normal((3, 4, 5)) * 50).astype(dtype)
    written = helper.make_tensor("w", helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), values.shape, values, raw=raw)
    assert written.HasField("raw_data") == raw
    ours = tensor_to_array(TensorProto.FromString(written.SerializeToString()))
    expected = numpy_helper.to_array(written)
    assert ours.dtype == expected.dtype == np.dtype(dtype) and ours.shape == (3, 4, 5)
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(ours, values)


def _typed_copy(graph):
    """The graph with every initializer stored in its typed field (float_data / int64_data), not raw_data."""
    from onnx import helper, numpy_helper

    graph = onnx.ModelProto.FromString(graph.SerializeToString())
    for tensor in graph.graph.initializer:
        array = numpy_helper.to_array(tensor)
        tensor.CopyFrom(helper.make_tensor(tensor.name, tensor.data_type, array.shape, array.flatten(), raw=False))
    assert not any(t.HasField("raw_data") for t in graph.graph.initializer)
    return graph


def test_initializers_in_typed_fields_give_the_same_weights(tmp_path):
    """The same network with raw_data or float_data/int64_data initializers, read from files onnx wrote."""
    from fixtures.reference_models import build_bvlc_like_onnx

    from keras_alexnet.convert.onnx_converter import source_weights_from_onnx

    weights = small_bvlc_weights(seed=8)
    raw_graph = build_bvlc_like_onnx(weights)
    onnx.save(raw_graph, tmp_path / "raw.onnx")
    onnx.save(_typed_copy(raw_graph), tmp_path / "typed.onnx")
    raw, typed = (source_weights_from_onnx(tmp_path / name) for name in ("raw.onnx", "typed.onnx"))
    names = ("conv1", "conv2", "conv3", "conv4", "conv5")
    for (kernel, bias), (kernel2, bias2), name in zip(raw.convs, typed.convs, names, strict=True):
        np.testing.assert_array_equal(kernel, weights[f"{name}_w"])
        np.testing.assert_array_equal(kernel2, weights[f"{name}_w"])
        np.testing.assert_array_equal(bias2, bias)
    for (weight, bias), (weight2, bias2) in zip(raw.denses, typed.denses, strict=True):
        np.testing.assert_array_equal(weight2, weight)
        np.testing.assert_array_equal(bias2, bias)
    assert typed.lrn == raw.lrn and typed.variant == raw.variant


def test_external_data_is_refused_without_opening_it(tmp_path):
    """A model whose weights live in another file: refused by name; the named file is never opened."""
    from keras_alexnet.convert.onnx_converter import source_weights_from_onnx

    path = tmp_path / "external.onnx"
    onnx.save_model(
        onnx.ModelProto.FromString(_tiny_graph().SerializeToString()),
        path,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    (tmp_path / "weights.bin").unlink()
    with pytest.raises(ValueError, match=r"keeps its values in an external file \('weights.bin'\).*single-file"):
        source_weights_from_onnx(path)


def test_damaged_files_and_unreadable_tensors_are_refused(tmp_path):
    from onnx import TensorProto, helper

    from keras_alexnet.convert import convert_file
    from keras_alexnet.convert.onnx_converter import source_weights_from_onnx

    data = _tiny_graph().SerializeToString()
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"truncated.onnx is not a readable ONNX model"), pytest.warns(UserWarning):
        convert_file(truncated, tmp_path / "out")
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty.onnx is not a readable ONNX model: it holds no graph nodes"):
        source_weights_from_onnx(empty)
    assert not (tmp_path / "out").exists()

    short = _tiny_graph()
    conv1_w = next(t for t in short.graph.initializer if t.name == "conv1_w_0")
    conv1_w.raw_data = conv1_w.raw_data[:-4]
    with pytest.raises(ValueError, match=r"'conv1_w_0' has shape \(96, 3, 11, 11\) \(34848 FLOAT values\) but holds "):
        source_weights_from_onnx(short)

    quantized = _tiny_graph()
    conv1_b = next(t for t in quantized.graph.initializer if t.name == "conv1_b_0")
    conv1_b.CopyFrom(helper.make_tensor("conv1_b_0", TensorProto.UINT8, [1], [3]))
    with pytest.raises(ValueError, match=r"'conv1_b_0' has ONNX data type 2; keras_alexnet reads FLOAT, "):
        source_weights_from_onnx(quantized)

    custom = _tiny_graph()
    custom.graph.node[1].domain = "com.example"
    with pytest.raises(ValueError, match=r"Relu of the operator domain 'com.example'"):
        source_weights_from_onnx(custom)
