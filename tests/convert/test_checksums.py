"""Checksum verdicts against the registry's known originals, and the CLI's error path."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from keras_alexnet.convert.checksums import check_original
from keras_alexnet.weights.registry import Original, get_weights_record


def _record_with(original: Original):
    return dataclasses.replace(get_weights_record("bvlc_imagenet1k"), originals=(original,))


@pytest.fixture
def small_file(tmp_path):
    path = tmp_path / "some_download.onnx"
    path.write_bytes(b"pretend this is bvlcalexnet-12.onnx")
    return path


def test_verified_by_sha256_sha1_and_prefix(small_file):
    data = small_file.read_bytes()
    sha256, sha1 = hashlib.sha256(data).hexdigest(), hashlib.sha1(data).hexdigest()
    for fields in (dict(sha256=sha256, size=len(data)), dict(sha1=sha1.upper()), dict(sha256_prefix=sha256[:8])):
        record = _record_with(Original(url="https://example.invalid/x", format="onnx", filename="x.onnx", **fields))
        report = check_original(small_file, "onnx", record)
        assert report.verdict == "verified", fields
        assert report.record is record and report.sha256 == sha256 and report.size == len(data)
        assert "matches the known original of 'bvlc_imagenet1k'" in report.message


def test_wrong_size_or_format_is_not_verified(small_file):
    sha256 = hashlib.sha256(small_file.read_bytes()).hexdigest()
    original = Original(url="https://example.invalid/x", format="onnx", filename="x.onnx", sha256=sha256, size=1)
    assert check_original(small_file, "onnx", _record_with(original)).verdict == "unknown"
    original = dataclasses.replace(original, size=None)
    assert check_original(small_file, "caffe", _record_with(original)).verdict == "unknown"


def test_known_name_with_other_content_is_a_mismatch(tmp_path):
    path = tmp_path / "bvlc_alexnet.caffemodel"
    path.write_bytes(b"truncated download")
    report = check_original(path, "caffe")
    assert report.verdict == "mismatch" and report.record.name == "bvlc_imagenet1k"
    assert "9116a64c0fbe4459d18f4bb6b56d647b63920377" in report.message
    assert "NOT the published checkpoint" in report.message


def test_unknown_file(small_file):
    report = check_original(small_file, "onnx")
    assert report.verdict == "unknown" and report.record is None
    assert report.short_message == "not a known original: not a published checkpoint"


def test_cli_reports_errors_and_help(tmp_path, capsys):
    from keras_alexnet.cli.main import build_parser, main

    assert main(["convert", str(tmp_path / "missing.pth"), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("keras-alexnet convert: error: The file to convert does not exist")
    help_text = build_parser()._subparsers._group_actions[0].choices["convert"].format_help()
    assert "--from {onnx,torchvision,caffe}" in help_text and "--name" in help_text


def test_require_original_refuses_a_mismatch_before_converting(tmp_path):
    from keras_alexnet.convert import convert

    path = tmp_path / "bvlcalexnet-12.onnx"
    path.write_bytes(b"not the zoo file")
    with pytest.raises(
        ValueError, match=r"named like the original of 'bvlc_imagenet1k'.*known original is required.*Received: sha256"
    ):
        convert(path, tmp_path / "out", require_original=True)
    assert not (tmp_path / "out").exists()
