"""The whole network (LRN + two towers) on the JAX and PyTorch backends gives TensorFlow's outputs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from keras_alexnet import AlexNet

_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras
    from keras_alexnet import AlexNet
    weights, inputs, output = sys.argv[1:4]
    model = AlexNet(weights=weights, include_top=False, input_shape=(99, 99, 3), pooling="avg")
    assert keras.backend.backend() == sys.argv[4], keras.backend.backend()
    np.save(output, keras.ops.convert_to_numpy(model(np.load(inputs))))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backend_matches_tensorflow(tmp_path, backend):
    pytest.importorskip(backend)
    model = AlexNet(include_top=False, input_shape=(99, 99, 3), pooling="avg")
    weights = tmp_path / "notop.weights.h5"
    model.save_weights(weights)
    x = (np.random.default_rng(0).normal(size=(2, 99, 99, 3)) * 50).astype("float32")
    np.save(tmp_path / "x.npy", x)
    subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(weights), str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), backend],
        env=dict(os.environ, KERAS_BACKEND=backend),
        check=True,
        timeout=600,
        capture_output=True,
    )
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model(x).numpy(), rtol=1e-4, atol=1e-5)
