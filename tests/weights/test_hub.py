"""Push to and pull from a Hub-compatible server on 127.0.0.1 (tests/weights/hub_server.py)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import keras_alexnet
from keras_alexnet.weights.checksums import ChecksumMismatchError
from keras_alexnet.weights.hub import parse_hf_uri, resolve_hf_uri, resolve_registered_hub_copy
from keras_alexnet.weights.publish import push_to_hub
from keras_alexnet.weights.registry import HubLocation, get_weights_record
from keras_alexnet.weights.resolve import WeightsUnavailableError

CLASSES = 10


def _blob_count(path) -> int:
    return sum(1 for p in path.parent.parent.parent.joinpath("blobs").iterdir() if not p.name.endswith(".incomplete"))


def test_push_then_pull_is_bit_identical(pushed, checkpoint, live_hub, repo_id, assert_same_weights):
    directory, weights = checkpoint
    files = live_hub.files(repo_id)
    assert sorted(files) == sorted(p.name for p in directory.iterdir() if p.is_file())
    assert pushed.commit_sha == live_hub.repos[repo_id].branches["main"]
    assert pushed.commit_url.endswith(f"/{repo_id}/commit/{pushed.commit_sha}")
    assert pushed.weights_sha256 == json.loads((directory / "checksums.json").read_text())["model.weights.h5"]
    assert pushed.registry_snippet().count(pushed.commit_sha) == 1
    # the model card's YAML metadata was validated by the server
    assert live_hub.validated_cards and live_hub.validated_cards[-1]["library_name"] == "keras"

    model = keras_alexnet.AlexNet(weights=f"hf://{repo_id}", classes=CLASSES)
    assert_same_weights(model, weights)
    pinned = keras_alexnet.from_hub(repo_id, revision=pushed.commit_sha, classes=CLASSES)
    assert_same_weights(pinned, weights)
    notop = keras_alexnet.AlexNet(weights=f"hf://{repo_id}", include_top=False)
    assert len(notop.get_weights()) == 10


def test_keras_load_model_reads_a_pushed_checkpoint_as_its_backbone(pushed, checkpoint, repo_id):
    """A checkpoint is a KerasHub preset: Keras' own loader rebuilds its config.json, the conv stack."""
    import keras

    model = keras.saving.load_model(f"hf://{repo_id}", compile=False)
    assert model.name == "alex_net_backbone" and model.output.shape == (None, 6, 6, 256)
    conv_weights = checkpoint[1][:10]  # conv1..conv5 kernels and biases come first
    for got, expected in zip(model.get_weights(), conv_weights, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_wrong_class_count_names_both(pushed, repo_id):
    with pytest.raises(ValueError, match=r"10-class top.*Received: classes=1000"):
        keras_alexnet.AlexNet(weights=f"hf://{repo_id}", classes=1000)
    # Left unset, `classes` is the checkpoint's own.
    assert keras_alexnet.AlexNet(weights=f"hf://{repo_id}").output.shape == (None, CLASSES)
    with pytest.raises(ValueError, match=r"'torchvision' variant, not 'original'"):
        keras_alexnet.AlexNet(weights=f"hf://{repo_id}", variant="original", classes=CLASSES)


def test_push_writes_the_card_only_if_absent(pushed, checkpoint, live_hub, repo_id, tmp_path):
    import shutil

    edited = tmp_path / "ckpt"
    shutil.copytree(checkpoint[0], edited)
    (edited / "README.md").write_text("---\nlibrary_name: keras\n---\n# new card\n")
    live_hub.files(repo_id)["README.md"] = b"---\nlibrary_name: keras\n---\n# hand-written card\n"
    second = push_to_hub(edited, repo_id)
    assert not second.wrote_model_card
    assert b"hand-written" in live_hub.files(repo_id)["README.md"]
    third = push_to_hub(edited, repo_id, write_card=True)
    assert third.wrote_model_card
    assert b"# new card" in live_hub.files(repo_id)["README.md"]


def test_push_to_a_branch_and_pull_it(live_hub, checkpoint, repo_id, assert_same_weights):
    result = push_to_hub(checkpoint[0], repo_id, revision="v1")
    assert live_hub.repos[repo_id].branches["v1"] == result.commit_sha
    assert live_hub.files(repo_id, "main") == {}
    assert_same_weights(keras_alexnet.AlexNet(weights=f"hf://{repo_id}@v1", classes=CLASSES), checkpoint[1])


def test_push_sends_the_token_from_the_environment(pushed, live_hub):
    import os

    assert f"Bearer {os.environ['HF_TOKEN']}" in live_hub.auth_headers


def test_push_rejects_a_corrupted_checkpoint(live_hub, checkpoint, repo_id, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(checkpoint[0], bad)
    (bad / "keras_alexnet.json").write_text((bad / "keras_alexnet.json").read_text() + " ")
    with pytest.raises(ValueError, match="corrupted"):
        push_to_hub(bad, repo_id)
    assert repo_id not in live_hub.repos
    with pytest.raises(ValueError, match="not a keras_alexnet checkpoint"):
        push_to_hub(tmp_path, repo_id)


def test_corrupted_download_is_deleted_and_named(pushed, live_hub, repo_id, assert_same_weights, checkpoint):
    live_hub.corrupt.add("model.weights.h5")
    expected = pushed.weights_sha256
    with pytest.raises(ChecksumMismatchError) as info:
        resolve_hf_uri(f"hf://{repo_id}")
    message = str(info.value)
    assert expected in message and "model.weights.h5" in message and repo_id in message
    actual = message.split("sha256 is ")[1].split(",")[0]
    assert len(actual) == 64 and actual != expected
    # the bad file is gone from the cache; the next download (server fixed) works
    live_hub.corrupt.clear()
    model = keras_alexnet.AlexNet(weights=f"hf://{repo_id}", classes=CLASSES)
    assert_same_weights(model, checkpoint[1])


@pytest.mark.slow  # huggingface_hub retries the truncated 228 MB download (waits of 1 s: recorded, not slept)
def test_truncated_download_fails_and_leaves_the_cache_usable(
    pushed, live_hub, repo_id, assert_same_weights, checkpoint, hub_retry_waits
):
    import os

    live_hub.truncate.add("model.weights.h5")
    with pytest.raises(WeightsUnavailableError, match=rf"'model.weights.h5' of Hub repo '{repo_id}'"):
        resolve_hf_uri(f"hf://{repo_id}")
    assert hub_retry_waits  # it tried to resume before giving up
    # huggingface_hub resumes within one call (see the next test) and discards the partial file after
    # its retries: no partial file is ever where the weights are looked up
    cache = Path(os.environ["HF_HOME"]) / "hub" / f"models--{repo_id.replace('/', '--')}"
    assert not list(cache.glob("snapshots/*/model.weights.h5"))
    live_hub.truncate.clear()
    resolved = resolve_hf_uri(f"hf://{repo_id}")
    assert resolved.notop_path.stat().st_size == len(live_hub.files(repo_id)["model.weights.h5"])
    assert_same_weights(keras_alexnet.AlexNet(weights=f"hf://{repo_id}", classes=CLASSES), checkpoint[1])


def test_connection_dropped_once_is_resumed_within_one_call(pushed, live_hub, repo_id):
    live_hub.truncate_once.add("task.weights.h5")
    live_hub.range_requests.clear()
    resolved = resolve_hf_uri(f"hf://{repo_id}")
    size = len(live_hub.files(repo_id)["task.weights.h5"])
    assert resolved.task_path.stat().st_size == size
    # resumed with an HTTP Range request from where the connection dropped, not restarted
    starts = [int(rng[6:-1]) for path, rng in live_hub.range_requests if path.endswith("task.weights.h5")]
    assert starts and 0 < starts[0] <= size // 2


def test_missing_repo_revision_and_file(pushed, live_hub, repo_id):
    with pytest.raises(WeightsUnavailableError, match=r"'test-org/no-such-repo'.*does not exist.*offline"):
        resolve_hf_uri("hf://test-org/no-such-repo")
    with pytest.raises(WeightsUnavailableError, match=r"revision 'v9'.*revision does not exist"):
        resolve_hf_uri(f"hf://{repo_id}@v9")
    del live_hub.files(repo_id)["model.weights.h5"]
    live_hub.files(repo_id)["checksums.json"] = json.dumps({"keras_alexnet.json": "0" * 64}).encode()
    with pytest.raises(ChecksumMismatchError, match="keras_alexnet.json"):
        resolve_hf_uri(f"hf://{repo_id}")


def test_file_listed_but_missing(live_hub, checkpoint, repo_id):
    push_to_hub(checkpoint[0], repo_id)
    del live_hub.files(repo_id)["task.weights.h5"]
    with pytest.raises(WeightsUnavailableError, match=r"'task.weights.h5' of Hub repo .*has no such file"):
        resolve_hf_uri(f"hf://{repo_id}")


def test_offline_uses_the_cache_and_says_so_without_it(pushed, live_hub, repo_id, monkeypatch, checkpoint):
    resolve_hf_uri(f"hf://{repo_id}")  # fills the Hugging Face cache
    live_hub.stop()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    resolved = resolve_hf_uri(f"hf://{repo_id}")
    assert resolved.network.classes == CLASSES
    with pytest.raises(WeightsUnavailableError, match=r"offline mode is on.*HF_HUB_OFFLINE=1.*keras-alexnet convert"):
        resolve_hf_uri("hf://test-org/never-downloaded")


def test_unreachable_hub_names_repo_and_file(live_hub, hub_retry_waits):
    # huggingface_hub retries a refused connection with back-off (~25 s for a user; recorded, not slept, here)
    live_hub.stop()
    with pytest.raises(WeightsUnavailableError) as info:
        keras_alexnet.AlexNet(weights="hf://test-org/unreachable", include_top=False)
    assert len(hub_retry_waits) >= 3 and sum(hub_retry_waits) >= 7  # it retried, with back-off, before failing
    message = str(info.value)
    assert "'checksums.json' of Hub repo 'test-org/unreachable'" in message
    assert "cannot be reached" in message and "never falls back to random weights" in message


def test_registry_hub_copy_is_pinned_and_verified(pushed, repo_id, network, assert_same_weights, checkpoint):
    org, name = repo_id.split("/")
    base = dataclasses.replace(get_weights_record("torchvision_imagenet1k"), network=network, originals=())
    good = dataclasses.replace(
        base, hub=HubLocation(repo_name=name, revision=pushed.commit_sha, sha256=pushed.checksums_sha256)
    )
    resolved = resolve_registered_hub_copy(good, hub_org=org)
    assert pushed.commit_sha in str(resolved.notop_path)
    from keras_alexnet.pretrained import fetch_registered

    assert fetch_registered(good, hub_org=org).notop_path == resolved.notop_path

    wrong = dataclasses.replace(base, hub=dataclasses.replace(good.hub, sha256="0" * 64))
    with pytest.raises(ChecksumMismatchError, match=f"expected {'0' * 64}.*pinned in the keras_alexnet registry"):
        resolve_registered_hub_copy(wrong, hub_org=org)
    # no originals left to try: a clear error, never random weights
    with pytest.raises(WeightsUnavailableError, match="Hub copy: .*sha256"):
        fetch_registered(wrong, hub_org=org)
    # and the cache is still usable
    assert resolve_registered_hub_copy(good, hub_org=org).notop_path.is_file()


def test_hub_org_from_environment(monkeypatch):
    record = get_weights_record("imagenet")
    monkeypatch.setenv("KERAS_ALEXNET_HUB_ORG", "my-mirror")
    assert record.hub.repo_id() == "my-mirror/alexnet-bvlc-imagenet1k"
    assert record.hub.repo_id("explicit") == "explicit/alexnet-bvlc-imagenet1k"


@pytest.mark.parametrize("uri", ["hf://", "hf://only-name", "hf://a/b/c", "hf:///b"])
def test_bad_hf_uris(uri):
    with pytest.raises(ValueError, match="Received"):
        parse_hf_uri(uri)


def test_parse_hf_uri():
    assert parse_hf_uri("hf://a/b") == ("a/b", None)
    assert parse_hf_uri("hf://a/b@0123abc") == ("a/b", "0123abc")
