"""What a checkpoint says about the network it belongs to: `keras_alexnet.json`.

A checkpoint directory carries `keras_alexnet.json`, the `NetworkRecord` of the
weights in it (`keras_alexnet.models.config.NetworkRecord`: the variant, the class
count, the LRN constants and convention, the input they expect, the class names
and, for weights trained by `keras-alexnet train`, the training set's RGB pixel
mean). `NetworkRecord.read(directory)` and `record.write(directory)` read and
write it; this module names the file for the weights package.

Example:

>>> from keras_alexnet.weights.network import NetworkRecord
>>> NetworkRecord.from_dict(NetworkRecord(variant="torchvision").to_dict()).variant
'torchvision'
"""

from keras_alexnet.models.config import (
    FORMAT_VERSION,
    NETWORK_FILENAME,
    NETWORK_FIX,
    PREPROCESSING_CHANNEL_ORDER,
    NetworkRecord,
)

__all__ = ["FORMAT_VERSION", "NETWORK_FILENAME", "NETWORK_FIX", "PREPROCESSING_CHANNEL_ORDER", "NetworkRecord"]
