"""`keras-alexnet info`: the per-layer table (output shape, parameters, MACs) of a variant."""

from __future__ import annotations

import argparse
import json

from keras_alexnet.cli.arguments import positive_int


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "info",
        help="per-layer table of a variant: output shapes, parameters, multiply-accumulates",
        description="Print the layers of an AlexNet variant with output shape, parameters and "
        "multiply-accumulates per image, with totals, and the registered weights for it.",
    )
    parser.add_argument("--variant", default="original", help="original (default) or torchvision")
    parser.add_argument("--no-top", action="store_true", help="without fc6/fc7/predictions")
    parser.add_argument("--input-size", type=positive_int, default=None, help="input side in pixels (with --no-top)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import keras_alexnet
    from keras_alexnet.models.summary import format_table, layer_table

    config = keras_alexnet.get_variant(args.variant)
    input_shape = None
    if args.input_size:
        input_shape = (args.input_size, args.input_size, 3)
    model = keras_alexnet.AlexNet(include_top=not args.no_top, variant=args.variant, input_shape=input_shape)
    rows = layer_table(model)
    records = [r for r in keras_alexnet.list_weights() if r.variant == config.name]
    if args.json:
        payload = {
            "variant": config.name,
            "description": config.description,
            "layers": [
                {
                    "name": r.name,
                    "type": r.kind,
                    "output_shape": list(r.output_shape),
                    "params": r.params,
                    "macs": r.macs,
                    "detail": r.detail,
                }
                for r in rows
            ],
            "total_params": sum(r.params for r in rows),
            "total_macs": sum(r.macs for r in rows),
            "weights": [r.name for r in records],
        }
        print(json.dumps(payload, indent=2))
        return 0
    print(f"AlexNet variant {config.name!r}: {config.description}")
    print(format_table(rows))
    lrn = config.lrn
    print(
        f"LRN default: {lrn.to_dict() if lrn else 'none'}; input {config.default_size}x{config.default_size}x3, "
        f"minimum {config.min_size()} px without the top; preprocessing {config.preprocessing!r}"
    )
    for record in records:
        lrn_text = record.network.lrn.to_dict() if record.network.lrn else "none"
        reported = "; ".join(
            f"{result.source} reports {result.metrics_text()} ({result.preprocessing})"
            for result in record.reported_results
        )
        print(f"weights {record.name!r}: {record.description} LRN {lrn_text}; {reported or 'no reported accuracy'}")
    return 0
