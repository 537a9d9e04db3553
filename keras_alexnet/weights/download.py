"""Resumable HTTP downloads with a progress bar.

Bytes go to `<dest>.part`; an interrupted download is resumed with an HTTP
`Range` request the next time, and the finished file is renamed to `dest` only
when complete, so `dest` never holds a partial file.

Example:

>>> from keras_alexnet.weights.download import part_path
>>> part_path("/tmp/model.onnx").name
'model.onnx.part'
"""

from __future__ import annotations

import os
from pathlib import Path

import requests
from tqdm.auto import tqdm

from keras_alexnet.errors import check_free_space, disk_full_as_error

CHUNK_SIZE = 1 << 16


class DownloadError(RuntimeError):
    """A download failed; what was received is kept in the `.part` file for resuming."""


def part_path(dest: str | os.PathLike) -> Path:
    dest = Path(dest)
    return dest.with_name(dest.name + ".part")


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    expected_size: int | None = None,
    progress: bool = True,
    timeout: float = 30.0,
) -> Path:
    """Download `url` to `dest`, resuming `<dest>.part` if present.

    Raises `DownloadError` (naming the URL and how much was kept) on network
    errors, HTTP errors and truncated bodies, and
    `keras_alexnet.errors.NotEnoughSpaceError` when the disk cannot hold it
    (checked first when `expected_size` is known).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    have = part.stat().st_size if part.exists() else 0
    if expected_size is not None and have > expected_size:
        part.unlink()
        have = 0
    if expected_size is not None:
        check_free_space(dest.parent, expected_size - have, f"the download of {url}")
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as response:
            if response.status_code == 416 and have and expected_size == have:
                os.replace(part, dest)
                return dest
            if response.status_code not in (200, 206):
                raise DownloadError(f"Downloading {url} failed: HTTP {response.status_code} {response.reason}.")
            if response.status_code == 200 and have:
                have = 0  # the server ignored the Range header: start over
            length = response.headers.get("Content-Length")
            total = have + int(length) if length is not None else expected_size
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
                for chunk in response.iter_content(CHUNK_SIZE):
                    f.write(chunk)
                    bar.update(len(chunk))
    except requests.RequestException as error:
        kept = part.stat().st_size if part.exists() else 0
        raise DownloadError(
            f"Downloading {url} failed after {kept:,} bytes ({type(error).__name__}: {error}); "
            f"the partial file {part} is kept and the next attempt resumes from it."
        ) from error
    size = part.stat().st_size
    if total is not None and size != total:
        raise DownloadError(
            f"Downloading {url} stopped early: {size:,} of {total:,} bytes received; the partial file "
            f"{part} is kept and the next attempt resumes from it."
        )
    os.replace(part, dest)
    return dest
