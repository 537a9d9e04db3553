"""Prediction results written row by row as they arrive (JSON lines or CSV), and read back to resume.

Every row names its input (`path`): a JSON line is `{"path": ..., "predictions": [{index, id, label,
score, (wnid)}, ...]}` or `{"path": ..., "error": "..."}`; a CSV row is `path,error,id_1,label_1,score_1,...`
under a header. Rows are flushed after every batch, so a killed run leaves every finished batch on disk;
`ResultsWriter(..., resume=True)` first drops a partially written last line, then appends, and
`done_keys` are the inputs already there (results and errors alike), which the next run skips.

The file is written in place (that is what lets a run continue), so it is protected the other way round:
an existing file is continued only with `resume`, replaced only with `overwrite`, and a file that is not a
results file is never touched without `overwrite`.

Example:

>>> import tempfile, os
>>> from keras_alexnet.batch.results import ResultsWriter
>>> path = os.path.join(tempfile.mkdtemp(), "results.jsonl")
>>> with ResultsWriter(path, top=1) as out:
...     out.write_error("a.jpg", "a.jpg: not a readable image")
>>> ResultsWriter(path, top=1, resume=True).done_keys
{'a.jpg'}
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from keras_alexnet.errors import DamagedFileError, disk_full_as_error
from keras_alexnet.outputs import ExistingOutputError

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
WHAT = "results file (written by keras-alexnet predict --output)"


def results_format(path: str | os.PathLike) -> str:
    """'jsonl' or 'csv', from the file name's suffix (ValueError for any other)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"--output must end in .jsonl (one JSON object a line) or .csv. Received: {os.fspath(path)!r}")
    return FORMATS[suffix]


def csv_header(top: int) -> list[str]:
    """The CSV columns for `top` labels per image."""
    return ["path", "error", *(f"{field}_{rank}" for rank in range(1, top + 1) for field in ("id", "label", "score"))]


def _first_line(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as file:
            return file.readline(1 << 20)
    except (OSError, UnicodeDecodeError):
        return None


def is_results_file(path: str | os.PathLike) -> bool:
    """Whether `path` is a results file this module wrote (its first line is our header or row); empty counts."""
    path = Path(path)
    if not path.is_file():
        return False
    if path.stat().st_size == 0:
        return True
    line = _first_line(path)
    if line is None:
        return False
    if results_format(path) == "csv":
        return line.startswith("path,error,")
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return False
    return isinstance(row, dict) and "path" in row and ("predictions" in row or "error" in row)


class ResultsWriter:
    """Append result rows to `path` (.jsonl or .csv), flushing each batch; see the module docstring."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        top: int,
        imagenet: bool = False,
        resume: bool = False,
        overwrite: bool = False,
    ):
        self.path = Path(path)
        self.format = results_format(self.path)
        self.top = top
        self.imagenet = imagenet
        self.done_keys: set[str] = set()
        self.rows = 0
        self.errors = 0
        exists = os.path.lexists(self.path)
        if exists and not self.path.is_file():
            raise ExistingOutputError(
                f"{self.path} exists and is not a file; choose another --output. Received: {path}"
            )
        if exists and not overwrite:
            if not is_results_file(self.path):
                raise ExistingOutputError(
                    f"{self.path} is a file that is not an earlier {WHAT}, so nothing was written; choose another "
                    f"--output, or pass --overwrite to replace it. Received: {path}"
                )
            if not resume:
                raise ExistingOutputError(
                    f"{self.path} already holds results; pass --resume to continue it (inputs already there are "
                    f"skipped) or --overwrite to start again. Received: {path}"
                )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        mode = "w"
        if exists and resume and not overwrite:
            self.done_keys = self._recover()
            mode = "a"
        self._file = open(self.path, mode, encoding="utf-8", newline="")  # noqa: SIM115 (closed by close())
        self._csv = csv.writer(self._file, lineterminator="\n") if self.format == "csv" else None
        if self._csv is not None and self._file.tell() == 0:
            self._csv.writerow(csv_header(top))
            self.flush()

    def _recover(self) -> set[str]:
        """Drop a partially written last line, check the complete ones, and return the keys they hold."""
        with open(self.path, "rb") as file:
            data = file.read()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):
            with open(self.path, "r+b") as file:
                file.truncate(len(complete))
        text = complete.decode("utf-8", errors="replace")
        keys: set[str] = set()
        if self.format == "csv":
            reader = csv.reader(io.StringIO(text))
            header = next(reader, None)
            if header is None:
                return keys
            if header != csv_header(self.top):
                labels = (len(header) - 2) // 3
                raise ValueError(
                    f"{self.path} holds {labels} labels per image; resume with --top {labels} (or write a new file). "
                    f"Received: --top {self.top}"
                )
            for number, row in enumerate(reader, start=2):
                if len(row) != len(header):
                    raise DamagedFileError(self.path, f"line {number} has {len(row)} fields, not {len(header)}")
                keys.add(row[0])
            return keys
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                row = json.loads(line)
                keys.add(row["path"])
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise DamagedFileError(self.path, f"line {number} is not a result row ({error})") from error
            labels = row.get("predictions")
            if labels is not None and len(labels) != self.top:
                raise ValueError(
                    f"{self.path} holds {len(labels)} labels per image; resume with --top {len(labels)} (or write a "
                    f"new file). Received: --top {self.top}"
                )
        return keys

    def write_labels(self, key: str, labels) -> None:
        """One image's labels (`keras_alexnet.labels.Label`s, best first)."""
        if self._csv is not None:
            cells = [value for label in labels for value in (label.id, label.name, repr(label.score))]
            self._csv.writerow([key, "", *cells])
        else:
            row = {"path": key, "predictions": [label.to_dict(imagenet=self.imagenet) for label in labels]}
            self._file.write(json.dumps(row) + "\n")
        self.rows += 1

    def write_error(self, key: str, message: str) -> None:
        """One input that could not be read (`message` names it)."""
        message = " ".join(message.split())
        if self._csv is not None:
            self._csv.writerow([key, message, *([""] * (3 * self.top))])
        else:
            self._file.write(json.dumps({"path": key, "error": message}) + "\n")
        self.rows += 1
        self.errors += 1

    def flush(self) -> None:
        """Hand the rows written so far to the OS (they survive a kill of this process)."""
        with disk_full_as_error(self.path, what="the results"):
            self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self.flush()
            with disk_full_as_error(self.path, what="the results"):
                os.fsync(self._file.fileno())
            self._file.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_results(path: str | os.PathLike) -> list[dict]:
    """The rows of a results file as dicts (JSON lines as written; CSV rows as {path, error, predictions})."""
    path = Path(path)
    if results_format(path) == "jsonl":
        with open(path, encoding="utf-8") as file:
            return [json.loads(line) for line in file if line.strip()]
    rows = []
    with open(path, encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            top = sum(1 for name in row if name.startswith("id_"))
            labels = [
                {"id": row[f"id_{r}"], "label": row[f"label_{r}"], "score": float(row[f"score_{r}"])}
                for r in range(1, top + 1)
                if row[f"id_{r}"] != ""
            ]
            rows.append({"path": row["path"], **({"error": row["error"]} if row["error"] else {"predictions": labels})})
    return rows


__all__ = ["ResultsWriter", "csv_header", "is_results_file", "read_results", "results_format"]
