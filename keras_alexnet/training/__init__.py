"""The paper's training recipe (issue 4): initialisation, PaperSGD, plateau schedule, distribution, resume.

Example:

>>> from keras_alexnet.training import PaperSGD, TrainConfig
>>> PaperSGD().get_config()["weight_decay"], TrainConfig().epochs
(0.0005, 90)
"""

from keras_alexnet.lazy_exports import lazy_exports

#: Public name -> the module that defines it; imported on first use (`keras_alexnet.lazy_exports`).
_EXPORTS = {
    "CustomLoop": "keras_alexnet.training.loop",
    "PaperLRSchedule": "keras_alexnet.training.schedule",
    "PaperSGD": "keras_alexnet.training.optimizer",
    "PlateauState": "keras_alexnet.training.schedule",
    "TopKError": "keras_alexnet.training.metrics",
    "TrainConfig": "keras_alexnet.training.config",
    "TrainResult": "keras_alexnet.training.trainer",
    "apply_initialization": "keras_alexnet.training.initialization",
    "apply_paper_initialization": "keras_alexnet.training.initialization",
    "train": "keras_alexnet.training.trainer",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
