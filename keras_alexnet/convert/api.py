"""`convert_file`: one public original in, one verified keras_alexnet checkpoint out.

Steps: detect the format (from the extension unless given), compare the file's
checksum with the registry's known originals (a mismatch or an unknown file is
a warning, never an error), convert with the format's converter, check the
converted network (variant, parameter count, output shape, finite weights, and
that it is the network of the requested record), then write the checkpoint
atomically (`keras_alexnet.outputs`) (a failure never leaves a partial directory
where a good checkpoint was).

Example:

>>> import tempfile, torch, pathlib
>>> from keras_alexnet.convert import convert_file
>>> from keras_alexnet.convert.verify_networks import TorchvisionAlexNet
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> _ = torch.manual_seed(0)
>>> torch.save(TorchvisionAlexNet().state_dict(), tmp / "random.pth")  # torch's random initial weights
>>> import warnings; warnings.simplefilter("ignore")  # "random.pth is not a known original"
>>> convert_file(tmp / "random.pth", tmp / "ckpt").name
'ckpt'
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import time
import warnings
from pathlib import Path

from keras_alexnet.convert import assemble
from keras_alexnet.convert.checksums import ChecksumReport, check_original
from keras_alexnet.convert.verify import ParityReport, verify_parity
from keras_alexnet.outputs import check_output, publish, staging_directory
from keras_alexnet.weights.checkpoint import CHECKPOINT_KIND, checkpoint_bytes, is_checkpoint_dir, write_checkpoint
from keras_alexnet.weights.network import NetworkRecord
from keras_alexnet.weights.registry import WeightsRecord, get_weights_record

logger = logging.getLogger("keras_alexnet.convert")

#: The converter of each source format: `module:function`, imported when used (each needs its optional
#: dependencies: onnx / torch / protobuf). The one dispatch table: `convert` and `converter_available` read it.
CONVERTERS = {
    "onnx": "keras_alexnet.convert.onnx_converter:keras_model_from_onnx",
    "torchvision": "keras_alexnet.convert.torchvision_converter:keras_model_from_torchvision",
    "caffe": "keras_alexnet.convert.caffe_converter:keras_model_from_caffe",
}
FORMATS = tuple(CONVERTERS)
EXTENSIONS = {".onnx": "onnx", ".pth": "torchvision", ".pt": "torchvision", ".caffemodel": "caffe"}


class UnverifiedOriginalWarning(UserWarning):
    """The converted file is not (checksum-verified as) a known public original."""


@dataclasses.dataclass(frozen=True)
class ConversionResult:
    """What `convert` did: the source, its checksum verdict, and the checkpoint it wrote."""

    source: Path
    source_format: str
    out_dir: Path
    network: NetworkRecord
    parameters: int
    checksum: ChecksumReport | None
    seconds: float
    parity: ParityReport | None = None

    def summary(self) -> str:
        """One line: what was converted, how it compares with the known original, how long it took."""
        if self.checksum is None:
            check = "checksum not compared (--no-checksum)"
        else:
            check = f"sha256 {self.checksum.sha256[:12]}..., {self.checksum.short_message}"
        parity = f"; {self.parity.summary()}" if self.parity is not None else ""
        return (
            f"converted {self.source} ({self.source_format}; {check}) -> {self.out_dir} "
            f"[{self.network.variant} variant, {self.network.classes} classes, {self.parameters:,} parameters"
            f"{parity}] in {self.seconds:.1f} s"
        )


def detect_format(path: Path, source_format: str | None = None) -> str:
    """The source format: `source_format` if given, else from the file extension."""
    if source_format is not None:
        if source_format not in FORMATS:
            raise ValueError(f"Unknown source format; expected one of {FORMATS}. Received: {source_format!r}")
        return source_format
    suffix = path.suffix.lower()
    if suffix not in EXTENSIONS:
        raise ValueError(
            f"Cannot tell the format of {path.name} from its extension (known: {sorted(EXTENSIONS)}); "
            f"pass source_format= (or --from) one of {FORMATS}. Received: {os.fspath(path)!r}"
        )
    return EXTENSIONS[suffix]


def converter_for(source_format: str):
    """The `keras_model_from_*` function of a format (`CONVERTERS`)."""
    module, _, function = CONVERTERS[detect_format(Path(), source_format)].partition(":")
    return getattr(importlib.import_module(module), function)


def converter_available(source_format: str) -> bool:
    """Whether the converter of `source_format` can be imported here (torch / onnx / protobuf installed)."""
    try:
        converter_for(source_format)
    except (ImportError, ValueError, KeyError):
        return False
    return True


def convert(
    src: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    source_format: str | None = None,
    record: WeightsRecord | str | None = None,
    verify_checksum: bool = True,
    verify: bool = False,
    require_original: bool = False,
    overwrite: bool = False,
) -> ConversionResult:
    """Convert `src` to a checkpoint directory `out_dir`; see `convert_file`.

    With `verify=True` the checkpoint is written to a staging directory first,
    its logits on the two sample photographs are compared with an independent
    run of the original (`keras_alexnet.convert.verify`), and it replaces
    `out_dir` only if they agree (max abs difference <= 1e-4, same top-1).
    With `require_original=True`, a file whose checksum does not match a known
    original is an error instead of a warning (for publishing).
    `out_dir` may be absent, empty or an earlier checkpoint; anything else is
    refused before converting (`ExistingOutputError`) unless `overwrite`.
    """
    start = time.perf_counter()
    path = Path(os.fspath(src))
    out_dir = Path(os.fspath(out_dir))
    check_output(out_dir, is_checkpoint_dir, CHECKPOINT_KIND, overwrite=overwrite)
    if not path.is_file():
        raise ValueError(
            f"The file to convert does not exist: {path}. Download the original first (see "
            f"`keras-alexnet weights` or weights/README.md). Received: src={os.fspath(src)!r}"
        )
    source_format = detect_format(path, source_format)
    record = get_weights_record(record) if isinstance(record, str) else record
    if record is not None and source_format not in {o.format for o in record.originals}:
        formats = sorted({o.format for o in record.originals})
        raise ValueError(
            f"{record.name!r} is converted from {formats} originals, not from {source_format}. Pass the record "
            f"this file is the original of, or none. Received: record={record.name!r}, format={source_format!r}"
        )
    report = check_original(path, source_format, record) if verify_checksum or require_original else None
    if require_original and report.verdict != "verified":
        raise ValueError(
            f"{path.name}: {report.short_message}; a known original is required (require_original). Download it "
            f"again from the URL in the registry (`keras-alexnet weights --json`). Received: sha256 {report.sha256}"
        )
    if report is not None and report.verdict != "verified":
        logger.warning(report.message)
        warnings.warn(report.message, UnverifiedOriginalWarning, stacklevel=3)
    model, network = converter_for(source_format)(path)
    if record is None and report is not None and report.verdict == "verified":
        record = report.record
    if record is not None and record.network.to_dict() != network.to_dict():
        raise ValueError(
            f"{path.name} converts to the network {network.to_dict()}, but {record.name!r} is "
            f"{record.network.to_dict()}. Pass the record this file is the original of, or none. "
            f"Received: record={record.name!r}"
        )
    assemble.check_metadata(model, network, str(path))
    # The model card names the record only for the record's original (or when the caller vouches for the file).
    card_record = record if report is None or report.verdict == "verified" else None
    out_dir = Path(os.fspath(out_dir))
    parity = None
    check_output(out_dir, is_checkpoint_dir, CHECKPOINT_KIND, overwrite=overwrite)
    parity = None
    needed = checkpoint_bytes(model)
    with staging_directory(
        out_dir.parent, out_dir.name, "convert", needed_bytes=needed, what="a checkpoint"
    ) as staging:
        checkpoint = write_checkpoint(model, staging / "checkpoint", network, record=card_record)
        if verify:
            parity = verify_parity(checkpoint, path, source_format)
            if not parity.ok():
                raise ValueError(
                    f"The checkpoint converted from {path} does not reproduce its original: {parity.summary()}. "
                    f"Nothing was written to {out_dir}. Received: {path}"
                )
        publish(checkpoint, out_dir, is_checkpoint_dir, CHECKPOINT_KIND, overwrite=overwrite)
    return ConversionResult(
        source=path,
        source_format=source_format,
        out_dir=out_dir,
        network=network,
        parameters=model.count_params(),
        checksum=report,
        seconds=time.perf_counter() - start,
        parity=parity,
    )


def convert_file(
    src: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    source_format: str | None = None,
    record: WeightsRecord | str | None = None,
    verify_checksum: bool = True,
    verify: bool = False,
    overwrite: bool = False,
) -> Path:
    """Convert a public original (ONNX, torchvision `.pth`, Caffe `.caffemodel`) to a checkpoint directory.

    Args:
        src: the original file.
        out_dir: the checkpoint directory to write; if it exists it must be empty or an
            earlier checkpoint (replaced atomically), unless `overwrite`.
        source_format: "onnx", "torchvision" or "caffe"; from the extension
            (.onnx, .pth/.pt, .caffemodel) when None.
        record: the `WeightsRecord` (or its name) `src` is the original of; its
            checksums are checked and its model card written. Defaults to the
            record whose original the file's checksum matches, if any.
        verify_checksum: compare the file with the known originals; a file that
            is not one is converted all the same, with a
            `UnverifiedOriginalWarning` and a log line.
        verify: before writing `out_dir`, compare the checkpoint's logits on
            two real photographs with an independent run of `src` (ONNX
            Runtime, PyTorch) and refuse to write it unless they agree.
        overwrite: replace whatever is at `out_dir`, even if it is not a checkpoint.

    Returns:
        `out_dir`, as a `Path`.
    """
    return convert(
        src,
        out_dir,
        source_format=source_format,
        record=record,
        verify_checksum=verify_checksum,
        verify=verify,
        overwrite=overwrite,
    ).out_dir
