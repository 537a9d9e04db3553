"""Check a converted checkpoint against an independent run of its original, on real images.

The reference never uses keras_alexnet's layers:

- ONNX: ONNX Runtime on the original graph (with the Softmax's input added as
  an output for the logits, and the declared input resized to the size the
  network works at; images are fed one at a time, as the zoo graph's Reshape
  fixes the batch to 1);
- torchvision: `verify_networks.TorchvisionAlexNet` (plain PyTorch) with the
  original state dict;
- Caffe: there is no Caffe runtime here, so the weights read from the
  `.caffemodel` are run through ONNX Runtime in `build_bvlc_like_onnx`'s graph.
  This checks every layout change (OIHW -> HWIO, fc6's rows, groups); the
  protobuf parsing itself is checked by the tests against an independent writer.

Example:

>>> from keras_alexnet.convert.verify import ParityReport
>>> ParityReport("ONNX Runtime", 2, 2e-05, True).ok()
True
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from keras_alexnet.convert.assemble import load_converted
from keras_alexnet.errors import require
from keras_alexnet.image_io import load_image
from keras_alexnet.models.config import NetworkRecord
from keras_alexnet.preprocessing import preprocess_input
from keras_alexnet.samples import sample_image_paths

DEFAULT_TOLERANCE = 1e-4


@dataclasses.dataclass(frozen=True)
class ParityReport:
    """How the converted checkpoint's logits compare with the reference's."""

    reference: str
    images: int
    max_abs_logit_err: float
    top1_agrees: bool

    def ok(self, tolerance: float = DEFAULT_TOLERANCE) -> bool:
        return self.max_abs_logit_err <= tolerance and self.top1_agrees

    def summary(self, tolerance: float = DEFAULT_TOLERANCE) -> str:
        verdict = "ok" if self.ok(tolerance) else "FAILED"
        return (
            f"parity vs {self.reference} on {self.images} real images: max |logit difference| "
            f"{self.max_abs_logit_err:.2e} (tolerance {tolerance:g}), top-1 "
            f"{'agrees' if self.top1_agrees else 'DIFFERS'}: {verdict}"
        )


def verify_parity(
    checkpoint_dir: str | os.PathLike,
    src: str | os.PathLike,
    source_format: str,
    image_paths: list | None = None,
) -> ParityReport:
    """Compare the logits of the checkpoint at `checkpoint_dir` with the reference run of `src`."""
    network = NetworkRecord.read(checkpoint_dir)
    paths = image_paths or sample_image_paths()
    images = np.stack([load_image(p, size=network.input_size) for p in paths])
    batch = preprocess_input(images, mode=network.preprocessing)
    nchw = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
    if source_format == "onnx":
        reference, expected = "ONNX Runtime", _onnx_logits(_load_onnx(src), nchw)
    elif source_format == "torchvision":
        reference, expected = "PyTorch", _torch_logits(src, nchw)
    elif source_format == "caffe":
        reference, expected = "ONNX Runtime (Caffe weights)", _caffe_logits(src, nchw)
    else:
        raise ValueError(f"Unknown source format. Received: source_format={source_format!r}")
    model = load_converted(Path(os.fspath(checkpoint_dir)), classifier_activation=None)
    logits = np.asarray(model.predict(batch, verbose=0))
    return ParityReport(
        reference=reference,
        images=len(paths),
        max_abs_logit_err=float(np.max(np.abs(logits.astype(np.float64) - expected))),
        top1_agrees=bool((logits.argmax(1) == expected.argmax(1)).all()),
    )


def _load_onnx(src):
    onnx = require("onnx", "convert", "Checking a conversion against ONNX Runtime (--verify)")
    return onnx.load(Path(src))


def _onnx_logits(model, nchw: np.ndarray) -> np.ndarray:
    """Logits from ONNX Runtime: the Softmax's input becomes an output; the declared input fits `nchw`."""
    onnx = require("onnx", "convert", "Checking a conversion against ONNX Runtime (--verify)")
    ort = require("onnxruntime", "convert", "Checking a conversion against ONNX Runtime (--verify)")
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    softmax = [n for n in graph.node if n.op_type == "Softmax" and n.output[0] in {o.name for o in graph.output}]
    logits_name = softmax[0].input[0] if softmax else graph.output[0].name
    if logits_name not in {o.name for o in graph.output}:
        graph.output.append(onnx.helper.make_empty_tensor_value_info(logits_name))
    constants = {t.name for t in graph.initializer}
    image_input = next(v for v in graph.input if v.name not in constants)
    dims = image_input.type.tensor_type.shape.dim
    for dim, size in zip(dims, (1, *nchw.shape[1:]), strict=False):
        dim.ClearField("dim_param")
        dim.dim_value = size
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.concatenate(
        [session.run([logits_name], {image_input.name: x[None]})[0] for x in nchw.astype(np.float32)]
    ).astype(np.float64)


def _torch_logits(src, nchw: np.ndarray) -> np.ndarray:
    torch = require("torch", "convert", "Checking a conversion against PyTorch (--verify)")

    from keras_alexnet.convert.torchvision_converter import load_state_dict
    from keras_alexnet.convert.verify_networks import TorchvisionAlexNet

    state, _ = load_state_dict(src)
    model = TorchvisionAlexNet(num_classes=int(state["classifier.6.weight"].shape[0]))
    model.load_state_dict({k.removeprefix("module."): v for k, v in state.items()})
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(nchw.astype(np.float32))).double().numpy()


def _caffe_logits(src, nchw: np.ndarray) -> np.ndarray:
    from keras_alexnet.convert.caffe_converter import load_caffemodel, source_weights_from_caffe
    from keras_alexnet.convert.verify_networks import BVLC_CONVS, BVLC_DENSES, build_bvlc_like_onnx

    weights = source_weights_from_caffe(*load_caffemodel(src))
    names = [c[0] for c in BVLC_CONVS] + [d[0] for d in BVLC_DENSES]
    arrays = {}
    for name, (w, b) in zip(names, [*weights.convs, *weights.denses], strict=True):
        arrays[f"{name}_w"], arrays[f"{name}_b"] = w, b
    return _onnx_logits(build_bvlc_like_onnx(arrays, input_size=nchw.shape[-1]), nchw)
