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

BVLC's Caffe solver for its reference AlexNet (`models/bvlc_alexnet/train_val.prototxt`)
gives every bias `lr_mult: 2, decay_mult: 0`: twice the learning rate and no
weight decay. `bias_lr_mult` and `bias_decay_mult` are those multipliers (Caffe's
rule, `v <- mu v - lr_mult eps (dL/dw + decay_mult wd w)`); a bias is a variable
named `bias` (the Keras name of every Dense and Conv bias). Defaults 1 and 1:
the paper's rule, unchanged.

Example:

>>> import keras
>>> from keras_alexnet.training.optimizer import PaperSGD
>>> w = keras.Variable([1.0])
>>> opt = PaperSGD(learning_rate=0.1, momentum=0.9, weight_decay=0.5)
>>> opt.apply([keras.ops.convert_to_tensor([2.0])], [w])
>>> round(float(w.numpy()[0]), 6)  # v = -0.5*0.1*1 - 0.1*2 = -0.25
0.75
>>> b = keras.Variable([1.0], name="bias")
>>> opt = PaperSGD(learning_rate=0.1, momentum=0.9, weight_decay=0.5, bias_lr_mult=2, bias_decay_mult=0)
>>> opt.apply([keras.ops.convert_to_tensor([2.0])], [b])
>>> round(float(b.numpy()[0]), 6)  # v = -2*0.1*2 = -0.4 (no decay)
0.6
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
        bias_lr_mult: the biases' learning rate is `bias_lr_mult * learning_rate` (the paper: 1; BVLC's
            Caffe solver: 2).
        bias_decay_mult: the biases' weight decay is `bias_decay_mult * weight_decay` (the paper: 1;
            BVLC's Caffe solver: 0).
        **kwargs: the base `keras.optimizers.Optimizer` arguments (clipnorm, ...), except
            Keras' own decoupled `weight_decay`.
    """

    def __init__(
        self,
        learning_rate=0.01,
        momentum: float = 0.9,
        weight_decay: float = 0.0005,
        bias_lr_mult: float = 1.0,
        bias_decay_mult: float = 1.0,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name or "paper_sgd", weight_decay=None, **kwargs)
        checks = (
            ("momentum", momentum, 0 <= _number(momentum) <= 1, "a float in [0, 1]"),
            ("weight_decay", weight_decay, _number(weight_decay) >= 0, "a float >= 0"),
            ("bias_lr_mult", bias_lr_mult, _number(bias_lr_mult) > 0, "a float > 0 (BVLC's solver: 2)"),
            ("bias_decay_mult", bias_decay_mult, _number(bias_decay_mult) >= 0, "a float >= 0 (BVLC's solver: 0)"),
        )
        for field, value, ok, expected in checks:
            if not ok:
                raise ValueError(f"`{field}` must be {expected}. Received: {field}={value!r}")
        self.momentum = float(momentum)
        self.paper_weight_decay = float(weight_decay)
        self.bias_lr_mult = float(bias_lr_mult)
        self.bias_decay_mult = float(bias_decay_mult)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.velocities = self.add_optimizer_variables(variables, "velocity")
        # Keys (as `_var_key` gives them, also for a distributed variable's components) of the biases.
        self._bias_keys = frozenset(self._var_key(v) for v in variables if is_bias(v))

    def update_step(self, gradient, variable, learning_rate):
        bias = self._var_key(variable) in self._bias_keys
        lr_mult = self.bias_lr_mult if bias else 1.0
        decay = self.paper_weight_decay * (self.bias_decay_mult if bias else 1.0)
        learning_rate = ops.multiply(ops.cast(learning_rate, variable.dtype), ops.cast(lr_mult, variable.dtype))
        gradient = ops.cast(gradient, variable.dtype)
        if decay and self._use_weight_decay(variable):
            gradient = ops.add(gradient, ops.multiply(ops.cast(decay, variable.dtype), variable))
        velocity = self.velocities[self._get_variable_index(variable)]
        momentum = ops.cast(self.momentum, variable.dtype)
        self.assign(velocity, ops.subtract(ops.multiply(velocity, momentum), ops.multiply(gradient, learning_rate)))
        self.assign_add(variable, velocity)

    def get_config(self):
        config = super().get_config()
        config.pop("weight_decay", None)
        config.update(
            {
                "momentum": self.momentum,
                "weight_decay": self.paper_weight_decay,
                "bias_lr_mult": self.bias_lr_mult,
                "bias_decay_mult": self.bias_decay_mult,
            }
        )
        return config


def is_bias(variable) -> bool:
    """True for a bias: a variable named `bias` (Keras' Dense, Conv2D and keras_alexnet's GroupedConv2D)."""
    return str(getattr(variable, "path", None) or variable.name).rsplit("/", 1)[-1].split(":")[0] == "bias"


def _number(value) -> float:
    """`value` as a float for the range checks (NaN, which fails them all, for anything not a real number)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("nan")
