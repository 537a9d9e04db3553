"""`keras-alexnet kernels`: the 96 conv1 kernels as two tower blocks (paper Figure 3) + colour numbers.

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> build_parser().parse_args(["kernels", "-o", "k.png"]).output
'k.png'
"""

from __future__ import annotations

import argparse
from pathlib import Path

from keras_alexnet.cli._options import add_model_options, describe_weights


def register(subparsers) -> None:

    parser = subparsers.add_parser(
        "kernels",
        help="draw the conv1 kernels per tower and measure their colour specificity (Figure 3)",
        description="Draw the first-layer kernels, contrast-normalised per kernel, one labelled block "
        "per tower, and print/store each tower's mean chroma and colour fraction.",
    )
    add_model_options(parser)
    parser.add_argument("-o", "--output", default="kernels.png", help="PNG to write (default: kernels.png)")
    parser.add_argument("--json", default=None, help="JSON report to write (default: OUTPUT with .json)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from keras_alexnet.analysis.kernels import (
        conv1_kernels,
        kernel_report,
        model_towers,
        plot_kernels,
        write_report,
    )
    from keras_alexnet.analysis.model_io import load_model
    from keras_alexnet.analysis.plotting import matplotlib_module

    output = Path(args.output)
    if output.suffix.lower() != ".png":
        raise ValueError(f"-o/--output must be a .png file. Received: {args.output!r}")
    matplotlib_module()  # without the [analysis] extra: one line now, not after the computation
    model, network = load_model(args.weights, args.variant, include_top=False, seed=args.seed)
    kernels = conv1_kernels(model, network)
    report = kernel_report(kernels, groups=model_towers(model))
    description = describe_weights(args.weights, args.seed if args.weights is None else None)
    report = {
        "weights": description,
        "variant": network.variant,
        "checkpoint_channel_order": network.channel_order,
        "kernel_shape": list(kernels.shape[1:]),
        **report,
    }
    plot_kernels(kernels, report, output, title=f"conv1 kernels of {network.variant} AlexNet, {description}")
    json_path = write_report(report, args.json or output.with_suffix(".json"))
    for tower in report["towers"]:
        print(
            f"{tower['label']}: mean chroma {tower['mean_chroma']:.4f}, colour fraction {tower['colour_fraction']:.4f}"
        )
    print(f"wrote {output} and {json_path}")
    return 0
