"""Input pipelines (`tf.data`): TFDS, local folders and the embedded digits set; the paper's preprocessing.

Example:

>>> from keras_alexnet.data import load_source, make_train_dataset
>>> ds = make_train_dataset(load_source("digits", limit=8), batch_size=4, image_size=67)
>>> tuple(next(iter(ds))[0].shape)
(4, 67, 67, 3)
"""

from keras_alexnet.data.decode import BadRecordCounter, decode_images
from keras_alexnet.data.evaluation import (
    EvaluationResult,
    average_crops,
    evaluate_top_k,
    predict_probabilities,
    top_k_error,
)
from keras_alexnet.data.pipelines import (
    load_eval_dataset,
    make_epochs_dataset,
    make_eval_dataset,
    make_train_dataset,
    train_squares,
)
from keras_alexnet.data.sources import EMBEDDED, ImageSource, digits_arrays, load_source
from keras_alexnet.data.statistics import PixelStatistics, compute_statistics

__all__ = [
    "EMBEDDED",
    "BadRecordCounter",
    "EvaluationResult",
    "ImageSource",
    "PixelStatistics",
    "average_crops",
    "compute_statistics",
    "decode_images",
    "digits_arrays",
    "evaluate_top_k",
    "load_eval_dataset",
    "load_source",
    "make_epochs_dataset",
    "make_eval_dataset",
    "make_train_dataset",
    "predict_probabilities",
    "top_k_error",
    "train_squares",
]
