"""keras_alexnet: the AlexNet of Krizhevsky, Sutskever and Hinton (2012) for Keras 3.

The names below are imported on first use (PEP 562), so `import keras_alexnet` (and the CLI's
`--help`) imports neither Keras nor TensorFlow. Our Keras classes are registered when Keras is
imported (`keras_alexnet.registration`), so `keras.saving.load_model` finds them.

Example:

>>> import keras_alexnet
>>> keras_alexnet.AlexNet(weights=None).count_params()
60965224
"""

from __future__ import annotations

from keras_alexnet.cpus import limit_threads_to_quota
from keras_alexnet.lazy_exports import lazy_exports
from keras_alexnet.registration import register_keras_classes, register_kerashub_classes, when_imported
from keras_alexnet.version import __version__ as __version__

#: Public name -> the module that defines it (one line to change when a name moves).
_EXPORTS = {
    "AlexNet": "keras_alexnet.applications",
    "GroupedConv2D": "keras_alexnet.layers",
    "LRNConfig": "keras_alexnet.models",
    "LocalResponseNormalization": "keras_alexnet.layers",
    "WeightsUnavailableError": "keras_alexnet.weights",
    "decode_predictions": "keras_alexnet.preprocessing",
    "feature_extractor": "keras_alexnet.analysis.features",
    "from_hub": "keras_alexnet.applications",
    "get_variant": "keras_alexnet.models",
    "get_weights_record": "keras_alexnet.weights",
    "list_weights": "keras_alexnet.weights",
    "network_record": "keras_alexnet.models",
    "preprocess_input": "keras_alexnet.preprocessing",
    "push_to_hub": "keras_alexnet.weights.publish",
}

__all__ = sorted([*_EXPORTS, "__version__"])

limit_threads_to_quota()  # thread pools sized by a container's CPU quota, before TensorFlow starts them

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)  # before the hooks below, which may import submodules at once
when_imported("keras", register_keras_classes)
when_imported("keras_hub", register_kerashub_classes)  # KerasHub's from_preset then finds our classes
