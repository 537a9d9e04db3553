"""The paper's training recipe (issue 4): initialisation, PaperSGD, plateau schedule, distribution, resume.

Example:

>>> from keras_alexnet.training import PaperSGD, TrainConfig
>>> PaperSGD().get_config()["weight_decay"], TrainConfig().epochs
(0.0005, 90)
"""

from keras_alexnet.training.config import TrainConfig
from keras_alexnet.training.initialization import apply_initialization, apply_paper_initialization
from keras_alexnet.training.loop import CustomLoop
from keras_alexnet.training.metrics import TopKError
from keras_alexnet.training.optimizer import PaperSGD
from keras_alexnet.training.schedule import PaperLRSchedule, PlateauState
from keras_alexnet.training.trainer import TrainResult, train

__all__ = [
    "CustomLoop",
    "PaperLRSchedule",
    "PaperSGD",
    "PlateauState",
    "TopKError",
    "TrainConfig",
    "TrainResult",
    "apply_initialization",
    "apply_paper_initialization",
    "train",
]
