"""`keras-alexnet embed DIR -o index.npz`: fc7 features of every image in a folder, streamed to disk.

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> build_parser().parse_args(["embed", "photos", "-o", "index.npz"]).layer
'fc7'
"""

from __future__ import annotations

import argparse
import os

from keras_alexnet.cli.arguments import positive_int
from keras_alexnet.cli.preprocessing_options import add_preprocessing_arguments, eval_preprocessing_from


def register(subparsers) -> None:
    from keras_alexnet.analysis.cli_options import add_model_options

    parser = subparsers.add_parser(
        "embed",
        help="store the fc7 feature vectors of a folder of images (for `neighbours`)",
        description="Compute the feature vectors (default: fc7, 4096-d, after ReLU) of every image under "
        "DIR, in batches with a progress bar, and stream them with their paths into an .npz index.",
    )
    parser.add_argument("directory", metavar="DIR", help="folder of images (searched recursively)")
    parser.add_argument(
        "-o", "--output", default="index.npz", help="index to write (default: index.npz; replaces an earlier index)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT even if it is not an earlier index")
    add_model_options(parser)
    add_preprocessing_arguments(parser)
    parser.add_argument("--layer", default="fc7", help="layer whose output is stored (default: fc7)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="images per batch (default: 32)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from keras_alexnet.analysis.features import feature_extractor, iter_features, list_images
    from keras_alexnet.analysis.index import check_index_path, write_index
    from keras_alexnet.analysis.model_io import load_model

    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be a positive integer. Received: {args.batch_size}")
    check_index_path(args.output, overwrite=args.overwrite)  # before the model is built
    paths = [path.resolve() for path in list_images(args.directory)]
    model, network = load_model(args.weights, args.variant, seed=args.seed)
    extractor = feature_extractor(model, args.layer)
    spec = eval_preprocessing_from(args, network)
    weights = args.weights
    if weights is not None and os.path.exists(weights):
        weights = os.path.abspath(weights)  # so that `neighbours` finds it from any directory
    metadata = {
        "layer": args.layer,
        "weights": weights,
        "variant": network.variant,
        "preprocessing": network.preprocessing,
        "eval_preprocessing": spec.to_dict(),  # the resize and crop the images were embedded with
        "seed": args.seed if args.weights is None else None,
    }
    batches = iter_features(
        extractor, paths, network, batch_size=args.batch_size, progress=not args.no_progress, preprocessing=spec
    )
    shape = write_index(args.output, batches, metadata, overwrite=args.overwrite)
    skipped = len(paths) - shape["rows"]
    print(
        f"wrote {args.output}: {shape['rows']} images x {shape['dim']} {args.layer} features"
        + (f" ({skipped} unreadable files skipped)" if skipped else "")
    )
    return 0
