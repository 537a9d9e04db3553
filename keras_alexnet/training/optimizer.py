"""The paper's update rule: SGD with momentum and weight decay *through* the momentum.

Section 5 of the paper:

    v <- 0.9 * v - 0.0005 * eps * w - eps * dL/dw
    w <- w + v

The decay term enters the velocity, so it is accelerated by the momentum like
the gradient (it is L2 regularisation folded into the gradient). Keras'
`SGD(weight_decay=...)` instead shrinks `w` directly (decoupled decay), which
is a different optimiser; `PaperSGD` implements the rule above. Variables can
be excluded from the decay with `exclude_from_weight_decay(var_names=[...])`
(by default every trainable variable, biases included, is decayed, as the
update rule is written).

Example:

>>> import keras
>>> from keras_alexnet.training.optimizer import PaperSGD
>>> w = keras.Variable([1.0])
>>> opt = PaperSGD(learning_rate=0.1, momentum=0.9, weight_decay=0.5)
>>> opt.apply([keras.ops.convert_to_tensor([2.0])], [w])
>>> round(float(w.numpy()[0]), 6)  # v = -0.5*0.1*1 - 0.1*2 = -0.25
0.75
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_alexnet")
class PaperSGD(keras.optimizers.Optimizer):
    """SGD with momentum and L2 weight decay applied through the momentum (Krizhevsky et al. 2012).

    Args:
        learning_rate: epsilon (float or schedule). The paper: 0.01.
        momentum: the paper: 0.9.
        weight_decay: the paper: 0.0005 (coupled, see the module docstring). 0 disables it.
        **kwargs: the base `keras.optimizers.Optimizer` arguments (clipnorm, ...), except
            Keras' own decoupled `weight_decay`.
    """

    def __init__(self, learning_rate=0.01, momentum: float = 0.9, weight_decay: float = 0.0005, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name or "paper_sgd", weight_decay=None, **kwargs)
        if not isinstance(momentum, int | float) or not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float in [0, 1]. Received: momentum={momentum!r}")
        if not isinstance(weight_decay, int | float) or weight_decay < 0:
            raise ValueError(f"`weight_decay` must be a float >= 0. Received: weight_decay={weight_decay!r}")
        self.momentum = float(momentum)
        self.paper_weight_decay = float(weight_decay)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.velocities = self.add_optimizer_variables(variables, "velocity")

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if self.paper_weight_decay and self._use_weight_decay(variable):
            gradient = ops.add(gradient, ops.multiply(ops.cast(self.paper_weight_decay, variable.dtype), variable))
        velocity = self.velocities[self._get_variable_index(variable)]
        momentum = ops.cast(self.momentum, variable.dtype)
        self.assign(velocity, ops.subtract(ops.multiply(velocity, momentum), ops.multiply(gradient, learning_rate)))
        self.assign_add(variable, velocity)

    def get_config(self):
        config = super().get_config()
        config.pop("weight_decay", None)
        config.update({"momentum": self.momentum, "weight_decay": self.paper_weight_decay})
        return config
