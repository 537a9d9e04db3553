"""`keras-alexnet neighbours QUERY... --index index.npz -k 6 -o grid.png` (paper Figure 4).

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> args = build_parser().parse_args(["neighbours", "q.jpg", "--index", "i.npz"])
>>> args.k, args.metric
(6, 'euclidean')
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from keras_alexnet.cli._options import describe_weights
from keras_alexnet.cli.arguments import positive_int
from keras_alexnet.outputs import write_text_atomic


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "neighbours",
        help="retrieve the images of an index nearest to query images in fc7 space (Figure 4)",
        description="Embed each QUERY image with the index's network and layer, find its k nearest "
        "index images (Euclidean, as in the paper, or cosine) and draw query + neighbours, one row per query.",
    )
    parser.add_argument("queries", metavar="QUERY", nargs="+", help="query image files")
    parser.add_argument("--index", required=True, help="index written by `keras-alexnet embed`")
    parser.add_argument("-k", type=positive_int, default=6, help="neighbours per query (default: 6)")
    parser.add_argument("-o", "--output", default="neighbours.png", help="PNG to write (default: neighbours.png)")
    parser.add_argument("--metric", choices=("euclidean", "cosine"), default="euclidean")
    parser.add_argument("--json", default=None, help="also write the neighbours and distances as JSON")
    parser.add_argument(
        "--include-self",
        action="store_true",
        help="let a query that is itself in the index be returned (default: excluded)",
    )
    parser.add_argument(
        "--weights",
        default=None,
        help="override the weights recorded in the index (must be the network the index was built with)",
    )
    parser.add_argument("--chunk-rows", type=positive_int, default=4096, help="index rows compared at a time")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from keras_alexnet.analysis.features import feature_extractor, iter_features
    from keras_alexnet.analysis.index import iter_index_chunks, read_index_metadata
    from keras_alexnet.analysis.model_io import load_model
    from keras_alexnet.analysis.neighbours import plot_neighbours, top_k
    from keras_alexnet.analysis.plotting import matplotlib_module
    from keras_alexnet.image_io import load_image

    if args.k < 1:
        raise ValueError(f"-k must be a positive integer. Received: -k {args.k}")
    matplotlib_module()  # without the [analysis] extra: one line now, not after the computation
    queries = [Path(q) for q in args.queries]
    for query in queries:
        if not query.is_file():
            raise FileNotFoundError(f"No such query image. Received: {os.fspath(query)!r}")
    index = read_index_metadata(args.index)
    weights = args.weights or index.get("weights")
    seed = int(index["seed"]) if index.get("seed") and weights is None else 0
    model, network = load_model(weights, index.get("variant"), seed=seed)
    extractor = feature_extractor(model, index.get("layer") or "fc7")
    resolved = [q.resolve() for q in queries]
    rows = list(iter_features(extractor, resolved, network, progress=False))
    embedded = [p for _, paths in rows for p in paths]
    if len(embedded) != len(queries):
        missing = sorted(set(map(str, resolved)) - set(map(str, embedded)))
        raise ValueError(f"Some query files are not readable images. Received: {missing}")
    features = np.concatenate([f for f, _ in rows])
    if features.shape[1] != index["shape"][1]:
        raise ValueError(
            f"The query features have {features.shape[1]} dimensions, the index {index['shape'][1]}; "
            f"use the weights and layer the index was built with. Received: weights={weights!r}"
        )
    row_of = {path: row for row, path in enumerate(index["paths"])}
    exclude = None if args.include_self else [{row_of[str(p)]} if str(p) in row_of else set() for p in resolved]
    distances, neighbours = top_k(
        features, iter_index_chunks(args.index, args.chunk_rows), args.k, args.metric, exclude
    )
    results = []
    for q, query in enumerate(queries):
        found = [
            {"path": index["paths"][r], "distance": float(d)} for r, d in zip(neighbours[q], distances[q], strict=True)
        ]
        results.append({"query": os.fspath(query), "neighbours": found})
        print(f"{query}:")
        for rank, item in enumerate(found, start=1):
            print(f"  {rank}. {item['distance']:.4g}  {item['path']}")
    size = network.input_size
    query_images = [load_image(p, size=size) for p in resolved]
    neighbour_images = [[load_image(item["path"], size=size) for item in r["neighbours"]] for r in results]
    title = (
        f"{args.k} nearest neighbours in {index.get('layer') or 'fc7'} ({args.metric}), "
        f"{describe_weights(weights, seed if weights is None else None)}"
    )
    plot_neighbours(query_images, [os.fspath(q) for q in queries], neighbour_images, distances, args.output, title)
    if args.json:
        write_text_atomic(args.json, json.dumps({"metric": args.metric, "results": results}, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0
