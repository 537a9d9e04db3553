"""The independent networks `keras-alexnet convert --verify` runs the originals in, without keras_alexnet's layers.

They use only PyTorch and `onnx.helper` (never keras_alexnet's layers), so a bug in those layers cannot hide in
the check (`keras_alexnet.convert.verify`); the converter tests use them as their yardsticks too.

- `TorchvisionAlexNet`: torchvision's `AlexNet` module, with exactly its state-dict keys (`features.0/3/6/8/10`,
  `classifier.1/4/6`); defined on first access, so importing this module does not import torch.
- `build_bvlc_like_onnx`: an ONNX graph with the node types and attributes of the ONNX model zoo's
  `bvlcalexnet-12.onnx` (Conv with group=2 for conv2/4/5, LRN size 5 / alpha 1e-4 / beta 0.75 / bias 1,
  MaxPool 3/2, Reshape, Gemm with transB=1, Dropout, Softmax) and the given weights (a `.caffemodel`'s, for
  `--verify` of a Caffe original).
- `BVLC_CONVS` / `BVLC_DENSES` / `bvlc_weight_shapes`: the BVLC network's layers and its weights' names and
  shapes in the ONNX/Caffe layout (OIHW kernels, (out, in) dense weights, CHW-flattened fc6 rows).

(Random weights in these layouts, for tests and benchmarks, are in `tests/fixtures/reference_models.py`, outside
the package.)

Example:

>>> import numpy as np
>>> from keras_alexnet.convert.verify_networks import bvlc_weight_shapes, build_bvlc_like_onnx
>>> zeros = {name: np.zeros(shape, "float32") for name, shape in bvlc_weight_shapes(classes=10).items()}
>>> [n.op_type for n in build_bvlc_like_onnx(zeros).graph.node][:4]
['Conv', 'Relu', 'LRN', 'MaxPool']
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BVLC_CONVS",
    "BVLC_DENSES",
    "BVLC_LRN",
    "TorchvisionAlexNet",  # noqa: F822 (defined on first access, see __getattr__)
    "build_bvlc_like_onnx",
    "bvlc_weight_shapes",
]

#: (name, out_channels, in_channels_per_group, kernel, stride, pad, group) of the BVLC network.
BVLC_CONVS = (
    ("conv1", 96, 3, 11, 4, 0, 1),
    ("conv2", 256, 48, 5, 1, 2, 2),
    ("conv3", 384, 256, 3, 1, 1, 1),
    ("conv4", 384, 192, 3, 1, 1, 2),
    ("conv5", 256, 192, 3, 1, 1, 2),
)
#: (name, out_features, in_features) of the BVLC network's dense layers.
BVLC_DENSES = (("fc6", 4096, 9216), ("fc7", 4096, 4096), ("fc8", 1000, 4096))
BVLC_LRN = dict(size=5, alpha=1e-4, beta=0.75, bias=1.0)


def bvlc_weight_shapes(classes: int = 1000) -> dict[str, tuple[int, ...]]:
    """`{layer}_w` / `{layer}_b` -> shape in the ONNX/Caffe layout, in the network's order (fc8 with `classes` rows).

    >>> bvlc_weight_shapes()["conv2_w"], bvlc_weight_shapes(classes=10)["fc8_b"]
    ((256, 48, 5, 5), (10,))
    """
    shapes: dict[str, tuple[int, ...]] = {}
    for name, out, in_per_group, k, *_ in BVLC_CONVS:
        shapes[f"{name}_w"], shapes[f"{name}_b"] = (out, in_per_group, k, k), (out,)
    for name, out, fan_in in BVLC_DENSES:
        out = classes if name == "fc8" else out
        shapes[f"{name}_w"], shapes[f"{name}_b"] = (out, fan_in), (out,)
    return shapes


def build_bvlc_like_onnx(
    weights: dict[str, np.ndarray],
    *,
    input_size: int = 227,
    batch_size: int | None = None,
    flatten: str = "reshape",
    logits_output: bool = False,
    opset: int = 12,
):
    """An ONNX model with the structure of the model zoo's `bvlcalexnet-12.onnx`.

    Args:
        weights: `{layer}_w` / `{layer}_b` arrays in the ONNX/Caffe layout
            (OIHW kernels, (out, in) dense weights; shapes as `bvlc_weight_shapes`).
        input_size: the spatial size the graph declares for `data_0` (the zoo
            file declares 224, although the network only works at 227).
        batch_size: a fixed batch dimension (the zoo file uses 1), or None for
            a symbolic one.
        flatten: "reshape" (the zoo file) or "flatten" (an ONNX Flatten node).
        logits_output: also expose the pre-softmax `fc8_1` as a second output.
        opset: the ONNX opset of the graph.

    Returns:
        An `onnx.ModelProto` that has passed `onnx.checker.check_model`.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if flatten not in ("reshape", "flatten"):
        raise ValueError(f"`flatten` must be 'reshape' or 'flatten'. Received: flatten={flatten!r}")
    initializers = [numpy_helper.from_array(np.asarray(v, "float32"), f"{k}_0") for k, v in weights.items()]
    nodes = []
    x = "data_0"
    for name, _, _, k, stride, pad, group in BVLC_CONVS:
        nodes.append(
            helper.make_node(
                "Conv",
                [x, f"{name}_w_0", f"{name}_b_0"],
                [f"{name}_1"],
                kernel_shape=[k, k],
                strides=[stride, stride],
                pads=[pad] * 4,
                dilations=[1, 1],
                group=group,
            )
        )
        nodes.append(helper.make_node("Relu", [f"{name}_1"], [f"{name}_2"]))
        x = f"{name}_2"
        index = name[-1]
        if name in ("conv1", "conv2"):
            nodes.append(helper.make_node("LRN", [x], [f"norm{index}_1"], **BVLC_LRN))
            x = f"norm{index}_1"
        if name in ("conv1", "conv2", "conv5"):
            nodes.append(
                helper.make_node("MaxPool", [x], [f"pool{index}_1"], kernel_shape=[3, 3], strides=[2, 2], pads=[0] * 4)
            )
            x = f"pool{index}_1"
    if flatten == "reshape":
        shape = np.array([batch_size or -1, 9216], dtype=np.int64)
        initializers.append(numpy_helper.from_array(shape, "OC2_DUMMY_1"))
        nodes.append(helper.make_node("Reshape", [x, "OC2_DUMMY_1"], ["OC2_DUMMY_0"]))
    else:
        nodes.append(helper.make_node("Flatten", [x], ["OC2_DUMMY_0"], axis=1))
    x = "OC2_DUMMY_0"
    for name, *_ in BVLC_DENSES:
        nodes.append(helper.make_node("Gemm", [x, f"{name}_w_0", f"{name}_b_0"], [f"{name}_1"], transB=1))
        x = f"{name}_1"
        if name != "fc8":
            nodes.append(helper.make_node("Relu", [x], [f"{name}_2"]))
            nodes.append(helper.make_node("Dropout", [f"{name}_2"], [f"{name}_3"]))
            x = f"{name}_3"
    nodes.append(helper.make_node("Softmax", [x], ["prob_1"], axis=1))
    batch = batch_size if batch_size is not None else "N"
    classes = int(np.asarray(weights["fc8_b"]).shape[0])
    outputs = [helper.make_tensor_value_info("prob_1", TensorProto.FLOAT, [batch, classes])]
    if logits_output:
        outputs.append(helper.make_tensor_value_info("fc8_1", TensorProto.FLOAT, [batch, classes]))
    graph = helper.make_graph(
        nodes,
        "bvlc_alexnet_like",
        [helper.make_tensor_value_info("data_0", TensorProto.FLOAT, [batch, 3, input_size, input_size])],
        outputs,
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="keras_alexnet")
    model.ir_version = min(model.ir_version, 8)
    onnx.checker.check_model(model)
    return model


def _define_torchvision_alexnet():
    import torch

    nn = torch.nn

    class TorchvisionAlexNet(nn.Module):
        """torchvision's `AlexNet` (the "one weird trick" single tower), same state-dict keys."""

        def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
                nn.Conv2d(64, 192, kernel_size=5, padding=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
                nn.Conv2d(192, 384, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(384, 256, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(256, 256, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
            )
            self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
            self.classifier = nn.Sequential(
                nn.Dropout(p=dropout),
                nn.Linear(256 * 6 * 6, 4096),
                nn.ReLU(inplace=True),
                nn.Dropout(p=dropout),
                nn.Linear(4096, 4096),
                nn.ReLU(inplace=True),
                nn.Linear(4096, num_classes),
            )

        def forward(self, x):
            x = self.features(x)
            x = self.avgpool(x)
            x = torch.flatten(x, 1)
            return self.classifier(x)

    return TorchvisionAlexNet


def __getattr__(name: str):
    # `TorchvisionAlexNet` is defined on first access, so that importing this
    # module (e.g. for the ONNX graph) does not import torch.
    if name == "TorchvisionAlexNet":
        cls = _define_torchvision_alexnet()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
