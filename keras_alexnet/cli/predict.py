"""`keras-alexnet predict`: the top-K classes of any number of images, named as the checkpoint names them.

ImageNet checkpoints print WordNet ids and names; checkpoints written by `train`,
`finetune` and `quickstart` print their own class names (folders, TFDS labels, digits).
Inputs stream (`keras_alexnet.batch.inputs`): files, folders, globs, @list.txt, tfds:NAME:SPLIT;
`--output results.jsonl|csv` writes rows as they arrive and `--resume` continues a killed run
(`keras_alexnet.batch.results`); `--runner beam` runs the same steps as an Apache Beam pipeline.

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> args = build_parser().parse_args(["predict", "photos/", "--output", "results.jsonl", "--resume"])
>>> args.inputs, args.output, args.resume, args.runner
(['photos/'], 'results.jsonl', True, 'local')
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from keras_alexnet.cli._options import (
    FAST_PRECISIONS,
    INT8,
    add_precision_argument,
    add_runtime_arguments,
    add_weights_argument,
)
from keras_alexnet.cli.arguments import non_negative_int, positive_int
from keras_alexnet.cli.batch_options import add_input_arguments, add_runner_arguments
from keras_alexnet.cli.preprocessing_options import add_preprocessing_arguments, eval_preprocessing_from


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="classify images (top-K labels of the checkpoint's classes), streamed, resumable",
        description="Classify images with AlexNet. Inputs that are not readable images, or larger than "
        "keras_alexnet.image_io.MAX_IMAGE_PIXELS, are reported on stderr (one line each) and, with --output, as "
        "error rows; the others are classified; the exit status is 1 if any input failed. Images are decoded in "
        "parallel and streamed through the network, so memory does not grow with their number (docs/batch.md).",
    )
    add_input_arguments(parser)
    add_weights_argument(parser, default="imagenet")
    parser.add_argument("--variant", default=None, help="original or torchvision (default: the weights' variant)")
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="seed of the random weights of --weights none (default 0)"
    )
    parser.add_argument(
        "--top", type=int, default=5, help="number of labels per image (default 5; at most the class count)"
    )
    parser.add_argument("--batch-size", type=positive_int, default=16, help="images per model call (default 16)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    parser.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="RESULTS",
        help="write results to RESULTS.jsonl (one JSON object a line) or RESULTS.csv as they arrive, one row per "
        "input with its path, error rows for unreadable files",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue --output: skip the inputs already in it (results or errors)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace --output whatever it holds")
    add_preprocessing_arguments(parser)
    add_precision_argument(parser, int8=True)
    add_runtime_arguments(parser)
    add_runner_arguments(parser)
    parser.set_defaults(func=run)


def _check_runtime_arguments(args: argparse.Namespace) -> None:
    if args.dtype not in FAST_PRECISIONS:
        raise ValueError(
            "--runtime runs --precision fp32, bf16 or int8 (keras_alexnet.fast_predictor). "
            f"Received: --precision {args.dtype} --runtime {args.runtime}"
        )
    if args.dtype == INT8 and not args.calibration:
        raise ValueError(
            "--precision int8 needs --calibration IMAGES (a few hundred images like those to classify). "
            "Received: --precision int8 without --calibration"
        )
    if args.dtype != INT8 and args.calibration is not None:
        raise ValueError(f"--calibration is for --precision int8. Received: --precision {args.dtype or 'fp32'}")


def _fast_forward(args: argparse.Namespace, model, network, spec):
    """`fast_predictor(...).predict` for --runtime / --precision int8; one line on stderr says what runs."""
    from keras_alexnet.batch.stream import calibration_batch
    from keras_alexnet.fast_predictor import fast_predictor

    precision = FAST_PRECISIONS[args.dtype]
    calibration = calibration_batch(args.calibration, spec, network) if precision == "int8" else None
    runtime = "auto" if args.runtime == "keras" else args.runtime
    predictor = fast_predictor(model, precision, runtime, calibration=calibration, batch_size=args.batch_size)
    details = [f"computes in {predictor.inference_precision}"]
    if predictor.measurements:
        details.append("measured " + ", ".join(f"{k} {v:.0f}" for k, v in predictor.measurements.items()) + " images/s")
    if predictor.agreement is not None:
        details.append(f"top-1 agreement with fp32 {predictor.agreement:.1%} on {len(calibration)} calibration images")
    print(f"keras-alexnet predict: runtime {predictor.runtime}, {precision} ({'; '.join(details)})", file=sys.stderr)
    return predictor.predict


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise ValueError(f"--top must be a positive integer. Received: --top {args.top}")
    if args.resume and args.output is None:
        raise ValueError("--resume continues a results file: give it with --output. Received: --resume alone")
    import keras

    import keras_alexnet
    from keras_alexnet.batch.inputs import check_inputs, count_inputs, decode_stream, expand_inputs
    from keras_alexnet.batch.memory import bound_native_heap
    from keras_alexnet.batch.results import ResultsWriter, results_format
    from keras_alexnet.batch.stream import fast_forward, progress_bar, run_batches
    from keras_alexnet.labels import is_imagenet, top_k_labels

    if args.output is not None:
        results_format(args.output)  # a bad suffix fails before the model is built
    check_inputs(args.inputs, data_dir=args.data_dir)
    weights = args.weights
    fast = args.runtime != "keras" or args.dtype == INT8
    if fast:
        _check_runtime_arguments(args)
    elif args.calibration is not None:
        raise ValueError("--calibration is for --precision int8. Received: --calibration without --precision int8")
    if args.runner == "beam":
        if fast:
            raise ValueError(f"--runtime/--precision int8 run in this process, not with --runner beam. Received: "
                             f"--runtime {args.runtime} --precision {args.dtype} --runner beam")  # fmt: skip
        return _run_beam(args, weights)
    if weights is None:
        keras.utils.set_random_seed(args.seed)
    model = keras_alexnet.AlexNet(weights=weights, variant=args.variant, dtype=None if fast else args.dtype)
    network = keras_alexnet.network_record(model)
    if args.top > network.classes:
        raise ValueError(f"--top must be at most the model's {network.classes} classes. Received: --top {args.top}")
    spec = eval_preprocessing_from(args, network)  # as the checkpoint was evaluated, unless overridden
    if weights is None:
        print("warning: --weights none: random weights, the labels below are meaningless", file=sys.stderr)
    imagenet = is_imagenet(network)

    writer = None
    if args.output is not None:
        writer = ResultsWriter(
            args.output, top=args.top, imagenet=imagenet, resume=args.resume, overwrite=args.overwrite
        )
    done = set(writer.done_keys) if writer is not None else set()
    skipped = len(done)
    show = not args.no_progress and sys.stderr.isatty()
    total = count_inputs(args.inputs, data_dir=args.data_dir) if show else None
    items = expand_inputs(args.inputs, data_dir=args.data_dir, skip=done)
    workers = args.workers
    bound_native_heap()  # a flat peak RSS however many images (keras_alexnet.batch.memory)
    decoded = decode_stream(items, spec, workers=workers, in_flight=max(2 * args.batch_size, 32))
    collected, failures, batch_rows = {}, 0, 0
    try:
        with progress_bar(total, enabled=show, initial=min(skipped, total or 0)) as bar:
            forward = _fast_forward(args, model, network, spec) if fast else fast_forward(model)
            for item, outputs in run_batches(decoded, forward, network, args.batch_size):
                bar.update(1)
                if outputs is None:
                    failures += 1
                    print(f"keras-alexnet predict: error: {item.error}", file=sys.stderr)
                    if writer is not None:
                        writer.write_error(item.key, item.error)
                else:
                    labels = top_k_labels(outputs[None], network, top=args.top)[0]
                    if writer is not None:
                        writer.write_labels(item.key, labels)
                    elif args.json:
                        collected[item.key] = [label.to_dict(imagenet=imagenet) for label in labels]
                    else:
                        _print_labels(item.key, labels, imagenet)
                batch_rows += 1
                if writer is not None and batch_rows >= args.batch_size:
                    writer.flush()
                    batch_rows = 0
    finally:
        if writer is not None:
            writer.close()

    if writer is not None:
        note = f", {skipped} inputs already there skipped (--resume)" if args.resume else ""
        print(f"wrote {writer.rows} rows to {args.output} ({writer.errors} errors{note})")
    elif args.json:
        payload = {
            "weights": args.weights if args.weights is not None else "none",
            "preprocessing": spec.to_dict(),
            "classes": network.classes,
            "predictions": collected,
            "failed": failures,
        }
        print(json.dumps(payload, indent=2))
    return 1 if failures else 0


def _print_labels(key: str, labels, imagenet: bool) -> None:
    lines = [key]
    for rank, label in enumerate(labels, start=1):
        lines.append(f"  {rank}. {label.score:7.2%}  {label.name}" + (f" ({label.id})" if imagenet else ""))
    print("\n".join(lines), flush=True)


def _run_beam(args: argparse.Namespace, weights: str | None) -> int:
    """`--runner beam`: the same steps as an Apache Beam pipeline (keras_alexnet.batch.beam)."""
    from keras_alexnet.batch.beam import run_predict_pipeline

    if args.output is None:
        raise ValueError("--runner beam writes its results to a file: give it with --output. Received: no --output")
    if args.resume:
        raise ValueError(
            "--resume is for the local runner; Beam runners retry failed work themselves. Received: --resume"
        )
    summary = run_predict_pipeline(
        args.inputs,
        args.output,
        weights=weights,
        variant=args.variant,
        seed=args.seed,
        top=args.top,
        batch_size=args.batch_size,
        resize_mode=args.resize_mode,
        resize=args.resize,
        dtype=args.dtype,
        beam_args=shlex.split(args.beam_options),
        overwrite=args.overwrite,
        data_dir=args.data_dir,
    )
    print(f"wrote {summary['rows']} rows to {args.output} ({summary['errors']} errors) with Beam's {summary['runner']}")
    return 1 if summary["errors"] else 0
