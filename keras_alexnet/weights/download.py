"""Downloads of the public originals: resumable HTTP with limits, and Hub files through `huggingface_hub`.

`download(url, dest)`: bytes go to `<dest>.part`; an interrupted download is
resumed with an HTTP `Range` request the next time, and the finished file is
renamed to `dest` only when complete, so `dest` never holds a partial file. It
cannot hang or stick:

- an overall deadline and a minimum rate (`DownloadLimits`: arguments, else
  `$KERAS_ALEXNET_DOWNLOAD_DEADLINE` seconds and `$KERAS_ALEXNET_DOWNLOAD_MIN_RATE`
  bytes per second, averaged over `rate_window` seconds; 0 switches one off) end
  a stalled or trickling transfer with `DownloadTooSlowError` (the `.part` is kept);
  every socket read also times out after `timeout` seconds;
- a `.part` that is already complete (the server answers 416, or it has the
  expected size) is verified with `verify` and used, or discarded and downloaded
  again;
- a host that answers with a Git-LFS pointer text instead of the file is named
  as such (`LfsPointerError`).

`download_from_hub(repo_id, path_in_repo, revision)` is `hf_hub_download`, with
errors that name the repository, the file and the fix. huggingface_hub does that
transfer and its own limits apply (not the ones above): `HF_HUB_ETAG_TIMEOUT`
(default 10 s) for the metadata request, `HF_HUB_DOWNLOAD_TIMEOUT` (default 10 s)
for each read, and a retry that resumes within the call after a dropped
connection (five attempts without new bytes); Xet transfers have their own.

Example:

>>> from keras_alexnet.weights.download import DownloadLimits, part_path
>>> part_path("/tmp/model.onnx").name
'model.onnx.part'
>>> DownloadLimits(deadline=3600, min_rate=10_000).describe()
'deadline 3600 s, minimum rate 10.0 kB/s over 30 s'
"""

from __future__ import annotations

import dataclasses
import errno
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
from tqdm.auto import tqdm

from keras_alexnet.errors import check_free_space, disk_full_as_error, format_bytes

CHUNK_SIZE = 1 << 16
DEADLINE_ENV = "KERAS_ALEXNET_DOWNLOAD_DEADLINE"
MIN_RATE_ENV = "KERAS_ALEXNET_DOWNLOAD_MIN_RATE"
#: One hour for one attempt: an original is ~245 MB, so this needs ~70 kB/s; what arrived is kept for the next one.
DEFAULT_DEADLINE = 3600.0
#: 10 kB/s averaged over `DEFAULT_RATE_WINDOW`: below that the transfer is stuck, not slow.
DEFAULT_MIN_RATE = 10_000.0
DEFAULT_RATE_WINDOW = 30.0
#: What a Git-LFS pointer file starts with (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md).
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"
#: A pointer is ~130 bytes; anything this small is checked for being one.
LFS_POINTER_MAX_BYTES = 1024
#: Why the ONNX model zoo's GitHub URLs serve pointers now, and where the files are (for the messages).
LFS_POINTER_HELP = (
    "docs/weights.md, 'Where the weights come from': the ONNX model zoo stopped serving its Git-LFS files from "
    "GitHub on 2025-07-01 and they now live on the Hugging Face Hub (onnxmodelzoo/legacy_models)"
)


class DownloadError(RuntimeError):
    """A download failed; what was received is kept in the `.part` file for resuming."""


class DownloadTooSlowError(DownloadError):
    """A download passed its deadline or fell below its minimum rate (the `.part` is kept)."""


class LfsPointerError(DownloadError):
    """The host answered with a Git-LFS pointer text, not the file (nothing is kept)."""


def log(message: str) -> None:
    """One line on stderr, prefixed `keras_alexnet: ` (what a fetch tells the user)."""
    print(f"keras_alexnet: {message}", file=sys.stderr, flush=True)


def part_path(dest: str | os.PathLike) -> Path:
    dest = Path(dest)
    return dest.with_name(dest.name + ".part")


def _seconds_from_env(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ValueError(
            f"${name} must be a number >= 0 (0 switches the limit off), e.g. {name}={default:g}. "
            f"Received: {name}={text!r}"
        )
    return value


@dataclasses.dataclass(frozen=True)
class DownloadLimits:
    """How long one download attempt may take, and how slow it may get (0 or None: no limit)."""

    deadline: float | None = DEFAULT_DEADLINE
    min_rate: float | None = DEFAULT_MIN_RATE
    rate_window: float = DEFAULT_RATE_WINDOW

    def __post_init__(self) -> None:
        for name in ("deadline", "min_rate"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise ValueError(f"`{name}` must be >= 0 or None (no limit). Received: {name}={value!r}")
        if not self.rate_window > 0:
            raise ValueError(f"`rate_window` must be > 0 seconds. Received: rate_window={self.rate_window!r}")

    @classmethod
    def from_env(cls, deadline: float | None = None, min_rate: float | None = None) -> DownloadLimits:
        """The given limits, else `$KERAS_ALEXNET_DOWNLOAD_DEADLINE` / `_MIN_RATE`, else the defaults."""
        return cls(
            deadline=_seconds_from_env(DEADLINE_ENV, DEFAULT_DEADLINE) if deadline is None else deadline,
            min_rate=_seconds_from_env(MIN_RATE_ENV, DEFAULT_MIN_RATE) if min_rate is None else min_rate,
        )

    def describe(self) -> str:
        deadline = f"deadline {self.deadline:g} s" if self.deadline else "no deadline"
        rate = (
            f"minimum rate {self.min_rate / 1000:.1f} kB/s over {self.rate_window:g} s"
            if self.min_rate
            else "no minimum rate"
        )
        return f"{deadline}, {rate}"


class _Watch:
    """Raises `DownloadTooSlowError` once the deadline has passed or the rate over a window is too low."""

    def __init__(self, url: str, part: Path, limits: DownloadLimits):
        self.url, self.part, self.limits = url, part, limits
        self.start = self.window_start = time.monotonic()
        self.received = self.window_received = 0

    def update(self, count: int) -> None:
        self.received += count
        now = time.monotonic()
        limits = self.limits
        kept = f"the partial file {self.part} is kept and the next attempt resumes from it"
        if limits.deadline and now - self.start > limits.deadline:
            raise DownloadTooSlowError(
                f"Downloading {self.url} did not finish within its deadline of {limits.deadline:g} s "
                f"({format_bytes(self.received)} received in this attempt); {kept}. On a slow connection, raise "
                f"the limit: ${DEADLINE_ENV}=SECONDS (0: none)."
            )
        elapsed = now - self.window_start
        if elapsed >= limits.rate_window:
            rate = (self.received - self.window_received) / elapsed
            if limits.min_rate and rate < limits.min_rate:
                raise DownloadTooSlowError(
                    f"Downloading {self.url} is too slow: {rate / 1000:.2f} kB/s over the last {elapsed:.1f} s, "
                    f"below the minimum of {limits.min_rate / 1000:.2f} kB/s (the server is stalling); {kept}. To "
                    f"accept slower transfers, lower the limit: ${MIN_RATE_ENV}=BYTES_PER_SECOND (0: none)."
                )
            self.window_start, self.window_received = now, self.received


def lfs_pointer(path: str | os.PathLike) -> dict[str, str] | None:
    """The fields (`oid`, `size`, ...) of a Git-LFS pointer file, or None if `path` is not one."""
    path = Path(path)
    try:
        if path.stat().st_size > LFS_POINTER_MAX_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(LFS_POINTER_PREFIX):
        return None
    fields = {}
    for line in data.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        fields[key] = value.strip()
    return fields


def lfs_pointer_message(where: str, pointer: dict[str, str]) -> str:
    """What to tell a user whose download of `where` returned a Git-LFS pointer."""
    names = f" (the pointer names {pointer['oid']}, {pointer.get('size', '?')} bytes)" if "oid" in pointer else ""
    return f"this host serves a Git-LFS pointer, not the file{names}; see {LFS_POINTER_HELP}. Received: {where}"


def _content_range_total(response: requests.Response) -> int | None:
    match = re.fullmatch(r"bytes (?:\*|\d+-\d+)/(\d+)", response.headers.get("Content-Range", "").strip())
    return int(match.group(1)) if match else None


def _network_errors() -> tuple[type[Exception], ...]:
    import urllib3

    return (requests.RequestException, urllib3.exceptions.HTTPError)


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    expected_size: int | None = None,
    verify: Callable[[Path], bool] | None = None,
    progress: bool = True,
    timeout: float = 30.0,
    limits: DownloadLimits | None = None,
) -> Path:
    """Download `url` to `dest`, resuming `<dest>.part` if present.

    `verify(path) -> bool` says whether a complete file is the expected one: a
    `.part` that is already complete is checked with it (and discarded when it
    fails) instead of being downloaded again. `limits` defaults to
    `DownloadLimits.from_env()`.

    Raises `DownloadError` (naming the URL and how much was kept) on network
    errors, HTTP errors and truncated bodies, `DownloadTooSlowError` past the
    deadline or below the minimum rate, `LfsPointerError` when the host serves a
    Git-LFS pointer, and `keras_alexnet.errors.NotEnoughSpaceError` when the disk
    cannot hold it (checked first when `expected_size` is known).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    limits = DownloadLimits.from_env() if limits is None else limits
    part = part_path(dest)
    have = part.stat().st_size if part.exists() else 0
    if expected_size is not None and have > expected_size:
        part.unlink()
        have = 0
    if have and have == expected_size and verify is not None:
        if verify(part):  # complete already (an earlier attempt stopped before the rename): no request
            os.replace(part, dest)
            return dest
        log(f"discarding {part}: it has the expected size but is not the expected file; downloading again")
        part.unlink()
        have = 0
    if expected_size is not None:
        check_free_space(dest.parent, expected_size - have, f"the download of {url}")
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as response:
            if response.status_code == 416 and have:
                total = _content_range_total(response)
                return _complete_part(url, dest, have, expected_size, total, verify, progress, timeout, limits)
            if response.status_code not in (200, 206):
                raise DownloadError(f"Downloading {url} failed: HTTP {response.status_code} {response.reason}.")
            if response.status_code == 200 and have:
                have = 0  # the server ignored the Range header: start over
            length = response.headers.get("Content-Length")
            total = have + int(length) if length is not None else expected_size
            watch = _Watch(url, part, limits)
            with (
                disk_full_as_error(part, needed_bytes=None if total is None else total - have, what=f"{url}"),
                open(part, "ab" if have else "wb") as f,
                tqdm(
                    total=total,
                    initial=have,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=dest.name,
                    disable=not progress,
                ) as bar,
            ):
                while chunk := response.raw.read1(CHUNK_SIZE, decode_content=True):  # whatever has arrived
                    f.write(chunk)
                    bar.update(len(chunk))
                    watch.update(len(chunk))
    except _network_errors() as error:
        kept = part.stat().st_size if part.exists() else 0
        raise DownloadError(
            f"Downloading {url} failed after {kept:,} bytes ({type(error).__name__}: {error}); "
            f"the partial file {part} is kept and the next attempt resumes from it."
        ) from error
    pointer = lfs_pointer(part)
    if pointer is not None:
        part.unlink()
        raise LfsPointerError(f"Downloading {url} failed: {lfs_pointer_message(url, pointer)}")
    size = part.stat().st_size
    if total is not None and size != total:
        raise DownloadError(
            f"Downloading {url} stopped early: {size:,} of {total:,} bytes received; the partial file "
            f"{part} is kept and the next attempt resumes from it."
        )
    os.replace(part, dest)
    return dest


def _complete_part(
    url: str,
    dest: Path,
    have: int,
    expected_size: int | None,
    total: int | None,
    verify: Callable[[Path], bool] | None,
    progress: bool,
    timeout: float,
    limits: DownloadLimits,
) -> Path:
    """The server answered 416 to `Range: bytes=<have>-`: the `.part` is complete (use it) or wrong (start over)."""
    part = part_path(dest)
    size_known = expected_size if expected_size is not None else total
    complete = size_known is None or size_known == have
    if complete and (verify is None or verify(part)):
        os.replace(part, dest)
        return dest
    why = (
        f"it has {have:,} bytes, the file {size_known:,}"
        if not complete
        else "it has the file's size but is not the expected file"
    )
    log(f"discarding {part}: the server cannot resume it (HTTP 416) and {why}; downloading again")
    part.unlink()
    return download(
        url, dest, expected_size=expected_size, verify=verify, progress=progress, timeout=timeout, limits=limits
    )


class _NoProgress(tqdm):
    """A progress bar that is never shown (`hf_hub_download(..., tqdm_class=_NoProgress)`)."""

    def __init__(self, *args, **kwargs):
        kwargs.pop("name", None)
        kwargs["disable"] = True
        super().__init__(*args, **kwargs)


def download_from_hub(
    repo_id: str,
    path_in_repo: str,
    revision: str | None,
    *,
    expected_size: int | None = None,
    progress: bool = True,
    offline: bool = False,
) -> Path:
    """`hf_hub_download` of a file of a Hub repository (the Hugging Face cache, `HF_ENDPOINT`, offline mode, Xet).

    Returns the path in the Hugging Face cache. With `offline` only the cache is
    used. Raises `DownloadError` naming the repository, the file and why (missing
    repository, revision or file; Hub unreachable and not cached; offline and not
    cached), and `NotEnoughSpaceError` when the cache's disk cannot hold `expected_size`.
    """
    from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    from keras_alexnet.weights.hub import _transport_errors

    where = f"{path_in_repo!r} of Hub repo {repo_id!r} at revision {revision or 'main'!r} ({constants.ENDPOINT})"
    cached = try_to_load_from_cache(repo_id, path_in_repo, revision=revision)
    if expected_size is not None and not isinstance(cached, str) and not offline:
        check_free_space(Path(constants.HF_HUB_CACHE), expected_size, f"the download of {where}")
    try:
        return Path(
            hf_hub_download(
                repo_id,
                path_in_repo,
                revision=revision,
                local_files_only=offline,
                **({} if progress else {"tqdm_class": _NoProgress}),
            )
        )
    except LocalEntryNotFoundError as error:
        reason = (
            "offline mode is on (HF_HUB_OFFLINE) and the file is not in the Hugging Face cache"
            if offline
            else f"the Hub cannot be reached and the file is not in the Hugging Face cache ({error.__cause__ or error})"
        )
        raise DownloadError(f"Cannot download {where}: {reason}.") from error
    except EntryNotFoundError as error:
        raise DownloadError(f"Cannot download {where}: the repository has no such file.") from error
    except HfHubHTTPError as error:
        status = getattr(getattr(error, "response", None), "status_code", None)
        raise DownloadError(
            f"Cannot download {where}: {type(error).__name__} (HTTP {status}): {str(error).splitlines()[0]}"
        ) from error
    except (*_transport_errors(), OSError) as error:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise  # a full disk is not a download failure: keras_alexnet.errors and the CLI name it
        if isinstance(error, OSError) and error.errno is not None and error.filename is not None:
            raise  # a local file problem (permissions, ...): reported as such
        raise DownloadError(f"Cannot download {where}: {type(error).__name__}: {error}") from error
