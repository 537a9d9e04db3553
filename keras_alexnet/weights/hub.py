"""Pull checkpoints from the Hugging Face Hub (`hf://org/repo[@revision]`), verified before use.

Files are downloaded with `huggingface_hub.hf_hub_download` (its cache, resumed
downloads, `HF_HUB_OFFLINE`, the token from `HF_TOKEN` / `hf auth login`; the
token is never printed). Every file is checked against the sha256 in the
checkpoint's `checksums.json` (and, for a registry record, the weights file
against the sha256 the registry pins) before the weights are used; a file that
fails is deleted from the cache and the error names both hashes.

A repository's files are not trusted: `checksums.json` and `keras_alexnet.json`
must be small JSON objects of the right shape (a malformed or hostile one is a
`keras_alexnet.errors.DamagedFileError` naming the repo, and is deleted from
the cache), only the checkpoint's own file names are ever downloaded or read,
and a file the Hub announces as larger than a checkpoint's files can be
(`MAX_FILE_BYTES`) is refused before it is downloaded.

A record's Hub copy may be named by a tag (`HubLocation.tag`, e.g. "v1"): the tag
is downloaded, and the weights must still have the sha256 the registry pins; a tag
moved to other weights is refused (`HubTagMovedError`, naming the tag, the repo,
both sha256s and the fix).

Example:

>>> from keras_alexnet.weights.hub import parse_hf_uri
>>> parse_hf_uri("hf://keras-alexnet/alexnet-bvlc-imagenet1k@main")
('keras-alexnet/alexnet-bvlc-imagenet1k', 'main')
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from pathlib import Path

from keras_alexnet.errors import MAX_JSON_BYTES, DamagedFileError, format_bytes
from keras_alexnet.weights.checkpoint import (
    CHECKSUMS_FILENAME,
    LOADED_FILES,
    SIZES_FILENAME,
    read_checksums,
    sha256_file,
)
from keras_alexnet.weights.checksums import ChecksumMismatchError
from keras_alexnet.weights.network import NETWORK_FILENAME, NetworkRecord
from keras_alexnet.weights.registry import WeightsRecord
from keras_alexnet.weights.resolved import (
    HF_PREFIX,
    ResolvedWeights,
    WeightsUnavailableError,
    read_checkpoint_dir,
)

#: Files downloaded from a Hub checkpoint, in order (after checksums.json): the sizes, then what loading reads.
DOWNLOADED_FILES = (SIZES_FILENAME, *LOADED_FILES)
_TRUE = ("1", "on", "yes", "true")
#: The most bytes a checkpoint file on the Hub may have: AlexNet's float32 weights are about 245 MB.
MAX_FILE_BYTES = {CHECKSUMS_FILENAME: MAX_JSON_BYTES, SIZES_FILENAME: MAX_JSON_BYTES, NETWORK_FILENAME: MAX_JSON_BYTES}
MAX_WEIGHTS_BYTES = 2 * 1000**3


def parse_hf_uri(uri: str) -> tuple[str, str | None]:
    """Split `hf://org/repo[@revision]` into `(repo_id, revision)`."""
    if not uri.startswith(HF_PREFIX):
        raise ValueError(f"A Hub URI starts with 'hf://', e.g. 'hf://org/repo@main'. Received: {uri!r}")
    repo_id, _, revision = uri[len(HF_PREFIX) :].partition("@")
    repo_id = repo_id.strip("/")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(f"A Hub URI names one repository: 'hf://org/repo[@revision]'. Received: {uri!r}")
    return repo_id, revision or None


def is_offline() -> bool:
    """True when `HF_HUB_OFFLINE` is set (read now, not only when huggingface_hub was imported)."""
    from huggingface_hub import constants

    return os.environ.get("HF_HUB_OFFLINE", "").lower() in _TRUE or bool(constants.HF_HUB_OFFLINE)


def offline_help(repo_id: str) -> str:
    return (
        "To work offline: download once with network access (the Hugging Face cache keeps the files and "
        "HF_HUB_OFFLINE=1 then uses them), or copy the checkpoint directory to this machine and pass its path "
        f"(`weights='/path/to/checkpoint'`), or convert an original you have with `keras-alexnet convert` "
        f"or `keras-alexnet weights fetch NAME --from FILE`. (Repository: {repo_id}.) "
        "keras_alexnet never falls back to random weights."
    )


class PinnedChecksumMismatchError(ChecksumMismatchError):
    """A downloaded file's sha256 differs from the one the keras_alexnet registry pins (the file was deleted)."""

    def __init__(self, message: str, *, filename: str, expected: str, actual: str, commit: str):
        super().__init__(message)
        self.filename, self.expected, self.actual, self.commit = filename, expected, actual, commit


class HubTagMovedError(ChecksumMismatchError):
    """A record's Hub tag now points at weights other than the ones the registry pins: refused."""


def download_file(
    repo_id: str,
    filename: str,
    revision: str | None,
    *,
    token: str | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """`hf_hub_download` of one file, with errors that name the repo, the revision and the file.

    `cache_dir` is a Hugging Face cache other than the default (`keras-alexnet release` pulls into an empty one).
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{filename!r} of Hub repo {repo_id!r} at revision {revision or 'main'!r}"
    offline = is_offline()
    try:
        if not offline:
            _check_announced_size(repo_id, filename, revision, token, where)
        return Path(
            hf_hub_download(
                repo_id, filename, revision=revision, token=token, local_files_only=offline, cache_dir=cache_dir
            )
        )
    except GatedRepoError as error:
        raise WeightsUnavailableError(
            f"Cannot download {where}: the repo is gated; accept its terms on the Hub and set HF_TOKEN. "
            f"{offline_help(repo_id)}"
        ) from error
    except RepositoryNotFoundError as error:
        raise WeightsUnavailableError(
            f"Cannot download {where}: the repository does not exist (or is private and no token is set: "
            f"set HF_TOKEN or run `hf auth login`). {offline_help(repo_id)}"
        ) from error
    except RevisionNotFoundError as error:
        raise WeightsUnavailableError(
            f"Cannot download {where}: the revision does not exist in the repository. {offline_help(repo_id)}"
        ) from error
    except LocalEntryNotFoundError as error:
        reason = (
            "offline mode is on (HF_HUB_OFFLINE) and the file is not in the Hugging Face cache"
            if is_offline()
            else "the Hub cannot be reached and the file is not in the Hugging Face cache"
        )
        raise WeightsUnavailableError(f"Cannot download {where}: {reason}. {offline_help(repo_id)}") from error
    except EntryNotFoundError as error:
        raise WeightsUnavailableError(
            f"Cannot download {where}: the repository has no such file; is it a keras_alexnet checkpoint "
            f"(written by `keras-alexnet push`)? {offline_help(repo_id)}"
        ) from error
    except (HfHubHTTPError, OSError, *_transport_errors()) as error:
        raise WeightsUnavailableError(
            f"Cannot download {where}: {type(error).__name__}: {error}. {offline_help(repo_id)}"
        ) from error


def _check_announced_size(repo_id: str, filename: str, revision: str | None, token: str | None, where: str) -> None:
    """Refuse, before downloading, a file the Hub announces as larger than a checkpoint's file can be."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError

    limit = MAX_FILE_BYTES.get(filename, MAX_WEIGHTS_BYTES)
    try:
        size = get_hf_file_metadata(hf_hub_url(repo_id, filename, revision=revision), token=token).size
    except (HfHubHTTPError, OSError, *_transport_errors()):
        return  # hf_hub_download meets the same failure: it may still use the cached file, or says what is wrong
    if size is not None and size > limit:
        raise WeightsUnavailableError(
            f"Cannot download {where}: the Hub announces {format_bytes(size)}, more than a keras_alexnet "
            f"checkpoint's {filename} can be ({format_bytes(limit)} at most); it was not downloaded. The repository "
            f"is not a keras_alexnet checkpoint written by `keras-alexnet push`. {offline_help(repo_id)}"
        )


def _hub_fix(repo_id: str) -> str:
    return (
        f"The file from Hub repo {repo_id!r} is not what `keras-alexnet push` writes, and was deleted from the "
        f"cache; use another revision or repository, or ask its owner to push the checkpoint again. "
        f"{offline_help(repo_id)}"
    )


def _transport_errors() -> tuple[type[Exception], ...]:
    """Base exceptions of the HTTP clients huggingface_hub may use (httpx2 in 2.x, httpx, requests)."""
    errors = []
    for name, attribute in (("httpx2", "HTTPError"), ("httpx", "HTTPError"), ("requests", "RequestException")):
        try:
            errors.append(getattr(importlib.import_module(name), attribute))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def _delete_cached(path: Path) -> None:
    """Remove a file from the Hugging Face cache: the snapshot link and the blob it points to."""
    blob = path.resolve()
    path.unlink(missing_ok=True)
    if blob != path:
        blob.unlink(missing_ok=True)


_PINNED = "pinned in the keras_alexnet registry"


def _verify(path: Path, expected: str, source: str, repo_id: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        _delete_cached(path)
        message = (
            f"{path.name} downloaded from Hub repo {repo_id!r} is corrupted: its sha256 is {actual}, expected "
            f"{expected} ({source}). The bad file was deleted from the cache; download again. Received: {path}"
        )
        if source == _PINNED:
            commit = path.parent.name  # snapshots/<commit>/<file>
            raise PinnedChecksumMismatchError(
                message, filename=path.name, expected=expected, actual=actual, commit=commit
            )
        raise ChecksumMismatchError(message)


def download_checkpoint(
    repo_id: str,
    revision: str | None = None,
    *,
    pinned_sha256: dict[str, str] | None = None,
    token: str | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """Download a checkpoint's files from the Hub, verify them and return the local snapshot directory.

    `pinned_sha256` maps file names to sha256s that take precedence over the
    repository's own `checksums.json` (the registry pins checksums.json itself, hence every file).
    `cache_dir`: a Hugging Face cache other than the default.
    """
    checksums_path = download_file(repo_id, CHECKSUMS_FILENAME, revision, token=token, cache_dir=cache_dir)
    commit = checksums_path.parent.name  # snapshots/<commit>/checksums.json: pin the rest to this commit
    pinned = dict(pinned_sha256 or {})
    if CHECKSUMS_FILENAME in pinned:  # the registry pins the manifest, which pins every file
        _verify(checksums_path, pinned.pop(CHECKSUMS_FILENAME), _PINNED, repo_id)
    with _deleted_if_damaged(checksums_path):
        checksums = read_checksums(checksums_path, fix=_hub_fix(repo_id))
    if NETWORK_FILENAME not in checksums:
        raise WeightsUnavailableError(
            f"Hub repo {repo_id!r} is not a keras_alexnet checkpoint: its {CHECKSUMS_FILENAME} lists no "
            f"{NETWORK_FILENAME}. Push checkpoints with `keras-alexnet push`. {offline_help(repo_id)}"
        )
    for filename in DOWNLOADED_FILES:
        if filename not in checksums and filename not in pinned:
            continue
        path = download_file(repo_id, filename, commit, token=token, cache_dir=cache_dir)
        if filename in pinned:
            _verify(path, pinned[filename], _PINNED, repo_id)
        if filename in checksums:
            _verify(path, checksums[filename], f"listed in the checkpoint's {CHECKSUMS_FILENAME}", repo_id)
    return checksums_path.parent


@contextlib.contextmanager
def _deleted_if_damaged(path: Path) -> Iterator[None]:
    """On `DamagedFileError` inside, delete `path` from the Hugging Face cache (the next call downloads it again)."""
    try:
        yield
    except DamagedFileError:
        _delete_cached(path)
        raise


def _read_downloaded_checkpoint(directory: Path, repo_id: str) -> ResolvedWeights:
    """`read_checkpoint_dir` of a downloaded snapshot; a damaged keras_alexnet.json is deleted from the cache."""
    with _deleted_if_damaged(directory / NETWORK_FILENAME):
        NetworkRecord.read(directory, fix=_hub_fix(repo_id))
    return read_checkpoint_dir(directory)


def resolve_hf_uri(uri: str) -> ResolvedWeights:
    """Resolve `hf://org/repo[@revision]` to verified local files."""
    repo_id, revision = parse_hf_uri(uri)
    directory = download_checkpoint(repo_id, revision)
    resolved = _read_downloaded_checkpoint(directory, repo_id)
    return ResolvedWeights(
        description=uri,
        network=resolved.network,
        **resolved.files(),
    )


def resolve_registered_hub_copy(
    record: WeightsRecord, hub_org: str | None = None, *, cache_dir: str | os.PathLike | None = None
) -> ResolvedWeights:
    """The published Hub copy of `record`, at its tag or pinned revision, with the weights' sha256 checked."""
    hub = record.hub
    if not hub.published:
        raise WeightsUnavailableError(
            f"{record.name!r} has no published Hub copy (no pinned revision or tag, and sha256)."
        )
    repo_id = hub.repo_id(hub_org)
    revision = hub.download_revision
    try:
        directory = download_checkpoint(
            repo_id, revision, pinned_sha256={hub.filename: hub.sha256}, cache_dir=cache_dir
        )
    except PinnedChecksumMismatchError as error:
        if hub.tag is None:
            raise
        raise HubTagMovedError(tag_moved_message(record, repo_id, error)) from error
    resolved = _read_downloaded_checkpoint(directory, repo_id)
    if resolved.network != record.network:
        raise WeightsUnavailableError(
            f"Hub repo {repo_id!r}@{revision} holds a {resolved.network} checkpoint, but the registry "
            f"record {record.name!r} describes {record.network}."
        )
    return ResolvedWeights(
        description=f"{record.name} (hf://{repo_id}@{revision})",
        network=resolved.network,
        **resolved.files(),
    )


def tag_moved_message(record: WeightsRecord, repo_id: str, error: PinnedChecksumMismatchError) -> str:
    """Why a record's Hub tag is refused, and what to do."""
    hub = record.hub
    back = (
        f"move the tag back to the released commit {hub.revision} (`HfApi().delete_tag({repo_id!r}, "
        f"tag={hub.tag!r})`, then `create_tag(..., revision={hub.revision!r})`) or load that commit as "
        f"`weights='hf://{repo_id}@{hub.revision}'`"
        if hub.revision
        else "move the tag back to the released commit"
    )
    return (
        f"Hub tag {hub.tag!r} of repo {repo_id!r} now points at commit {error.commit}, whose {error.filename} has "
        f"sha256 {error.actual}, but the keras_alexnet registry record {record.name!r} pins sha256 "
        f"{error.expected}: the tag was moved to other weights, so it is refused (the file was deleted from the "
        f"cache). To fix: {back}; if the new weights are intended, pin their sha256 in the registry (the fields "
        f"`keras-alexnet release` prints). Received: tag {hub.tag!r} -> sha256 {error.actual}"
    )
