"""Converters from the public originals (ONNX, torchvision, Caffe) to keras_alexnet checkpoints."""
