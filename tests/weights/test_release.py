"""`keras-alexnet release` end to end against the local Hub server, and Hub tags as a record's location.

Random-weight stand-ins of the BVLC originals (a zoo-structured ONNX file and a
caffemodel written from the same weights) are served over HTTP by the origin
server (tests/weights/origin_server.py); the record is registered under its real
name for the test (`register_weights(..., overwrite=True)`, restored after).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import numpy as np
import pytest
from origin_server import OriginServer

from keras_alexnet.cli.main import main
from keras_alexnet.release import (
    CROSS_CHECK_TOLERANCE,
    CrossCheck,
    compare_weights,
    release_card,
    require_cross_check,
    top_k,
)
from keras_alexnet.weights.hub import HubTagMovedError, resolve_registered_hub_copy
from keras_alexnet.weights.publish import check_tag_name, push_to_hub, set_tag
from keras_alexnet.weights.registry import HubLocation, Original, get_weights_record, register_weights
from keras_alexnet.weights.resolve import WeightsUnavailableError

NAME = "bvlc_imagenet1k"
ONNX_PATH = "/zoo/standin-bvlcalexnet-12.onnx"
CAFFE_PATH = "/caffe/standin_bvlc_alexnet.caffemodel"


# --- stand-ins of the originals --------------------------------------------------------------------------------


def _blob_bytes(array: np.ndarray) -> bytes:
    """A BlobProto (shape, packed float data) as bytes: the arrays are written raw, not value by value."""

    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            byte, n = n & 0x7F, n >> 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    def field(number: int, payload: bytes) -> bytes:
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    dims = b"".join(varint(d) for d in array.shape)
    return field(7, field(1, dims)) + field(5, np.ascontiguousarray(array, "<f4").tobytes())


def caffemodel_bytes(weights: dict[str, np.ndarray]) -> bytes:
    """A BVLC-structured caffemodel (current `layer` field) holding `weights` (OIHW, (out, in))."""
    from fixtures.reference_models import BVLC_CONVS

    from keras_alexnet.convert.caffe_proto import NetParameter

    net = NetParameter(name="CaffeNet")
    net.layer.add(name="data", type="Data", top=["data"])

    def add(name: str, kind: str, bottom: str, top: str | None = None):
        return net.layer.add(name=name, type=kind, bottom=[bottom], top=[top or name])

    x = "data"
    for name, out, _, kernel, stride, pad, group in BVLC_CONVS:
        conv = add(name, "Convolution", x)
        conv.convolution_param.num_output = out
        conv.convolution_param.kernel_size.append(kernel)
        conv.convolution_param.stride.append(stride)
        conv.convolution_param.pad.append(pad)
        conv.convolution_param.group = group
        for key in ("w", "b"):
            conv.blobs.add().MergeFromString(_blob_bytes(weights[f"{name}_{key}"]))
        add(f"relu{name[-1]}", "ReLU", name, name)
        x = name
        if name in ("conv1", "conv2"):
            lrn = add(f"norm{name[-1]}", "LRN", x)
            lrn.lrn_param.local_size, lrn.lrn_param.alpha, lrn.lrn_param.beta = 5, 1e-4, 0.75
            x = lrn.name
        if name in ("conv1", "conv2", "conv5"):
            pool = add(f"pool{name[-1]}", "Pooling", x)
            pool.pooling_param.kernel_size, pool.pooling_param.stride = 3, 2
            x = pool.name
    for name in ("fc6", "fc7", "fc8"):
        dense = add(name, "InnerProduct", x)
        dense.inner_product_param.num_output = weights[f"{name}_b"].shape[0]
        for key in ("w", "b"):
            dense.blobs.add().MergeFromString(_blob_bytes(weights[f"{name}_{key}"]))
        x = name
        if name != "fc8":
            add(f"relu{name[-1]}", "ReLU", x, x)
            add(f"drop{name[-1]}", "Dropout", x, x)
    add("prob", "Softmax", x)
    return net.SerializeToString()


@pytest.fixture(scope="module")
def bvlc_weights():
    from fixtures.reference_models import random_bvlc_weights

    return random_bvlc_weights(seed=12)


@pytest.fixture(scope="module")
def origin(bvlc_weights):
    """The origin server with the ONNX file (declared 224x224, batch 1, as in the zoo) and the caffemodel."""
    from fixtures.reference_models import build_bvlc_like_onnx

    onnx_bytes = build_bvlc_like_onnx(bvlc_weights, input_size=224, batch_size=1).SerializeToString()
    server = OriginServer({ONNX_PATH: onnx_bytes, CAFFE_PATH: caffemodel_bytes(bvlc_weights)}).start()
    yield server
    server.stop()


def _original(server: OriginServer, path: str, format: str) -> Original:
    data = server.files[path]
    return Original(
        url=server.url(path),
        format=format,
        filename=path.rsplit("/", 1)[1],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )


@pytest.fixture
def registered():
    """Register a modified BVLC record under its real name for one test, then restore the original."""
    real = get_weights_record(NAME)
    yield lambda record: register_weights(record, overwrite=True)
    register_weights(real, overwrite=True)


@pytest.fixture
def release_repo(live_hub, repo_id):
    """`repo_id`, dropped from the Hub server afterwards with the LFS objects only it holds (~0.5 GB a release)."""
    yield repo_id
    repo = live_hub.repos.pop(repo_id, None)
    if repo is not None:
        held = {id(data) for files in repo.commits.values() for data in files.values()}
        others = {id(d) for r in live_hub.repos.values() for files in r.commits.values() for d in files.values()}
        for oid in [oid for oid, data in live_hub.lfs_objects.items() if id(data) in held - others]:
            del live_hub.lfs_objects[oid]


def _ort_top5(onnx_model_bytes: bytes, sample_image_paths) -> dict[str, list[str]]:
    """Top-5 class ids of the sample images by ONNX Runtime, run here directly on a logits-output graph."""
    import onnxruntime as ort

    import keras_alexnet
    from keras_alexnet.image_io import load_image
    from keras_alexnet.imagenet import imagenet_classes

    # BVLC's evaluation: warped to 256x256, centre 227 crop, Caffe's BGR minus mean
    images = np.stack([load_image(p, size=227, resize=256, resize_mode="warp") for p in sample_image_paths])
    batch = keras_alexnet.preprocess_input(images, variant="original")
    session = ort.InferenceSession(onnx_model_bytes, providers=["CPUExecutionProvider"])
    logits = session.run(["fc8_1"], {"data_0": np.ascontiguousarray(batch.transpose(0, 3, 1, 2))})[0]
    wnids = [wnid for wnid, _ in imagenet_classes()]
    return {p.name: [wnids[i] for i in np.argsort(-row)[:5]] for p, row in zip(sample_image_paths, logits, strict=True)}


# --- release, end to end ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_release_end_to_end(
    origin, bvlc_weights, registered, live_hub, release_repo, tmp_path, capsys, sample_image_paths
):
    from fixtures.reference_models import build_bvlc_like_onnx

    from keras_alexnet.weights.cache import cache_dir

    onnx_original, caffe_original = _original(origin, ONNX_PATH, "onnx"), _original(origin, CAFFE_PATH, "caffe")
    record = dataclasses.replace(get_weights_record(NAME), originals=(onnx_original, caffe_original))
    registered(record)
    work = tmp_path / "work"
    argv = ["release", NAME, "--repo-id", release_repo, "--tag", "v1", "--work-dir", str(work), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    print(out)  # the report quotes it

    repo = live_hub.repos[release_repo]
    commit = repo.branches["main"]
    files = live_hub.files(release_repo)
    checksums_sha256 = hashlib.sha256(files["checksums.json"]).hexdigest()
    # the printed fields are the truth on the Hub: the pushed commit, the manifest's sha256, the tag pointing at it
    snippet = re.search(r"hub=HubLocation\((.*)\),", out).group(1)
    fields = dict(re.findall(r'(\w+)="([^"]*)"', snippet))
    assert fields == {
        "repo_name": release_repo.split("/")[1],
        "revision": commit,
        "filename": "checksums.json",
        "sha256": checksums_sha256,
        "tag": "v1",
    }
    assert repo.tags == {"v1": commit}
    assert f"tag v1: created at {commit}" in out
    # the two originals convert to identical weights; parity against ONNX Runtime on the two photographs
    assert "cross-check standin_bvlc_alexnet.caffemodel vs standin-bvlcalexnet-12.onnx: 16 arrays, " in out
    assert "largest |difference| 0 " in out and "parity vs ONNX Runtime on 2 real images" in out
    # the commit holds exactly the checkpoint's files, compared bit for bit after a pull into an empty cache
    checksums = json.loads(files["checksums.json"])
    assert set(files) == {*checksums, "checksums.json", "README.md"}
    assert f"into an empty cache: {len(files)} files, identical to the pushed ones" in out
    # the model card records the top-5 by ONNX Runtime; ONNX Runtime run here agrees
    card = files["README.md"].decode()
    reference = json.loads(re.search(r"```json\n(.*?)\n```", card, re.S).group(1))
    assert reference["runtime"] == "ONNX Runtime" and reference["original_sha256"] == onnx_original.sha256
    assert reference["preprocessing"].startswith("warp to 256x256, centre 227x227 crop, BGR")
    expected = _ort_top5(build_bvlc_like_onnx(bvlc_weights, logits_output=True).SerializeToString(), sample_image_paths)
    assert {image: [row[0] for row in rows] for image, rows in reference["images"].items()} == expected
    assert all(len(rows) == 5 and rows[0][2] >= rows[4][2] > 0 for rows in reference["images"].values())
    assert "standin_bvlc_alexnet.caffemodel: no reference predictions (caffe has no runtime here" in card
    assert card.index("## Reference predictions") < card.index("## Citation")
    # the scratch space and the downloaded originals are gone
    assert not any(work.iterdir())
    assert not (cache_dir() / "downloads" / onnx_original.filename).exists()
    # the fields were tried the way users resolve them (by the tag, sha256 checked) before they were printed
    assert f"resolved {NAME!r} with the new registry fields from the Hub (sha256 verified)" in out


@pytest.mark.slow
def test_release_refuses_originals_that_disagree(
    origin, bvlc_weights, registered, live_hub, release_repo, tmp_path, capsys
):
    different = dict(bvlc_weights, fc8_b=bvlc_weights["fc8_b"].copy())
    different["fc8_b"][7] += np.float32(1e-3)
    origin.files["/caffe/different.caffemodel"] = caffemodel_bytes(different)
    try:
        record = dataclasses.replace(
            get_weights_record(NAME),
            originals=(_original(origin, ONNX_PATH, "onnx"), _original(origin, "/caffe/different.caffemodel", "caffe")),
        )
        registered(record)
        argv = ["release", NAME, "--repo-id", release_repo, "--work-dir", str(tmp_path / "work"), "--no-progress"]
        assert main(argv) == 1
    finally:
        del origin.files["/caffe/different.caffemodel"]
    captured = capsys.readouterr()
    error = captured.err.strip().splitlines()[-1]
    assert error.startswith("keras-alexnet release: error: The originals standin-bvlcalexnet-12.onnx and ")
    assert "largest |difference| is 0.001 in predictions/bias" in error and "nothing was pushed" in error
    assert "Received:" in error and "Traceback" not in captured.err
    assert release_repo not in live_hub.repos  # nothing was pushed: the check comes before any write to the Hub


# --- the pieces of a release -------------------------------------------------------------------------------------


def test_compare_weights_names_the_largest_difference():
    import keras

    def model(bias: float):
        net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="a"), keras.layers.Dense(2, name="b")])
        net.set_weights([np.ones((3, 2)), np.zeros(2), np.ones((2, 2)), np.full(2, bias)])
        return net

    assert compare_weights(model(0.0), model(0.0)) == (4, 0.0, "a/kernel")
    arrays, largest, worst = compare_weights(model(0.0), model(0.25))
    assert (arrays, worst) == (4, "b/bias") and largest == pytest.approx(0.25)
    check = CrossCheck("x.onnx", "y.caffemodel", arrays, largest, worst)
    assert not check.ok() and "FAILED" in check.summary()
    with pytest.raises(
        ValueError,
        match=r"largest \|difference\| is 0.25 in b/bias, above the tolerance 1e-06.*"
        r"Received: cross-check y.caffemodel vs x.onnx",
    ):
        require_cross_check(check)
    require_cross_check(CrossCheck("x.onnx", "y.caffemodel", 4, CROSS_CHECK_TOLERANCE, "a/kernel"))


def test_top_k_and_the_card_section():
    labels = [(f"n{i:08d}", f"label {i}, more") for i in range(10)]
    rows = top_k(np.array([0, 1, 9, 3, 0, 0, 0, 0, 0, 2], np.float32), labels, k=3)
    assert [row[0] for row in rows] == ["n00000002", "n00000003", "n00000009"]
    assert rows[0][2] == pytest.approx(np.exp(9) / np.exp([0, 1, 9, 3, 0, 0, 0, 0, 0, 2]).sum(), abs=1e-6)
    card = release_card("---\n---\n# AlexNet\n\n## Citation\n\nbib\n", "parity ok", [], [], ["x.caffemodel: skipped"])
    assert card.index("## Release checks") < card.index("## Citation")
    assert "- cross-check: only one original was reachable" in card and "- x.caffemodel: skipped" in card


def test_tag_names():
    assert check_tag_name("v1") == "v1"
    for bad in ("main", "a/b", "", "-v1", "0" * 40, "v 1"):
        with pytest.raises(ValueError, match="short name such as 'v1'.*Received: tag="):
            check_tag_name(bad)


def test_release_cli_reports_bad_arguments_in_one_line(capsys):
    assert main(["release", NAME, "--repo-id", "no-slash"]) == 1
    assert capsys.readouterr().err.strip() == (
        "keras-alexnet release: error: `--repo-id` must look like 'org/name'. Received: repo_id='no-slash'"
    )
    assert main(["release", NAME, "--repo-id", "org/name", "--tag", "main"]) == 1
    assert "error: A release tag is a short name" in capsys.readouterr().err
    assert main(["release", "no-such-weights", "--repo-id", "org/name"]) == 1
    assert "Unknown weights name" in capsys.readouterr().err


# --- Hub tags as a record's location -----------------------------------------------------------------------------


def _tagged_record(network, repo_id: str, pushed, tag: str = "v1"):
    base = dataclasses.replace(get_weights_record("torchvision_imagenet1k"), network=network, originals=())
    location = HubLocation(repo_name=repo_id.split("/")[1], revision=pushed.commit_sha, sha256=pushed.checksums_sha256)
    return dataclasses.replace(base, hub=dataclasses.replace(location, tag=tag))


def _commit_on_server(hub, repo_id: str, **changed: bytes) -> str:
    """A new commit of `repo_id` on the server with some files replaced (as a repo owner's push would make)."""
    import secrets

    repo = hub.repos[repo_id]
    sha = secrets.token_hex(20)
    repo.commits[sha] = {**repo.commits[repo.branches["main"]], **changed}
    repo.branches["main"] = sha
    return sha


@pytest.mark.slow
def test_a_tag_moved_to_other_weights_is_refused(pushed, live_hub, repo_id, network):
    from keras_alexnet.pretrained import fetch_registered

    org = repo_id.split("/")[0]
    assert set_tag(repo_id, "v1", pushed.commit_sha) is None
    record = _tagged_record(network, repo_id, pushed)
    assert record.hub.published and record.hub.download_revision == "v1"
    assert pushed.commit_sha in str(resolve_registered_hub_copy(record, hub_org=org).notop_path)

    # the owner moves the tag to a commit with a new model card only: same weights, accepted
    card_only = _commit_on_server(live_hub, repo_id, **{"README.md": b"---\nlibrary_name: keras\n---\n# edited\n"})
    assert set_tag(repo_id, "v1", card_only) == pushed.commit_sha
    assert live_hub.repos[repo_id].tags["v1"] == card_only
    assert card_only in str(resolve_registered_hub_copy(record, hub_org=org).notop_path)

    # ... and then to other weights (pushed with their own checksums.json): refused, naming the tag, the repo,
    # both sha256s of the manifest and the fix
    weights = live_hub.files(repo_id)["model.weights.h5"]
    other = weights[:-1] + bytes([weights[-1] ^ 1])
    checksums = json.loads(live_hub.files(repo_id)["checksums.json"])
    checksums["model.weights.h5"] = hashlib.sha256(other).hexdigest()
    manifest = (json.dumps(checksums, indent=2) + "\n").encode()
    moved = _commit_on_server(live_hub, repo_id, **{"model.weights.h5": other, "checksums.json": manifest})
    set_tag(repo_id, "v1", moved)
    actual = hashlib.sha256(manifest).hexdigest()
    with pytest.raises(HubTagMovedError) as info:
        resolve_registered_hub_copy(record, hub_org=org)
    message = str(info.value)
    for part in (f"Hub tag 'v1' of repo {repo_id!r}", f"commit {moved}", actual, pushed.checksums_sha256):
        assert part in message
    assert f"weights='hf://{repo_id}@{pushed.commit_sha}'" in message and message.endswith(f"-> sha256 {actual}")
    # weights="NAME" never uses it: with no original to fall back on, the one-line failure says why
    with pytest.raises(WeightsUnavailableError, match=r"Hub copy: Hub tag 'v1' .* was moved to other weights"):
        fetch_registered(record, hub_org=org, progress=False)


def test_release_fields_name_the_tag(checkpoint, live_hub, repo_id):
    result = push_to_hub(checkpoint[0], repo_id, replace_all=True)
    assert result.registry_fields() == {
        "repo_name": repo_id.split("/")[1],
        "revision": result.commit_sha,
        "filename": "checksums.json",
        "sha256": result.checksums_sha256,
    }
    assert result.registry_snippet("v1").endswith(f'sha256="{result.checksums_sha256}", tag="v1")')
    location = HubLocation(**result.registry_fields("v1"))
    assert location.published and location.download_revision == "v1"
    assert location.to_dict("org")["tag"] == "v1"
    # replace_all: files of an earlier layout do not linger in the commit
    live_hub.files(repo_id)["old-layout.json"] = b"{}"
    push_to_hub(checkpoint[0], repo_id, replace_all=True)
    assert "old-layout.json" not in live_hub.files(repo_id)
