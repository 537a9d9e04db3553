"""`keras-alexnet embed INPUT... -o index.npz`: fc7 features of any number of images, streamed to disk.

The inputs are those of `predict` (`keras_alexnet.batch.inputs`: files, folders, globs, @list.txt,
tfds:NAME:SPLIT), decoded in parallel with bounded memory; `--runner beam` runs it as a Beam pipeline.

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> build_parser().parse_args(["embed", "photos", "-o", "index.npz"]).layer
'fc7'
"""

from __future__ import annotations

import argparse
import os

from keras_alexnet.cli._options import add_model_options
from keras_alexnet.cli.arguments import positive_int
from keras_alexnet.cli.batch_options import add_input_arguments, add_runner_arguments
from keras_alexnet.cli.preprocessing_options import add_preprocessing_arguments, eval_preprocessing_from


def register(subparsers) -> None:

    parser = subparsers.add_parser(
        "embed",
        help="store the fc7 feature vectors of images (for `neighbours`)",
        description="Compute the feature vectors (default: fc7, 4096-d, after ReLU) of every input image, "
        "decoded in parallel and streamed in batches (progress bar on a terminal), into an .npz index with their "
        "paths. Unreadable files are reported on stderr and skipped.",
    )
    add_input_arguments(parser)
    parser.add_argument(
        "-o", "--output", default="index.npz", help="index to write (default: index.npz; replaces an earlier index)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT even if it is not an earlier index")
    add_model_options(parser)
    add_preprocessing_arguments(parser)
    parser.add_argument("--layer", default="fc7", help="layer whose output is stored (default: fc7)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="images per batch (default: 32)")
    add_runner_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from keras_alexnet.analysis.features import feature_extractor
    from keras_alexnet.analysis.index import check_index_path, write_index
    from keras_alexnet.analysis.model_io import load_model
    from keras_alexnet.batch.inputs import check_inputs, count_inputs, decode_stream, expand_inputs, is_glob
    from keras_alexnet.batch.memory import bound_native_heap
    from keras_alexnet.batch.stream import fast_forward, progress_bar, run_batches

    if args.batch_size < 1:
        raise ValueError(f"`--batch-size` must be a positive integer. Received: {args.batch_size}")
    check_index_path(args.output, overwrite=args.overwrite)  # before the model is built
    check_inputs(args.inputs, data_dir=args.data_dir)
    for spec in args.inputs:
        if not spec.startswith(("@", "tfds:")) and not is_glob(spec) and not os.path.exists(spec):
            raise FileNotFoundError(f"No such image folder or file. Received: {spec!r}")
    weights = args.weights
    if weights is not None and os.path.exists(weights):
        weights = os.path.abspath(weights)  # so that `neighbours` finds it from any directory
    if args.runner == "beam":
        from keras_alexnet.batch.beam import run_embed_pipeline

        summary = run_embed_pipeline(args, weights)
        print(f"wrote {args.output}: {summary['rows']} images x {summary['dim']} {args.layer} features with Beam")
        return 0
    model, network = load_model(args.weights, args.variant, seed=args.seed)
    extractor = feature_extractor(model, args.layer)
    spec = eval_preprocessing_from(args, network)
    metadata = {
        "layer": args.layer,
        "weights": weights,
        "variant": network.variant,
        "preprocessing": network.preprocessing,
        "eval_preprocessing": spec.to_dict(),  # the resize and crop the images were embedded with
        "seed": args.seed if args.weights is None else None,
    }
    show = not args.no_progress and sys.stderr.isatty()
    total = count_inputs(args.inputs, data_dir=args.data_dir) if show else None
    items = expand_inputs(args.inputs, data_dir=args.data_dir)
    bound_native_heap()  # a flat peak RSS however many images (keras_alexnet.batch.memory)
    decoded = decode_stream(items, spec, workers=args.workers, in_flight=max(2 * args.batch_size, 32))
    skipped = 0

    def batches():
        nonlocal skipped
        rows, paths = [], []
        with progress_bar(total, enabled=show) as bar:
            for item, features in run_batches(decoded, fast_forward(extractor), network, args.batch_size):
                bar.update(1)
                if features is None:
                    skipped += 1
                    print(f"warning: skipping {item.error}", file=sys.stderr)
                    continue
                rows.append(features)
                paths.append(item.key if item.key.startswith("tfds:") else os.path.realpath(item.key))
                if len(rows) == args.batch_size:
                    yield np.stack(rows), paths
                    rows, paths = [], []
        if rows:
            yield np.stack(rows), paths

    import numpy as np

    shape = write_index(args.output, batches(), metadata, overwrite=args.overwrite)
    print(
        f"wrote {args.output}: {shape['rows']} images x {shape['dim']} {args.layer} features"
        + (f" ({skipped} unreadable files skipped)" if skipped else "")
    )
    return 0
