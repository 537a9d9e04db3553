"""AlexNet as KerasHub classes: a Backbone (the conv stack), an ImageClassifier (fc6, fc7, predictions), and
an ImageConverter / preprocessor applying each checkpoint's own preprocessing (`keras_alexnet.preprocessing`).

Example (needs keras_hub):

>>> from keras_alexnet.kerashub import AlexNetBackbone
>>> AlexNetBackbone(variant="torchvision").count_params()
2469696
"""

from __future__ import annotations

import keras
import keras_hub

from keras_alexnet.models.backbone import PACKAGE, backbone_graph
from keras_alexnet.models.config import NetworkRecord, get_variant
from keras_alexnet.preprocessing import preprocess_for


@keras.saving.register_keras_serializable(package=PACKAGE)
class AlexNetBackbone(keras_hub.models.Backbone):
    """The conv stack (conv1..pool5) of AlexNet: `AlexNet(include_top=False)`, as a KerasHub Backbone.

    A checkpoint's config.json describes it (`keras_alexnet.weights.preset_files`); without keras-hub the same
    registered name builds `keras_alexnet.models.backbone.AlexNetBackboneModel`, a plain Keras model.

    Args:
        variant: "original" (two towers, LRN) or "torchvision".
        lrn: LRN constants (dict of `LRNConfig`), None for the variant's.
        image_shape: input shape; default the variant's `(size, size, 3)`.
        conv_implementation: for the two-tower layers ("auto", "fused", "split").
        remove: conv stages left out (`AlexNet(remove=...)`, the paper's depth ablation).
    """

    def __init__(self, variant="original", lrn=None, image_shape=None, conv_implementation="auto", remove=(), **kwargs):
        inputs, outputs, arguments = backbone_graph(variant, lrn, image_shape, conv_implementation, remove)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self._arguments = arguments
        self.variant = variant
        self.lrn = arguments["lrn"]
        self.image_shape = tuple(arguments["image_shape"])

    def get_config(self):
        return {**super().get_config(), **self._arguments}


@keras.saving.register_keras_serializable(package=PACKAGE)
class AlexNetImageConverter(keras_hub.layers.ImageConverter):
    """Resizes (KerasHub's Resizing) and applies the checkpoint's preprocessing, as `preprocess_for` does.

    `preprocessing`: "caffe" (RGB->BGR minus Caffe's mean), "torch" (torch normalisation) or "paper" (RGB minus
    `pixel_mean`). Input: RGB 0-255 images, any dtype.
    """

    backbone_cls = AlexNetBackbone

    def __init__(self, preprocessing="caffe", pixel_mean=None, **kwargs):
        super().__init__(**kwargs)
        self.preprocessing = preprocessing
        self.pixel_mean = list(pixel_mean) if pixel_mean is not None else None
        self._network = NetworkRecord(
            classes=1, preprocessing=preprocessing, pixel_mean=tuple(pixel_mean) if pixel_mean else None
        )

    def call(self, inputs):
        x = keras.ops.convert_to_tensor(inputs)
        if self.image_size is not None:
            x = self.resizing(keras.ops.cast(x, "float32"))
        return preprocess_for(x, self._network, data_format=self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update(preprocessing=self.preprocessing, pixel_mean=self.pixel_mean)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class AlexNetImageClassifierPreprocessor(keras_hub.models.ImageClassifierPreprocessor):
    """KerasHub's image classifier preprocessor with `AlexNetImageConverter`."""

    backbone_cls = AlexNetBackbone
    image_converter_cls = AlexNetImageConverter


@keras.saving.register_keras_serializable(package=PACKAGE)
class AlexNetImageClassifier(keras_hub.models.ImageClassifier):
    """AlexNet's classifier head on an `AlexNetBackbone`: flatten, fc6, fc7 (ReLU, dropout), predictions.

    The layers and dropout placement are the variant's, as `keras_alexnet.AlexNet` builds them (paper/Caffe:
    fc -> ReLU -> dropout; torchvision: dropout -> fc -> ReLU), with the same layer names.
    """

    backbone_cls = AlexNetBackbone
    preprocessor_cls = AlexNetImageClassifierPreprocessor

    def __init__(self, backbone, num_classes, preprocessor=None, activation=None, dropout=None, **kwargs):
        config = get_variant(backbone.variant)
        rate = config.dropout_rate if dropout is None else dropout
        self.backbone = backbone
        self.preprocessor = preprocessor
        inputs = backbone.input
        x = keras.layers.Flatten(name="flatten")(backbone(inputs))
        for i, units in enumerate(config.dense_units, start=6):
            if config.dropout_position == "before_dense":
                x = keras.layers.Dropout(rate, name=f"drop{i}")(x)
            x = keras.layers.Dense(units, activation="relu", name=f"fc{i}")(x)
            if config.dropout_position == "after_relu":
                x = keras.layers.Dropout(rate, name=f"drop{i}")(x)
        outputs = keras.layers.Dense(num_classes, activation=activation, name="predictions", dtype="float32")(x)
        keras_hub.models.Task.__init__(self, inputs=inputs, outputs=outputs, **kwargs)
        self.num_classes = num_classes
        self.activation = activation
        self.dropout = rate
        self.pooling = "flatten"

    def get_config(self):
        config = keras_hub.models.Task.get_config(self)
        config.update(num_classes=self.num_classes, activation=self.activation, dropout=self.dropout)
        return config
