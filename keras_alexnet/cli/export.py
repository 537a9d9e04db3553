"""`keras-alexnet export`: write a TF SavedModel, ONNX, LiteRT or OpenVINO model for serving, checked against Keras."""

from __future__ import annotations

import argparse
import os
import sys

from keras_alexnet.cli._options import INT8, add_calibration_argument, add_precision_argument, add_weights_argument

FORMAT_CHOICES = ("saved_model", "onnx", "litert", "openvino", "serving")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export AlexNet as a TF SavedModel, ONNX, LiteRT or OpenVINO model (predictions checked against Keras)",
        description="Export AlexNet for serving with Keras' model.export, then load the artifact in its own "
        "runtime (TensorFlow, ONNX Runtime, LiteRT, OpenVINO) and check that it predicts what the Keras model "
        "predicts. The artifact only replaces OUTPUT once it passed. ONNX needs tf2onnx and LiteRT ai-edge-litert: "
        'pip install "keras-alexnet[export]"; OpenVINO (model.xml + model.bin in OUTPUT; --precision int8 with '
        '--calibration IMAGES quantizes with NNCF) needs pip install "keras-alexnet[openvino]".',
    )
    parser.add_argument(
        "output", help="output directory (saved_model, openvino) or file (.onnx / .tflite added if missing)"
    )
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
    parser.add_argument(
        "--min-agreement",
        type=float,
        default=None,
        help="--precision int8: the lowest top-1 agreement with fp32 on the calibration images accepted (default 0.95)",
    )
    add_precision_argument(parser, int8=True)
    add_calibration_argument(parser)
    parser.set_defaults(func=run)


def _check_int8_arguments(args: argparse.Namespace) -> None:
    if args.dtype == INT8 and args.format != "openvino":
        raise ValueError(
            f"--precision int8 exports --format openvino (OpenVINO + NNCF). Received: --format {args.format}"
        )
    if args.dtype == INT8 and not args.calibration:
        raise ValueError(
            "--precision int8 needs --calibration IMAGES (a few hundred images like those the model will see). "
            "Received: --precision int8 without --calibration"
        )
    if args.dtype != INT8 and (args.calibration is not None or args.min_agreement is not None):
        raise ValueError(
            f"--calibration and --min-agreement are for --precision int8. Received: --precision {args.dtype or 'fp32'}"
        )


def run(args: argparse.Namespace) -> int:
    import keras_alexnet
    from keras_alexnet.export import check_backend, check_export_path, default_path, export_model
    from keras_alexnet.models.variants import get_variant

    check_backend(args.format)  # one line before any model is built (PyTorch: not supported; JAX: saved_model)
    _check_int8_arguments(args)
    precision, args.dtype = ("int8", None) if args.dtype == INT8 else ("fp32", args.dtype)
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
    calibration = None
    if precision == "int8":
        from keras_alexnet.batch.stream import calibration_batch
        from keras_alexnet.eval_preprocessing import eval_preprocessing

        network = keras_alexnet.network_record(model)
        spec, size = eval_preprocessing(network), int(model.inputs[0].shape[1])
        if size != spec.crop:  # a feature extractor at its own --input-size: the same framing, scaled
            spec = eval_preprocessing(network, crop=size, resize=round(spec.resize * size / spec.crop))
        calibration = calibration_batch(args.calibration, spec, network)
    path = export_model(
        model,
        args.output,
        args.format,
        batch_size=args.batch_size,
        verify=not args.no_verify,
        atol=args.atol,
        rtol=args.rtol,
        overwrite=args.overwrite,
        precision=precision,
        calibration=calibration,
        **({"min_agreement": args.min_agreement} if args.min_agreement is not None else {}),
    )
    print(f"wrote {path} ({args.format}{' int8' if precision == 'int8' else ''}; {_checked(args, model, path)})")
    return 0


def _checked(args: argparse.Namespace, model, path) -> str:
    """How the artifact was checked, for the one line `export` prints."""
    from keras_alexnet.export import default_rtol, export_record

    if args.no_verify:
        return "not checked (--no-verify)"
    if args.dtype is None and args.format == "openvino" and "int8_agreement" in export_record(path):
        measured = export_record(path)["int8_agreement"]
        kl = "" if measured["mean_kl"] is None else f", mean KL {measured['mean_kl']:.3g} nats"
        return (
            f"agreement with fp32 on {measured['calibration_images']} calibration images: top-1 "
            f"{measured['top1']:.1%}{kl}, logit cosine {measured['cosine']:.4f}"
        )
    rtol = default_rtol(model) if args.rtol is None else args.rtol
    tolerance = f"{args.atol} + {rtol:.3g}·max|y|" if rtol else f"{args.atol}"
    return f"predictions match Keras within {tolerance}"


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
