"""`keras-alexnet activations IMAGE --layer conv1 -o act.png`: one image's feature maps as a grid.

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> build_parser().parse_args(["activations", "cat.jpg", "--layer", "conv2"]).layer
'conv2'
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from keras_alexnet.cli._options import add_model_options, describe_weights
from keras_alexnet.cli.arguments import positive_int


def register(subparsers) -> None:

    parser = subparsers.add_parser(
        "activations",
        help="draw the feature maps of one image at one layer (conv1, norm1, pool1, conv2, ...)",
        description="Run IMAGE through the network (shorter side 256, centre crop) and draw the output "
        "channels of --layer as a grid, each scaled to its own range.",
    )
    parser.add_argument("image", metavar="IMAGE", help="image file")
    parser.add_argument("--layer", default="conv1", help="layer with feature maps (default: conv1)")
    parser.add_argument("-o", "--output", default="activations.png", help="PNG to write")
    parser.add_argument("--max-maps", type=positive_int, default=None, help="draw only the first N channels")
    add_model_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from keras_alexnet.analysis.activations import layer_activations, plot_activations
    from keras_alexnet.analysis.model_io import load_model
    from keras_alexnet.analysis.plotting import matplotlib_module
    from keras_alexnet.image_io import load_image
    from keras_alexnet.preprocessing import preprocess_for

    if not Path(args.image).is_file():
        raise FileNotFoundError(f"No such image file. Received: {os.fspath(args.image)!r}")
    if args.max_maps is not None and args.max_maps < 1:
        raise ValueError(f"--max-maps must be a positive integer. Received: {args.max_maps}")
    if Path(args.output).suffix.lower() != ".png":
        raise ValueError(f"-o/--output must be a .png file. Received: {args.output!r}")
    matplotlib_module()  # without the [analysis] extra: one line now, not after the computation
    model, network = load_model(args.weights, args.variant, include_top=False, seed=args.seed)
    image = load_image(args.image, size=network.input_size)
    maps = layer_activations(model, preprocess_for(image, network), args.layer)
    title = (
        f"{args.layer} of {network.variant} AlexNet on {Path(args.image).name}, "
        f"{describe_weights(args.weights, args.seed if args.weights is None else None)}"
    )
    plot_activations(image, maps, args.output, title, args.max_maps)
    print(f"{args.layer}: {maps.shape[2]} maps of {maps.shape[0]}x{maps.shape[1]}; wrote {args.output}")
    return 0
