"""Building the model an analysis runs on, and knowing what its weights expect.

`load_model(weights, variant)` returns the AlexNet and the `NetworkRecord` of
its weights (variant, preprocessing, channel order), so that every analysis
prepares its input and reads its kernels the way the checkpoint was trained.
`weights=None` gives a randomly initialised network, seeded for determinism.

Example:

>>> from keras_alexnet.analysis.model_io import load_model
>>> model, network = load_model(None, variant="torchvision", seed=0)
>>> network.channel_order, model.name
('RGB', 'alexnet_torchvision')
"""

from __future__ import annotations

import os

import keras

from keras_alexnet.weights.network import NetworkRecord


def weights_network(weights: str | os.PathLike | None, variant: str | None = None) -> NetworkRecord:
    """The NetworkRecord behind `weights` (a checkpoint's own, else the variant's defaults)."""
    if weights is not None:
        from keras_alexnet.pretrained import resolve_weights

        resolved = resolve_weights(weights)
        if resolved.network is not None:
            return resolved.network
    return NetworkRecord(variant=variant or "original")


def load_model(
    weights: str | os.PathLike | None,
    variant: str | None = None,
    *,
    include_top: bool = True,
    seed: int | None = 0,
    **kwargs,
) -> tuple[keras.Model, NetworkRecord]:
    """Build AlexNet with `weights` (None: random, seeded by `seed`) and return it with its NetworkRecord."""
    from keras_alexnet.applications import AlexNet

    if weights is not None and not os.path.exists(os.fspath(weights)):
        from keras_alexnet.weights.registry import is_registered

        text = os.fspath(weights)
        if not is_registered(text) and not text.startswith("hf://"):
            raise FileNotFoundError(
                f"No such weights file or checkpoint directory, and not a registered weights name "
                f"(see `keras-alexnet weights`). Received: weights={text!r}"
            )
    if weights is None and seed is not None:
        keras.utils.set_random_seed(seed)
    model = AlexNet(
        include_top=include_top,
        weights=weights,
        variant=variant if weights is None else (variant or None),
        **kwargs,
    )
    from keras_alexnet.models import network_record

    return model, network_record(model)
