"""`keras-alexnet explore`: the paper, live, in a browser (a local web page), or `--export DIR` as static files.

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> args = build_parser().parse_args(["explore", "--port", "0"])
>>> args.host, args.port, args.export
('127.0.0.1', 0, None)
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from keras_alexnet.cli._options import add_model_options
from keras_alexnet.cli.arguments import non_negative_int

DEFAULT_PORT = 8000


def register(subparsers) -> None:

    parser = subparsers.add_parser(
        "explore",
        help="a local web page: architecture, an image's top-5/activations/LRN, kernels, neighbours",
        description="Serve a web page with four panels: the architecture (shapes, parameters, MACs, shape "
        "arithmetic, the two towers), an image (upload or a sample: top-5, any layer's activations, LRN's "
        "effect on norm1), conv1's kernels per tower with their colour numbers, and with --index the six "
        "nearest images in fc7 space. Needs `pip install keras-alexnet[explore]`. With --export DIR, write the "
        "same page as static files instead (no server, no upload).",
    )
    add_model_options(parser)
    parser.add_argument("--index", default=None, help="an index written by `keras-alexnet embed` (neighbours panel)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 for a remote machine or a "
        "notebook server, reachable by everyone who can reach that machine)",
    )
    parser.add_argument(
        "--port", type=non_negative_int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0: a free one)"
    )
    parser.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="PATH",
        help="an image to offer beside the bundled samples (repeatable; with --export: precomputed too)",
    )
    parser.add_argument("--export", default=None, metavar="DIR", help="write the page as static files into DIR")
    parser.add_argument("--overwrite", action="store_true", help="with --export: replace DIR whatever it holds")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from keras_alexnet.errors import require

    images = [Path(p) for p in args.image]
    for image in images:
        if not image.is_file():
            raise FileNotFoundError(f"No such image file. Received: --image {os.fspath(image)!r}")
    if args.export is not None:
        from keras_alexnet.explore.export import check_export_dir

        check_export_dir(args.export, overwrite=args.overwrite)  # before the model is built
        sock = None
    else:
        require("fastapi", "explore", "keras-alexnet explore (a local web page)")
        require("uvicorn", "explore", "keras-alexnet explore (a local web page)")
        from keras_alexnet.explore.server import bind

        sock = bind(args.host, args.port)  # a taken port fails now, not after the model is built
    try:
        explorer = _explorer(args, images if args.export is None else [])
        if args.export is not None:
            from keras_alexnet.explore.export import export_page

            out = export_page(explorer, args.export, images, overwrite=args.overwrite)
            print(
                f"wrote {out}/index.html ({len(explorer.samples) + len(images)} precomputed images); open it in a "
                "browser, serve the folder statically, or show it in a notebook with IPython.display.IFrame"
            )
            return 0
        from keras_alexnet.explore.app import create_app
        from keras_alexnet.explore.server import page_url, serve

        app = create_app(explorer)
        print(
            f"keras-alexnet explore: serving {explorer.info_json()['weights']} on {page_url(sock)} (Ctrl-C stops it)",
            flush=True,
        )
        serve(app, sock)
        return 0
    finally:
        if sock is not None:
            sock.close()


def _explorer(args: argparse.Namespace, images: list[Path]):
    from keras_alexnet.analysis.model_io import load_model
    from keras_alexnet.explore.explorer import Explorer
    from keras_alexnet.explore.neighbours import NeighbourIndex
    from keras_alexnet.samples import sample_image_paths

    index = NeighbourIndex(args.index) if args.index is not None else None
    model, network = load_model(args.weights, args.variant, seed=args.seed)
    samples = [*sample_image_paths(), *images]
    return Explorer(model, network, weights=args.weights, seed=args.seed, index=index, samples=samples)
