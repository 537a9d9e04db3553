"""Input pipelines (`tf.data`): TFDS, local folders and the embedded digits set; the paper's preprocessing.

Example:

>>> from keras_alexnet.data import load_source, make_train_dataset
>>> ds = make_train_dataset(load_source("digits", limit=8), batch_size=4, image_size=67)
>>> tuple(next(iter(ds))[0].shape)
(4, 67, 67, 3)
"""

from keras_alexnet.lazy_exports import lazy_exports

#: Public name -> the module that defines it; imported on first use (`keras_alexnet.lazy_exports`).
_EXPORTS = {
    "BadRecordCounter": "keras_alexnet.data.decode",
    "EMBEDDED": "keras_alexnet.data.sources",
    "EvaluationResult": "keras_alexnet.data.evaluation",
    "ImageSource": "keras_alexnet.data.sources",
    "PixelStatistics": "keras_alexnet.data.statistics",
    "average_crops": "keras_alexnet.data.evaluation",
    "compute_statistics": "keras_alexnet.data.statistics",
    "decode_images": "keras_alexnet.data.decode",
    "digits_arrays": "keras_alexnet.data.sources",
    "evaluate_top_k": "keras_alexnet.data.evaluation",
    "load_eval_dataset": "keras_alexnet.data.pipelines",
    "load_source": "keras_alexnet.data.sources",
    "make_epochs_dataset": "keras_alexnet.data.pipelines",
    "make_eval_dataset": "keras_alexnet.data.pipelines",
    "make_train_dataset": "keras_alexnet.data.pipelines",
    "predict_probabilities": "keras_alexnet.data.evaluation",
    "top_k_error": "keras_alexnet.data.evaluation",
    "train_squares": "keras_alexnet.data.pipelines",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
