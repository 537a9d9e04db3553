"""Parameter count and multiply-accumulates of an AlexNet: kept for existing imports (`keras_alexnet.models.config`).

Example:

>>> from keras_alexnet.weights.complexity import count_macs, count_params
>>> count_params("original"), count_macs("original")
(60965224, 724406816)
>>> count_params("torchvision"), count_macs("torchvision")
(61100840, 714188480)
"""

from keras_alexnet.models.config import count_macs, count_params

__all__ = ["count_macs", "count_params"]
