"""Convert torchvision's AlexNet weights (`alexnet-owt-7be5be79.pth`) to Keras.

The file is a plain state dict; it is read with
`torch.load(path, weights_only=True, map_location="cpu")`, which unpickles
tensors only (never arbitrary objects). Keys must be exactly torchvision's
(`features.0/3/6/8/10`, `classifier.1/4/6`, each `.weight` and `.bias`; a
`module.` prefix from `DataParallel` is removed).

Example:

>>> from keras_alexnet.convert.verify_networks import TorchvisionAlexNet
>>> from keras_alexnet.convert.torchvision_converter import keras_model_from_torchvision
>>> model, network = keras_model_from_torchvision(TorchvisionAlexNet().state_dict())  # torch's random weights
>>> network.variant, network.preprocessing, model.count_params()
('torchvision', 'torch', 61100840)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch  # at module level: `keras_alexnet.weights.fetch` tests that this module imports

from keras_alexnet.convert import assemble

CONV_KEYS = ("features.0", "features.3", "features.6", "features.8", "features.10")
DENSE_KEYS = ("classifier.1", "classifier.4", "classifier.6")
EXPECTED_KEYS = tuple(f"{layer}.{p}" for layer in (*CONV_KEYS, *DENSE_KEYS) for p in ("weight", "bias"))


def load_state_dict(source) -> tuple[Mapping, str]:
    """Load a state dict from a path (tensors only) or pass a mapping through; returns (dict, description)."""
    if isinstance(source, Mapping):
        return source, "the torchvision state dict"
    path = Path(os.fspath(source))
    if not path.is_file():
        raise ValueError(f"The PyTorch file {path} does not exist. Received: {os.fspath(source)!r}")

    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as error:  # pickle, zip and weights_only errors all mean "not a plain state dict"
        raise ValueError(
            f"{path} is not a PyTorch state dict that can be loaded safely (weights_only=True): {error}. "
            f"Received: {path}"
        ) from error
    if not isinstance(state, Mapping):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict. Received: {path}")
    return state, str(path)


def keras_model_from_torchvision(source):
    """Convert torchvision AlexNet weights (path or state dict) to `(keras.Model, NetworkRecord)`."""
    state, description = load_state_dict(source)
    return assemble.to_keras(source_weights_from_state_dict(state, description))


def source_weights_from_state_dict(state: Mapping, description: str) -> assemble.SourceWeights:
    """Check the keys of a torchvision AlexNet state dict and return its arrays."""
    state = {k.removeprefix("module."): v for k, v in state.items()}
    missing = [k for k in EXPECTED_KEYS if k not in state]
    unexpected = [k for k in state if k not in EXPECTED_KEYS]
    if missing or unexpected:
        raise ValueError(
            f"{description} is not torchvision's AlexNet state dict: missing keys {missing}, unexpected keys "
            f"{unexpected[:10]}. torchvision's has {list(EXPECTED_KEYS)}. Received: keys {list(state)[:10]}"
        )
    arrays = {k: _to_numpy(v) for k, v in state.items()}
    convs = [(arrays[f"{k}.weight"], arrays[f"{k}.bias"]) for k in CONV_KEYS]
    denses = [(arrays[f"{k}.weight"], arrays[f"{k}.bias"]) for k in DENSE_KEYS]
    return assemble.SourceWeights(variant="torchvision", convs=convs, denses=denses, lrn=None, source=description)


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().to("cpu").float().numpy()
    return np.asarray(value, dtype=np.float32)
