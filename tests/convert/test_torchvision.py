"""torchvision state dict -> `keras-alexnet convert` -> Keras, against PyTorch on real images."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import max_abs_err

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def random_pth(tmp_path_factory):
    """A random TorchvisionAlexNet state dict saved with torch.save, and the dict itself."""
    from fixtures.reference_models import random_torchvision_state_dict

    state = random_torchvision_state_dict(seed=1)
    path = tmp_path_factory.mktemp("tv") / "random_alexnet.pth"
    torch.save(state, path)
    return path, state


@pytest.mark.slow
def test_cli_convert_matches_pytorch_logits_on_real_images(random_pth, torch_batch, tmp_path, capsys):
    from fixtures.reference_models import TorchvisionAlexNet, random_torchvision_state_dict

    import keras_alexnet
    from keras_alexnet.cli.main import main
    from keras_alexnet.convert.verify import verify_parity

    path, state = random_pth
    out = tmp_path / "ckpt"
    assert main(["convert", "--from", "torchvision", str(path), "-o", str(out), "--verify"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"converted {path} (torchvision; sha256 ")
    assert "not a known original" in line and "61,100,840 parameters" in line and line.endswith(" s")
    assert "parity vs PyTorch on 2 real images" in line and "top-1 agrees: ok]" in line

    reference = TorchvisionAlexNet()
    reference.load_state_dict(state)
    reference.eval()
    with torch.no_grad():
        expected = reference(torch.from_numpy(torch_batch.transpose(0, 3, 1, 2).copy())).numpy()
    model = keras_alexnet.AlexNet(weights=out, classifier_activation=None)
    assert model.count_params() == 61_100_840
    logits = model.predict(torch_batch, verbose=0)
    assert np.std(expected) > 0.5  # the logits are not trivially small: 1e-4 is a real bound
    assert max_abs_err(logits, expected) <= 1e-4
    assert (np.argmax(logits, 1) == np.argmax(expected, 1)).all()

    # The verification can fail: this checkpoint does not reproduce an original with other weights.
    other = tmp_path / "other.pth"
    torch.save(random_torchvision_state_dict(seed=7), other)
    report = verify_parity(out, other, "torchvision")
    assert not report.ok() and report.max_abs_logit_err > 0.1 and "FAILED" in report.summary()


@pytest.mark.slow
def test_failed_verification_leaves_the_existing_checkpoint(random_pth, tmp_path, monkeypatch):
    """With verify=True a checkpoint that fails the parity check never replaces what is at out_dir."""
    from keras_alexnet.convert import api
    from keras_alexnet.convert.verify import ParityReport

    out = tmp_path / "ckpt"
    out.mkdir()
    (out / "good.txt").write_text("the previous, good checkpoint")
    (out / "keras_alexnet.json").write_text("{}")  # marks it as an earlier checkpoint, which may be replaced
    monkeypatch.setattr(api, "verify_parity", lambda *args: ParityReport("PyTorch", 2, 0.5, False))
    with pytest.raises(ValueError, match=r"does not reproduce its original: .*FAILED.*Nothing was written"):
        api.convert(random_pth[0], out, verify=True, verify_checksum=False)
    assert sorted(p.name for p in out.iterdir()) == ["good.txt", "keras_alexnet.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no staging directory left behind


def test_wrong_keys_are_a_clear_error(random_pth):
    from keras_alexnet.convert.torchvision_converter import source_weights_from_state_dict

    _, state = random_pth
    broken = {k: v for k, v in state.items() if k != "features.8.weight"}
    broken["features.9.weight"] = state["features.8.weight"]
    with pytest.raises(ValueError, match=r"missing keys \['features.8.weight'\].*features.9.weight.*Received"):
        source_weights_from_state_dict(broken, "the test dict")


def test_data_parallel_prefix_is_removed(random_pth):
    from keras_alexnet.convert.torchvision_converter import source_weights_from_state_dict

    _, state = random_pth
    source = source_weights_from_state_dict({f"module.{k}": v for k, v in state.items()}, "a DataParallel dict")
    np.testing.assert_array_equal(source.convs[2][0], state["features.6.weight"].numpy())
    np.testing.assert_array_equal(source.denses[2][1], state["classifier.6.bias"].numpy())


def test_wrong_shapes_are_a_clear_error(random_pth):
    from keras_alexnet.convert.torchvision_converter import keras_model_from_torchvision

    _, state = random_pth
    broken = dict(state, **{"features.3.weight": torch.zeros(192, 64, 3, 3)})
    with pytest.raises(ValueError, match=r"conv2 kernel has shape \(192, 64, 3, 3\), expected \(192, 64, 5, 5\)"):
        keras_model_from_torchvision(broken)


def test_wrong_record_is_refused(random_pth, tmp_path):
    from keras_alexnet.convert import convert_file

    path, _ = random_pth
    with pytest.raises(ValueError, match=r"'bvlc_imagenet1k' is converted from \['caffe', 'onnx'\] originals"):
        convert_file(path, tmp_path / "ckpt", record="bvlc_imagenet1k")
    assert not (tmp_path / "ckpt").exists()


def test_a_non_state_dict_file_is_a_clear_error(tmp_path):
    from keras_alexnet.convert.torchvision_converter import keras_model_from_torchvision

    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(ValueError, match="holds a list, not a state dict"):
        keras_model_from_torchvision(path)
