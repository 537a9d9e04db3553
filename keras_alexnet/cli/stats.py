"""`keras-alexnet stats`: compute the training set's mean image, channel mean and RGB PCA, and save them.

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> build_parser().parse_args(["stats", "--dataset", "digits", "--output", "runs/x"]).resize
256
"""

from __future__ import annotations

from keras_alexnet.cli._options import add_split_arguments, source_kwargs
from keras_alexnet.cli.arguments import positive_int


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "stats",
        help="compute mean image / channel mean and RGB PCA of a training set (pixel_stats.npz)",
        description="One pass over the training split (shorter side to --resize, centre square): the per-pixel "
        "mean image, the per-channel mean and the eigen-decomposition of the RGB covariance, saved as "
        "pixel_stats.npz and pixel_stats.json in --output (pass it to `train --stats`).",
    )
    add_split_arguments(parser, split="train")
    parser.add_argument("--resize", type=positive_int, default=256)
    parser.add_argument("--output", required=True, help="directory to write pixel_stats.npz/json into")
    parser.set_defaults(func=run)


def run(args) -> int:
    from keras_alexnet.data import compute_statistics, load_source

    source = load_source(args.dataset, args.split, **source_kwargs(args))
    stats = compute_statistics(source, side=args.resize)
    path = stats.save(args.output)
    print(
        f"{stats.num_images} images; channel mean (RGB) {stats.channel_mean.round(3).tolist()}; "
        f"PCA eigenvalues {stats.eigenvalues.round(5).tolist()}; {source.bad_records.report()}"
    )
    print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0
