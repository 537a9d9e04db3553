"""A Keras AlexNet as an OpenVINO model: Keras' own `model.export(format="openvino")`, optionally int8 by NNCF.

One conversion behind both `fast_predictor(runtime="openvino")` and `export_model(format="openvino")`
(`keras-alexnet export --format openvino [--precision int8 --calibration IMAGES]`). The layers emit
TensorFlow's own LRN op while Keras traces them (`layers/tracing.py`), which OpenVINO runs as its native
LRN; Keras' split towers become OpenVINO GroupConvolutions.

int8 is NNCF's post-training quantization on `calibration` (preprocessed NHWC images like those the model
will see): weights and activations of the convolutions and dense layers in int8, what NNCF leaves in float
(LRN, softmax) in float32.

Example (needs the `[openvino]` extra):

>>> import numpy as np, keras_alexnet
>>> from keras_alexnet.openvino_model import to_openvino
>>> model = keras_alexnet.AlexNet(include_top=False, input_shape=(67, 67, 3), pooling="avg")
>>> ov_model = to_openvino(model)
>>> [op.get_type_name() for op in ov_model.get_ops()].count("LRN")
2
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np

from keras_alexnet.errors import require

#: The precisions an OpenVINO model is made in: float32 weights, or NNCF's int8.
PRECISIONS = ("fp32", "int8")


def to_openvino(model: keras.Model, precision: str = "fp32", calibration=None):
    """`model` as an `openvino.Model` in `precision` ("fp32", or "int8": NNCF on `calibration`)."""
    if precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}. Received: precision={precision!r}")
    ov = require("openvino", "openvino", "Converting to OpenVINO")
    with tempfile.TemporaryDirectory(prefix="keras_alexnet_openvino_") as tmp:
        path = Path(tmp) / "model.xml"
        model.export(str(path), format="openvino", verbose=False)
        # Read into memory, not memory-mapped: the temporary model.bin is removed when this block ends.
        ov_model = ov.Core().read_model(str(path), config={"ENABLE_MMAP": False})
    if precision == "int8":
        ov_model = quantize(ov_model, calibration)
    return ov_model


def quantize(ov_model, calibration):
    """NNCF post-training int8 quantization of `ov_model` on `calibration` (N, H, W, 3) float32 images."""
    nncf = require("nncf", "openvino", "int8 quantization (NNCF)")
    images = np.asarray(calibration, "float32")
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(
            "int8 needs calibration images: a preprocessed batch (N, H, W, 3) of a few hundred images like those "
            f"the model will see. Received: shape {images.shape}"
        )
    dataset = nncf.Dataset([images[i : i + 1] for i in range(len(images))])
    with contextlib.redirect_stdout(sys.stderr):  # NNCF's progress bars: never into a command's output
        return nncf.quantize(ov_model, dataset, subset_size=len(images))
