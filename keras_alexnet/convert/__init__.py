"""Converters from the public originals (ONNX, torchvision, Caffe) to keras_alexnet checkpoints.

Example:

>>> from keras_alexnet.convert import detect_format
>>> from pathlib import Path
>>> detect_format(Path("bvlcalexnet-12.onnx")), detect_format(Path("bvlc_alexnet.caffemodel"))
('onnx', 'caffe')
"""

from keras_alexnet.convert.api import (
    FORMATS,
    ConversionResult,
    UnverifiedOriginalWarning,
    convert,
    convert_file,
    detect_format,
)

__all__ = ["FORMATS", "ConversionResult", "UnverifiedOriginalWarning", "convert", "convert_file", "detect_format"]
