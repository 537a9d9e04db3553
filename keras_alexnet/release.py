"""Release a registered checkpoint on the Hugging Face Hub, checked end to end (`keras-alexnet release`).

`release(name, repo_id)` runs, in order, and stops at the first failure (nothing
is pushed before every check on this machine has passed):

1. fetch every reachable public original of the record (`keras_alexnet.weights.fetch`'s
   download and checksum verification; an unreachable one is reported and skipped);
2. convert each (in memory) and, when more than one is reachable (BVLC: the ONNX file
   and the caffemodel), compare the Keras weights array by array (`cross_check`: the
   largest |difference| and the array it is in; above `CROSS_CHECK_TOLERANCE` it fails);
3. write the first original's checkpoint (the layout is `keras_alexnet.weights.checkpoint`'s)
   and verify its logits against the original's own runtime on two real photographs
   (`keras_alexnet.convert.verify.verify_parity`: ONNX Runtime / PyTorch);
4. record in the model card the top-5 labels and scores of the bundled sample images
   (`keras_alexnet.samples`) computed by each original's own runtime (ONNX Runtime for the
   ONNX file, PyTorch for torchvision's `.pth`; a caffemodel is skipped: there is no Caffe
   runtime here, and the cross-check ties it to the ONNX file's numbers);
5. push the checkpoint in one commit that holds exactly its files (`push_to_hub(replace_all=True)`),
   and create or move the Hub tag when one is given (`publish.set_tag`);
6. pull the commit back (by the tag, if given) into an empty Hugging Face cache and compare
   every file bit for bit with what was pushed, then resolve the record with the new fields
   (`HubLocation(revision=..., sha256=..., tag=...)`) the way users will;
7. return the fields to paste into the registry (`ReleaseResult.registry_snippet()`).

Example:

>>> from keras_alexnet.release import CrossCheck
>>> CrossCheck("a.onnx", "b.caffemodel", 16, 0.0, "conv1/kernel").summary()
'cross-check b.caffemodel vs a.onnx: 16 arrays, largest |difference| 0 (conv1/kernel), tolerance 1e-06: ok'
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from keras_alexnet.convert import assemble, verify
from keras_alexnet.convert.api import converter_available, converter_for
from keras_alexnet.convert.verify import verify_parity
from keras_alexnet.errors import check_free_space
from keras_alexnet.eval_preprocessing import eval_preprocessing
from keras_alexnet.image_io import load_image
from keras_alexnet.labels import class_labels as labels_of
from keras_alexnet.preprocessing import preprocess_input
from keras_alexnet.pretrained import check_converted
from keras_alexnet.samples import sample_image_paths
from keras_alexnet.weights.cache import cache_dir
from keras_alexnet.weights.checkpoint import (
    MODEL_CARD_FILENAME,
    checkpoint_bytes,
    sha256_file,
    verify_checksums,
    write_checkpoint,
)
from keras_alexnet.weights.checksums import ChecksumMismatchError
from keras_alexnet.weights.download import DownloadError
from keras_alexnet.weights.fetch import download_original
from keras_alexnet.weights.hub import resolve_registered_hub_copy
from keras_alexnet.weights.publish import PushResult, check_tag_name, push_to_hub, set_tag
from keras_alexnet.weights.registry import HubLocation, Original, WeightsRecord, get_weights_record, hub_org
from keras_alexnet.weights.resolve import WeightsUnavailableError

#: The largest |difference| allowed between the Keras weights converted from two originals of one checkpoint.
#: The originals are float32 copies of the same trained blobs and the converters only transpose and reshape, so
#: the arrays agree exactly (0.0, as with the test stand-ins); 1e-6 admits re-encoding noise of a few float32
#: ulps of AlexNet's largest weights (|w| < 1, ulp(1) = 1.2e-7), yet refuses any other checkpoint: a float16 copy
#: already differs by ~1e-5 at |w| = 0.01, another training snapshot or a fine-tune by far more.
CROSS_CHECK_TOLERANCE = 1e-6
#: How many labels per image the model card records.
TOP_K = 5
#: The runtime that computes an original's reference predictions (no Caffe runtime here: skipped).
REFERENCE_RUNTIMES = {"onnx": "ONNX Runtime", "torchvision": "PyTorch"}
#: A file the Hub keeps in every repository, which is not part of a checkpoint.
HUB_FILES = frozenset({".gitattributes"})


@dataclasses.dataclass(frozen=True)
class FetchedOriginal:
    """A public original on this machine, checksum-verified; `downloaded` when the release fetched it."""

    original: Original
    path: Path
    checksum: str
    downloaded: bool


@dataclasses.dataclass(frozen=True)
class CrossCheck:
    """How the Keras weights converted from `other` compare with those from `reference`."""

    reference: str
    other: str
    arrays: int
    max_abs_diff: float
    worst_array: str

    def ok(self, tolerance: float = CROSS_CHECK_TOLERANCE) -> bool:
        return self.max_abs_diff <= tolerance

    def summary(self, tolerance: float = CROSS_CHECK_TOLERANCE) -> str:
        return (
            f"cross-check {self.other} vs {self.reference}: {self.arrays} arrays, largest |difference| "
            f"{self.max_abs_diff:.3g} ({self.worst_array}), tolerance {tolerance:g}: "
            f"{'ok' if self.ok(tolerance) else 'FAILED'}"
        )


@dataclasses.dataclass(frozen=True)
class ReferencePredictions:
    """Top-k labels and scores of the sample images, by an original's own runtime."""

    original: str
    sha256: str
    runtime: str
    preprocessing: str  # the checkpoint's evaluation preprocessing, as `EvalPreprocessing.describe()` says it
    images: dict[str, list[tuple[str, str, float]]]  # image name -> [(class id, label, probability)]
    image_sha256: dict[str, str]

    def to_dict(self) -> dict:
        return {
            "original": self.original,
            "original_sha256": self.sha256,
            "runtime": self.runtime,
            "preprocessing": self.preprocessing,
            "scores": "softmax probabilities of the logits",
            "images": {name: [list(row) for row in rows] for name, rows in self.images.items()},
            "image_sha256": dict(self.image_sha256),
        }


@dataclasses.dataclass(frozen=True)
class ReleaseResult:
    """What a release pushed, how it was checked, and the registry fields that pin it."""

    record: str
    pushed: PushResult
    tag: str | None
    tag_previous: str | None
    pulled_files: tuple[str, ...]
    cross_checks: tuple[CrossCheck, ...]
    references: tuple[ReferencePredictions, ...]

    @property
    def fields(self) -> dict[str, str]:
        """The `HubLocation` fields to record: repo_name, revision (the pushed commit), filename, sha256, tag."""
        return self.pushed.registry_fields(self.tag)

    def registry_snippet(self) -> str:
        return self.pushed.registry_snippet(self.tag)


def fetch_originals(record: WeightsRecord, *, progress: bool = True) -> tuple[list[FetchedOriginal], list[str]]:
    """Download and verify every reachable original of `record`; return them and what failed, per original."""
    fetched, failures = [], []
    for original in record.originals:
        if not converter_available(original.format):
            failures.append(f"{original.filename}: skipped, the {original.format} converter is unavailable here")
            continue
        try:
            fetched.append(_fetch_one(original, progress=progress))
        except (DownloadError, ChecksumMismatchError, WeightsUnavailableError) as error:
            failures.append(f"{original.filename}: {error}")
    return fetched, failures


def _fetch_one(original: Original, *, progress: bool) -> FetchedOriginal:
    """One original through fetch.py's download (resume, checksum); a file already there is verified, not refetched.

    `downloaded` (removed after the release) only for a file the release itself put into keras_alexnet's
    downloads folder; a Hub-hosted original stays in the Hugging Face cache, which Hub tools manage.
    """
    ours = cache_dir() / "downloads" / original.filename
    existed = ours.is_file()
    path = download_original(original, progress=progress)
    return FetchedOriginal(original, path, original.checksum, downloaded=not existed and path == ours)


def convert_in_memory(fetched: FetchedOriginal, record: WeightsRecord):
    """`(keras.Model, NetworkRecord)` converted from `fetched`, checked to be the network of `record`."""
    model, network = converter_for(fetched.original.format)(fetched.path)
    if network.to_dict() != record.network.to_dict():
        raise ValueError(
            f"{fetched.path.name} converts to the network {network.to_dict()}, but {record.name!r} is "
            f"{record.network.to_dict()}; it is not an original of this record. Received: {fetched.path}"
        )
    assemble.check_metadata(model, network, str(fetched.path))
    return model, network


def compare_weights(reference_model, other_model) -> tuple[int, float, str]:
    """`(arrays, largest |difference|, the array it is in)` between two models of the same architecture."""
    reference, other = _weights_by_path(reference_model), _weights_by_path(other_model)
    if reference.keys() != other.keys():
        raise ValueError(
            "The two converted models do not have the same weights: "
            f"{sorted(reference.keys() ^ other.keys())}. Received: {len(reference)} and {len(other)} arrays"
        )
    worst, largest = "", -1.0
    for name, array in reference.items():
        if array.shape != other[name].shape:
            raise ValueError(f"Weights {name!r} differ in shape. Received: {array.shape} and {other[name].shape}")
        difference = float(np.max(np.abs(array.astype(np.float64) - other[name]), initial=0.0))
        if difference > largest:
            worst, largest = name, difference
    return len(reference), largest, worst


def _weights_by_path(model) -> dict[str, np.ndarray]:
    """A model's weights by variable path ("conv1/kernel"), without the model's own name in front."""
    prefix = f"{model.name}/"
    return {w.path.removeprefix(prefix): np.asarray(w) for w in model.weights}


def cross_check(reference: FetchedOriginal, reference_model, other: FetchedOriginal, other_model) -> CrossCheck:
    arrays, largest, worst = compare_weights(reference_model, other_model)
    return CrossCheck(reference.path.name, other.path.name, arrays, largest, worst)


def require_cross_check(check: CrossCheck, tolerance: float = CROSS_CHECK_TOLERANCE) -> None:
    """Raise ValueError when two originals of one checkpoint convert to different weights."""
    if not check.ok(tolerance):
        raise ValueError(
            f"The originals {check.reference} and {check.other} do not convert to the same Keras weights: the "
            f"largest |difference| is {check.max_abs_diff:.3g} in {check.worst_array}, above the tolerance "
            f"{tolerance:g}; they are not the same checkpoint, so nothing was pushed. Check the registry's "
            f"originals (`keras-alexnet weights --json`) and their checksums. Received: {check.summary(tolerance)}"
        )


def sample_batch(network) -> tuple[list[Path], np.ndarray, str]:
    """The bundled sample photographs prepared as `network`'s source evaluated (`keras_alexnet.eval_preprocessing`).

    Returns the paths, the NHWC batch and the preprocessing in words: what `keras-alexnet predict` does by default
    for that checkpoint, so its top-5 can be compared with the card's.
    """
    paths = sample_image_paths()
    images = np.stack([load_image(p, weights=network) for p in paths])
    batch = preprocess_input(images, mode=network.preprocessing)
    return paths, batch, eval_preprocessing(network).describe()


def reference_predictions(fetched: FetchedOriginal, network, top: int = TOP_K) -> ReferencePredictions | None:
    """Top-`top` of the sample images by `fetched`'s own runtime; None for a format without one here (Caffe)."""
    runtime = REFERENCE_RUNTIMES.get(fetched.original.format)
    if runtime is None:
        return None
    paths, batch, preprocessing = sample_batch(network)
    nchw = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
    if fetched.original.format == "onnx":
        logits = verify._onnx_logits(verify._load_onnx(fetched.path), nchw)
    else:
        logits = verify._torch_logits(fetched.path, nchw)
    labels = class_labels(network)
    return ReferencePredictions(
        original=fetched.path.name,
        sha256=sha256_file(fetched.path),
        runtime=runtime,
        preprocessing=preprocessing,
        images={path.name: top_k(row, labels, top) for path, row in zip(paths, logits, strict=True)},
        image_sha256={path.name: sha256_file(path) for path in paths},
    )


def class_labels(network) -> list[tuple[str, str]]:
    """(class id, readable label) of each output, as `keras_alexnet.labels` names them."""
    return [(label.id, label.name) for label in labels_of(network)]


def top_k(logits: np.ndarray, labels: list[tuple[str, str]], k: int = TOP_K) -> list[tuple[str, str, float]]:
    """The `k` most probable classes of one image's logits: (class id, label, softmax probability to 6 places)."""
    shifted = np.asarray(logits, np.float64) - np.max(logits)
    probabilities = np.exp(shifted) / np.exp(shifted).sum()
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(labels[i][0], labels[i][1], round(float(probabilities[i]), 6)) for i in order]


def release_card(card: str, parity_summary: str, checks: list[CrossCheck], references: list, skipped: list[str]) -> str:
    """The model card `card` with the release's checks and the reference predictions inserted before its citation."""
    lines = ["## Release checks", "", f"- {parity_summary}"]
    lines += [f"- {check.summary()}" for check in checks] or ["- cross-check: only one original was reachable"]
    lines += ["", "## Reference predictions", ""]
    lines += [
        "Top-5 of the sample photographs bundled with keras_alexnet (`keras_alexnet.samples`, scikit-learn's "
        "china.jpg and flower.jpg), computed by the original's own runtime, not by keras_alexnet; any later "
        "conversion can be checked against them.",
        "",
    ]
    for reference in references:
        lines += [
            f"By {reference.runtime} on `{reference.original}` (sha256 {reference.sha256}); images prepared as "
            f"the checkpoint's source evaluated: {reference.preprocessing}:",
            "",
        ]
        lines += ["| image | rank | class | label | probability |", "|---|---|---|---|---|"]
        for image, rows in reference.images.items():
            for rank, (class_id, label, probability) in enumerate(rows, 1):
                lines.append(f"| {image} | {rank} | {class_id} | {label} | {probability:.6f} |")
        lines += ["", "```json", json.dumps(reference.to_dict(), indent=1), "```", ""]
    lines += [f"- {reason}" for reason in skipped]
    section = "\n".join(lines).rstrip() + "\n\n"
    head, marker, tail = card.partition("## Citation")
    return head + section + marker + tail if marker else card.rstrip() + "\n\n" + section


def write_release_checkpoint(model, network, record: WeightsRecord, fetched: FetchedOriginal, directory: Path):
    """Write the checkpoint of `model` and verify it against `fetched`'s own runtime; return the ParityReport."""
    write_checkpoint(model, directory, network, record=record)
    check_converted(directory, record)
    parity = verify_parity(directory, fetched.path, fetched.original.format)
    if not parity.ok():
        raise ValueError(
            f"The checkpoint converted from {fetched.path.name} does not reproduce its original: "
            f"{parity.summary()}; nothing was pushed. Received: {fetched.path}"
        )
    return parity


def checkpoint_files(directory: Path) -> dict[str, Path]:
    """Every file of a checkpoint directory (or a Hub snapshot of one), by its path relative to `directory`."""
    return {p.relative_to(directory).as_posix(): p for p in sorted(directory.rglob("*")) if p.is_file()}


def compare_pulled(pushed: Path, pulled: Path) -> list[str]:
    """Raise ValueError unless `pulled` holds exactly `pushed`'s files, byte for byte; return their names."""
    import filecmp

    mine = checkpoint_files(pushed)
    theirs = {name: path for name, path in checkpoint_files(pulled).items() if name not in HUB_FILES}
    if mine.keys() != theirs.keys():
        raise ValueError(
            f"The commit pulled back from the Hub does not hold the pushed files: missing "
            f"{sorted(mine.keys() - theirs.keys())}, extra {sorted(theirs.keys() - mine.keys())}. Received: {pulled}"
        )
    differ = [name for name in mine if not filecmp.cmp(mine[name], theirs[name], shallow=False)]
    if differ:
        raise ValueError(
            f"Files pulled back from the Hub differ from the pushed ones: {differ}. Do not pin this commit; "
            f"release again. Received: {pulled}"
        )
    verify_checksums(pulled)
    return sorted(mine)


def pull_back(repo_id: str, revision: str, cache_dir: Path, *, token: str | None = None) -> Path:
    """Download the whole commit `revision` of `repo_id` into the (empty) Hugging Face cache `cache_dir`."""
    from huggingface_hub import snapshot_download

    if cache_dir.exists() and any(cache_dir.iterdir()):
        raise ValueError(f"The pull-back cache must be empty, to compare what the Hub serves. Received: {cache_dir}")
    return Path(snapshot_download(repo_id, revision=revision, cache_dir=cache_dir, token=token))


def published_record(record: WeightsRecord, fields: dict[str, str]) -> WeightsRecord:
    """`record` with the Hub location the release printed."""
    return dataclasses.replace(record, hub=HubLocation(**fields))


@contextlib.contextmanager
def _work_directory(work_dir: str | os.PathLike | None) -> Iterator[Path]:
    """A scratch directory for the checkpoint and the pulled copy, removed afterwards (the checks cost ~1 GB)."""
    parent = Path(work_dir) if work_dir is not None else cache_dir()
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".release.", dir=parent) as tmp:
        yield Path(tmp)


def release(
    name: str | WeightsRecord,
    repo_id: str,
    *,
    tag: str | None = None,
    private: bool | None = None,
    work_dir: str | os.PathLike | None = None,
    tolerance: float = CROSS_CHECK_TOLERANCE,
    keep_originals: bool = False,
    progress: bool = True,
    token: str | None = None,
    say: Callable[[str], None] = print,
) -> ReleaseResult:
    """Fetch, convert, cross-check, verify, push, tag, pull back and compare the registered weights `name`.

    See the module docstring for the steps. `say` receives one line per step.
    Raises ValueError (nothing pushed) when no original is reachable, two
    originals disagree, or the conversion does not reproduce its original.
    """
    record = get_weights_record(name) if isinstance(name, str) else name
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(f"`--repo-id` must look like 'org/name'. Received: repo_id={repo_id!r}")
    if tag is not None:
        check_tag_name(tag)
    fetched, failures = fetch_originals(record, progress=progress)
    for line in failures:
        say(f"original unavailable: {line}")
    if not fetched:
        raise ValueError(
            f"No original of {record.name!r} could be fetched, so nothing was released: "
            f"{'; '.join(failures) or 'the record lists none'}. Received: {record.name!r}"
        )
    try:
        for item in fetched:
            say(f"original {item.path.name} ({item.original.format}, {item.checksum} verified)")
        primary, model, network, checks = _convert_and_cross_check(record, fetched, tolerance, say)
        with _work_directory(work_dir) as work:
            check_free_space(work, 2 * checkpoint_bytes(model), "a release (the checkpoint and its pulled copy)")
            checkpoint = work / "checkpoint"
            parity = write_release_checkpoint(model, network, record, primary, checkpoint)
            del model
            say(parity.summary())
            references, skipped = _references(fetched, network, say)
            card_path = checkpoint / MODEL_CARD_FILENAME
            card = release_card(card_path.read_text(encoding="utf-8"), parity.summary(), checks, references, skipped)
            card_path.write_text(card, encoding="utf-8")
            pushed = push_to_hub(
                checkpoint,
                repo_id,
                private=private,
                write_card=True,
                replace_all=True,
                commit_message=f"Release {record.name} (keras-alexnet release)",
                token=token,
            )
            say(f"pushed: {pushed.commit_url}")
            previous = None
            if tag is not None:
                previous = set_tag(repo_id, tag, pushed.commit_sha, token=token, message=f"{record.name} release")
                say(_tag_line(tag, previous, pushed.commit_sha))
            revision = tag or pushed.commit_sha
            pulled = pull_back(repo_id, revision, work / "hf_cache", token=token)
            if pulled.name != pushed.commit_sha:
                raise ValueError(
                    f"Hub revision {revision!r} of {repo_id} resolves to commit {pulled.name}, not the pushed "
                    f"{pushed.commit_sha}. Received: {revision!r}"
                )
            files = compare_pulled(checkpoint, pulled)
            say(
                f"pulled back {repo_id}@{revision} (commit {pulled.name}) into an empty cache: {len(files)} files, "
                "identical to the pushed ones"
            )
            fields = pushed.registry_fields(tag)
            org = repo_id.split("/")[0]
            resolve_registered_hub_copy(published_record(record, fields), hub_org=org, cache_dir=work / "hf_cache")
            say(f"resolved {record.name!r} with the new registry fields from the Hub (sha256 verified)")
    finally:
        if not keep_originals:
            for item in fetched:
                if item.downloaded:
                    item.path.unlink(missing_ok=True)
    return ReleaseResult(
        record=record.name,
        pushed=pushed,
        tag=tag,
        tag_previous=previous,
        pulled_files=tuple(files),
        cross_checks=tuple(checks),
        references=tuple(references),
    )


def _convert_and_cross_check(record, fetched, tolerance, say):
    """Convert the first original and cross-check every other one against it (each other model is dropped)."""
    primary = fetched[0]
    model, network = convert_in_memory(primary, record)
    checks = []
    for other in fetched[1:]:
        other_model, _ = convert_in_memory(other, record)
        check = cross_check(primary, model, other, other_model)
        del other_model
        say(check.summary(tolerance))
        require_cross_check(check, tolerance)
        checks.append(check)
    if len(fetched) == 1:
        say("cross-check: skipped, only one original is reachable")
    return primary, model, network, checks


def _references(fetched, network, say) -> tuple[list[ReferencePredictions], list[str]]:
    references, skipped = [], []
    for item in fetched:
        reference = reference_predictions(item, network)
        if reference is None:
            skipped.append(
                f"{item.path.name}: no reference predictions ({item.original.format} has no runtime here; "
                "the cross-check ties its weights to the other originals')"
            )
            say(f"reference top-{TOP_K}: skipped for {item.path.name} (no {item.original.format} runtime here)")
            continue
        references.append(reference)
        for image, rows in reference.images.items():
            best = ", ".join(f"{label.split(',')[0]} {probability:.4f}" for _, label, probability in rows)
            say(f"reference top-{TOP_K} by {reference.runtime} on {image}: {best}")
    return references, skipped


def _tag_line(tag: str, previous: str | None, commit: str) -> str:
    if previous is None:
        return f"tag {tag}: created at {commit}"
    if previous == commit:
        return f"tag {tag}: already at {commit}"
    return f"tag {tag}: moved from {previous} to {commit}"


def org_note(repo_id: str) -> str | None:
    """A line for the registry when `repo_id`'s organisation is not the default one records resolve to."""
    org = repo_id.split("/")[0]
    if org == hub_org():
        return None
    return f"(the repo is in {org!r}, not {hub_org()!r}: set KERAS_ALEXNET_HUB_ORG={org} or pass hub_org)"
