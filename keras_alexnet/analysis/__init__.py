"""The paper's analyses as tools: first-layer kernels (Figure 3), nearest neighbours in fc7
(Figure 4), layer activations, evaluation metrics and the depth ablation (Section 7).

Example:

>>> import keras_alexnet
>>> from keras_alexnet.analysis import feature_extractor
>>> feature_extractor(keras_alexnet.AlexNet(), layer="fc7").output.shape
(None, 4096)
"""

from keras_alexnet.analysis.features import feature_extractor

__all__ = ["feature_extractor"]
