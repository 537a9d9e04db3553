"""`keras-alexnet export`: write a TF SavedModel, ONNX or LiteRT file for serving, checked against Keras."""

from __future__ import annotations

import argparse
import os
import sys

from keras_alexnet.cli._options import add_precision_argument, add_weights_argument

FORMAT_CHOICES = ("saved_model", "onnx", "litert", "serving")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export AlexNet as a TF SavedModel, ONNX or LiteRT model (predictions checked against Keras)",
        description="Export AlexNet for serving with Keras' model.export, then load the artifact in its own "
        "runtime (TensorFlow, ONNX Runtime, LiteRT) and check that it predicts what the Keras model predicts. "
        "The artifact only replaces OUTPUT once it passed. ONNX needs tf2onnx and LiteRT ai-edge-litert: "
        'pip install "keras-alexnet[export]".',
    )
    parser.add_argument("output", help="output directory (saved_model) or file (.onnx / .tflite added if missing)")
    parser.add_argument(
        "--format",
        choices=FORMAT_CHOICES,
        default="saved_model",
        help="default: saved_model; serving: a SavedModel for TF Serving with the preprocessing inside (encoded "
        "JPEG/PNG bytes in, top-k WordNet ids, labels and scores out)",
    )
    parser.add_argument("--top-k", type=int, default=5, help="classes per image with --format serving (default 5)")
    add_weights_argument(parser, default="imagenet")
    parser.add_argument("--variant", default=None, help="original or torchvision (default: the weights' variant)")
    parser.add_argument("--no-top", action="store_true", help="export the feature extractor (include_top=False)")
    parser.add_argument(
        "--input-size", type=int, default=None, help="square input side with --no-top (default: the variant's)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="fixed batch dimension (default: any batch for saved_model/onnx, 1 for litert)",
    )
    parser.add_argument(
        "--atol", type=float, default=1e-4, help="absolute tolerance of the parity check (default 1e-4)"
    )
    parser.add_argument(
        "--rtol",
        type=float,
        default=None,
        help="tolerance relative to the largest output, added to --atol (default: 0 for float32, 2**-6 for bfloat16)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the parity check")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace OUTPUT even if it is not an earlier export (by default only an empty directory or an earlier "
        "export of the same format is replaced)",
    )
    parser.add_argument("--no-overwrite", action="store_true", help="fail if OUTPUT exists at all")
    add_precision_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import keras_alexnet
    from keras_alexnet.export import check_backend, check_export_path, default_path, default_rtol, export_model
    from keras_alexnet.models.variants import get_variant

    check_backend(args.format)  # one line before any model is built (PyTorch: not supported; JAX: saved_model)
    if args.format == "serving":
        return _run_serving(args)
    output = default_path(args.output, args.format)
    if args.no_overwrite and os.path.lexists(output):
        raise ValueError(f"{output} exists and --no-overwrite was given; nothing was written. Received: {output}")
    check_export_path(output, args.format, overwrite=args.overwrite)
    weights = args.weights
    input_shape = None
    if args.input_size is not None:
        if not args.no_top:
            raise ValueError(
                "--input-size needs --no-top (with the classifier the input is the variant's fixed size). "
                f"Received: --input-size {args.input_size}"
            )
        input_shape = (args.input_size, args.input_size, 3)
    elif args.no_top:
        size = get_variant(args.variant or "original").default_size if weights is None else None
        input_shape = (size, size, 3) if size else None
    model = keras_alexnet.AlexNet(
        include_top=not args.no_top,
        weights=weights,
        variant=args.variant,
        input_shape=input_shape,
        dtype=args.dtype,
    )
    if args.no_top and input_shape is None:  # the weights' variant decides the size: rebuild at it
        size = keras_alexnet.network_record(model).input_size
        model = keras_alexnet.AlexNet(
            include_top=False, weights=weights, variant=args.variant, input_shape=(size, size, 3), dtype=args.dtype
        )
    if weights is None:
        print("warning: --weights none: exporting random weights", file=sys.stderr)
    path = export_model(
        model,
        args.output,
        args.format,
        batch_size=args.batch_size,
        verify=not args.no_verify,
        atol=args.atol,
        rtol=args.rtol,
        overwrite=args.overwrite,
    )
    rtol = default_rtol(model) if args.rtol is None else args.rtol
    tolerance = f"{args.atol} + {rtol:.3g}·max|y|" if rtol else f"{args.atol}"
    checked = "not checked (--no-verify)" if args.no_verify else f"predictions match Keras within {tolerance}"
    print(f"wrote {path} ({args.format}; {checked})")
    return 0


def _run_serving(args: argparse.Namespace) -> int:
    """`--format serving`: the classifier with its checkpoint's preprocessing, bytes in, top-k out."""
    import keras_alexnet
    from keras_alexnet.export import export_serving

    if args.no_top or args.input_size is not None:
        raise ValueError("--format serving exports the classifier: drop --no-top/--input-size. Received: --no-top")
    if args.no_overwrite and os.path.lexists(args.output):
        raise ValueError(
            f"{args.output} exists and --no-overwrite was given; nothing was written. Received: {args.output}"
        )
    weights = args.weights
    model = keras_alexnet.AlexNet(weights=weights, variant=args.variant, dtype=args.dtype)
    if weights is None:
        print("warning: --weights none: exporting random weights", file=sys.stderr)
    path = export_serving(model, args.output, top_k=args.top_k, overwrite=args.overwrite)
    print(
        f"wrote {path} (serving SavedModel: signature serving_default takes encoded JPEG/PNG bytes, "
        f"returns the top {args.top_k} ids, labels and scores)"
    )
    return 0
