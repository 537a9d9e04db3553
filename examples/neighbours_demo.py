"""Nearest neighbours in fc7 (the paper's Figure 4) on offline data, end to end.

Writes views (crops, mirrors, colour changes) of the two sample photographs
that scikit-learn ships into a folder, embeds them with `keras-alexnet embed`,
and retrieves the neighbours of one view of each photo with
`keras-alexnet neighbours`. Pass `--weights` (a checkpoint directory or a
registered name such as `bvlc_imagenet1k`) for pretrained features; the default
is a randomly initialised network (seed 0), whose fc7 space already groups the
views of one photo, but much less reliably.

    python examples/neighbours_demo.py -o neighbours.png
"""

from __future__ import annotations

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv: list[str] | None = None) -> int:
    from keras_alexnet.analysis.demo_data import write_sample_views
    from keras_alexnet.cli.main import main as cli

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", default="neighbours.png")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--views", type=int, default=8, help="views per photograph (default: 8)")
    parser.add_argument("-k", type=int, default=6)
    parser.add_argument("--metric", choices=("euclidean", "cosine"), default="euclidean")
    args = parser.parse_args(argv)

    folder = tempfile.mkdtemp(prefix="neighbours_demo_")
    paths = write_sample_views(os.path.join(folder, "images"), views=args.views)
    index = os.path.join(folder, "index.npz")
    weights = ["--weights", args.weights] if args.weights else []
    if cli(["embed", os.path.join(folder, "images"), "-o", index, "--no-progress", *weights]):
        return 1
    queries = [str(paths[0]), str(paths[args.views + 1])]  # one view of each photograph
    return cli(
        ["neighbours", *queries, "--index", index, "-k", str(args.k), "--metric", args.metric, "-o", args.output]
    )


if __name__ == "__main__":
    raise SystemExit(main())
