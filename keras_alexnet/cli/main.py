"""Entry point of the `keras-alexnet` command line.

`COMMANDS` names every subcommand, its module in `keras_alexnet.cli` and its
one-line summary; `main` imports only the chosen command's module, whose
`register(subparsers)` adds its parser (setting `func(args) -> int`), so
`keras-alexnet --help` and `keras-alexnet CMD --help` import no TensorFlow or
Keras (tests/core/test_cli_lazy.py). Add a command: its module plus one row.

Failures are reported in one line, `keras-alexnet COMMAND: error: ...`, with
exit status 1 (130 for Ctrl-C). `describe_failure` maps each kind of failure
to its message explicitly: bad values (`ValueError`), the package's documented
errors (`keras_alexnet.errors`, unavailable weights, failed downloads), OS
errors that name a file (permissions, a directory where a file was expected,
a full disk) and network errors (the host or URL, and what to try). Anything
else is a bug and keeps its traceback; `--debug` (before or after the
command) shows the traceback for every error.

Example:

>>> from keras_alexnet.cli.main import build_parser, describe_failure
>>> "info" in build_parser().format_help()
True
>>> describe_failure(PermissionError(13, "Permission denied", "/data/run"))
"permission denied: '/data/run'. Check its owner and mode (`ls -ld '/data/run'`), or choose a path you may use."
>>> describe_failure(ZeroDivisionError("bug")) is None
True
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from urllib.parse import urlsplit

from keras_alexnet.version import __version__

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED_EXIT = 130


class _CommandParser(argparse.ArgumentParser):
    """A subcommand's parser: it also accepts `--debug` (after the command), and so do its own subcommands."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of any error"
        )


#: Subcommand -> (module under keras_alexnet.cli, the summary shown by `keras-alexnet --help`).
COMMANDS: dict[str, tuple[str, str]] = {
    "activations": ("activations", "draw the feature maps of one image at one layer (conv1, norm1, pool1, conv2, ...)"),
    "convert": ("convert", "convert a public original (ONNX, torchvision .pth, Caffe .caffemodel) to a checkpoint"),
    "embed": ("embed", "store the fc7 feature vectors of images (for `neighbours`)"),
    "evaluate": (
        "evaluate",
        "top-1/top-5 error (centre crop, optionally ten-crop), per-class accuracy CSV, most-confused pairs",
    ),
    "explore": ("explore", "a local web page: architecture, an image's top-5/activations/LRN, kernels, neighbours"),
    "export": (
        "export",
        "export AlexNet as a TF SavedModel, ONNX, LiteRT or OpenVINO model (predictions checked against Keras)",
    ),
    "finetune": ("finetune", "fine-tune AlexNet weights on a new dataset (new N-way classifier)"),
    "info": ("info", "per-layer table of a variant: output shapes, parameters, multiply-accumulates"),
    "kernels": ("kernels", "draw the conv1 kernels per tower and measure their colour specificity (Figure 3)"),
    "neighbours": ("neighbours", "retrieve the images of an index nearest to query images in fc7 space (Figure 4)"),
    "plot": ("plot", "plot a training run's curves (loss, top-1, top-5, lr) to PNG"),
    "predict": ("predict", "classify images (top-K labels of the checkpoint's classes), streamed, resumable"),
    "push": ("push", "publish a checkpoint directory on the Hugging Face Hub (one commit)"),
    "quickstart": (
        "quickstart",
        "train the full AlexNet on the embedded digits in minutes, then classify, draw kernels and curves",
    ),
    "release": (
        "release",
        "convert, check and publish a registered checkpoint on the Hub; print the registry fields to pin",
    ),
    "stats": ("stats", "compute mean image / channel mean and RGB PCA of a training set (pixel_stats.npz)"),
    "train": ("train", "train AlexNet from scratch with the paper's recipe"),
    "weights": ("weights", "list the registered pretrained weights, or fetch one (`weights fetch NAME`)"),
}


def chosen_command(argv: list[str]) -> str | None:
    """The subcommand named in `argv` (the first argument that is not an option), or None."""
    for argument in argv:
        if not argument.startswith("-"):
            return argument if argument in COMMANDS else None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The CLI's parser: with `argv`, only the command it names is loaded (the others are summaries); else all."""
    parser = argparse.ArgumentParser(
        prog="keras-alexnet",
        description="AlexNet (Krizhevsky, Sutskever and Hinton, 2012) for Keras 3.",
    )
    parser.add_argument("--version", action="version", version=f"keras-alexnet {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of any error (also after COMMAND)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)
    chosen = None if argv is None else chosen_command(argv)
    for name, (module_name, summary) in COMMANDS.items():
        if argv is None or name == chosen:
            importlib.import_module(f"keras_alexnet.cli.{module_name}").register(subparsers)
        else:
            subparsers.add_parser(name, help=summary, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"keras-alexnet {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT
    except _reported_types() as error:  # evaluated only when an exception arrives: the imports stay lazy
        message = describe_failure(error)
        if message is None or args.debug:
            raise
        print(f"keras-alexnet {args.command}: error: {message}", file=sys.stderr)
        return 1


def _reported_types() -> tuple[type[BaseException], ...]:
    """The exception classes `describe_failure` may have a message for (it still decides per instance)."""
    from keras_alexnet.errors import MissingDependencyError, OperationFailedError
    from keras_alexnet.weights.download import DownloadError
    from keras_alexnet.weights.resolve import WeightsUnavailableError

    return (
        ValueError,
        OSError,
        OperationFailedError,
        WeightsUnavailableError,
        DownloadError,
        MissingDependencyError,
        *_http_errors(),
    )


def _http_errors() -> tuple[type[BaseException], ...]:
    """Base classes of the HTTP clients' errors (httpx2 for huggingface_hub 2.x, httpx, requests), if installed."""
    found = []
    for module_name, attribute in (("httpx2", "HTTPError"), ("httpx", "HTTPError"), ("requests", "RequestException")):
        module = sys.modules.get(module_name)
        if module is None:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
        if isinstance(getattr(module, attribute, None), type):
            found.append(getattr(module, attribute))
    return tuple(found)


def describe_failure(error: BaseException) -> str | None:
    """The one-line message for `error`, or None when it is not a failure the CLI reports (a bug: traceback)."""
    from keras_alexnet.errors import MissingDependencyError, NotEnoughSpaceError, OperationFailedError
    from keras_alexnet.weights.download import DownloadError
    from keras_alexnet.weights.resolve import WeightsUnavailableError

    if isinstance(
        error,
        NotEnoughSpaceError | ValueError | OperationFailedError | WeightsUnavailableError | MissingDependencyError,
    ):
        return str(error)
    if isinstance(error, DownloadError):
        return str(error)
    hub_message = _hub_failure(error)
    if hub_message is not None:
        return hub_message
    if isinstance(error, _http_errors()):
        return _network_failure(error)
    if isinstance(error, OSError):
        return _os_failure(error)
    return None


def _path_text(error: OSError) -> str | None:
    name = error.filename
    if name is None or isinstance(name, int):
        return None
    text = repr(os.fsdecode(name))
    if error.filename2 is not None and not isinstance(error.filename2, int):
        text += f" -> {os.fsdecode(error.filename2)!r}"
    return text


def _os_failure(error: OSError) -> str | None:
    path = _path_text(error)
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        where = f" writing {path}" if path else ""
        return f"the disk is full ({reason}){where}. Free some space there or choose another directory."
    if isinstance(error, FileNotFoundError):
        # keras_alexnet raises FileNotFoundError(message) without a filename: its message says it all.
        return f"no such file or directory: {path}. Check the path." if path else str(error)
    if isinstance(error, ConnectionError | TimeoutError) and path is None:
        return _network_failure(error)
    if path is None:
        return None  # an OS error that names nothing: too little to tell the user; keep the traceback
    if isinstance(error, PermissionError):
        bare = repr(os.fsdecode(error.filename))
        return f"permission denied: {path}. Check its owner and mode (`ls -ld {bare}`), or choose a path you may use."
    if isinstance(error, IsADirectoryError):
        return f"{path} is a directory, where a file was expected. Give the path of a file."
    if isinstance(error, NotADirectoryError):
        return f"{path}: a part of this path is a file, where a directory was expected. Check the path."
    if isinstance(error, FileExistsError):
        return f"{path} already exists. Remove it or choose another path."
    if error.errno == errno.EROFS:
        return f"{path} is on a read-only file system. Choose a directory you can write to."
    return f"{reason}: {path}."


def _hub_endpoint() -> str:
    constants = sys.modules.get("huggingface_hub.constants")
    endpoint = getattr(constants, "ENDPOINT", None) if constants is not None else None
    return endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def _url_of(error: BaseException) -> str | None:
    """The URL a network error was about, where the client recorded it."""
    for holder in ("request", "response"):
        try:
            url = getattr(getattr(error, holder, None), "url", None)
        except RuntimeError:  # httpx: "The .request property has not been set."
            url = None
        if url:
            return str(url)
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


_NETWORK_HELP = (
    "Check the network connection (and HTTPS_PROXY / HTTP_PROXY if you use a proxy); for the Hugging Face Hub, "
    "HF_ENDPOINT selects the server (now {endpoint}) and HF_HUB_OFFLINE=1 uses only files already in the cache."
)


def _network_failure(error: BaseException) -> str:
    url = _url_of(error)
    cause = error
    while cause.__cause__ is not None and not _url_of(cause):  # a wrapped error may hold the URL deeper down
        cause = cause.__cause__
        url = url or _url_of(cause)
    target = url or f"the server (Hugging Face Hub endpoint {_hub_endpoint()})"
    if url:
        parts = urlsplit(url)
        target = f"{parts.scheme}://{parts.netloc} (for {url})" if parts.netloc else url
    return f"cannot reach {target}: {type(error).__name__}: {_first_line(error)}. " + _NETWORK_HELP.format(
        endpoint=_hub_endpoint()
    )


def _hub_failure(error: BaseException) -> str | None:
    """Messages for huggingface_hub's own errors (an HTTP status from the Hub, offline mode, a cache miss)."""
    hub_errors = sys.modules.get("huggingface_hub.errors")
    if hub_errors is None:
        return None
    endpoint = _hub_endpoint()
    if isinstance(error, hub_errors.OfflineModeIsEnabled):
        return (
            f"{_first_line(error)}: HF_HUB_OFFLINE is set, so the Hub at {endpoint} is not asked. "
            "Unset HF_HUB_OFFLINE (with network access), or use files already in the cache."
        )
    if isinstance(error, hub_errors.LocalEntryNotFoundError):
        return (
            f"{_first_line(error)}. The file is not in the Hugging Face cache and the Hub at {endpoint} was not "
            "reachable (or HF_HUB_OFFLINE is set). " + _NETWORK_HELP.format(endpoint=endpoint)
        )
    if isinstance(error, hub_errors.HfHubHTTPError):
        response = getattr(error, "response", None)
        status = getattr(response, "status_code", None)
        url = _url_of(error) or endpoint
        hint = "Check the repository id and revision."
        if status in (401, 403):
            hint = "Set HF_TOKEN (or run `hf auth login`) with a token that may access the repository."
        elif status is not None and status >= 500:
            hint = "The server failed; try again later, or check HF_ENDPOINT."
        detail = " ".join(str(error).split())  # huggingface_hub's messages span lines
        host = urlsplit(url).netloc or endpoint
        return f"the Hugging Face Hub at {host} answered HTTP {status} for {url}: {detail} {hint}"
    return None


if __name__ == "__main__":
    sys.exit(main())
