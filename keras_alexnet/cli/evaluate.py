"""`keras-alexnet evaluate --weights W --dataset D [--ten-crop]`: top-1/top-5 error, per-class CSV, confusions.

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> args = build_parser().parse_args(["evaluate", "--dataset", "digits", "--ten-crop"])
>>> args.ten_crop, args.split
(True, 'validation')
"""

from __future__ import annotations

import argparse
import json

from keras_alexnet.cli._options import add_model_options, add_split_arguments, describe_weights, source_kwargs
from keras_alexnet.cli.arguments import non_negative_int, positive_int
from keras_alexnet.cli.preprocessing_options import add_preprocessing_arguments, eval_preprocessing_from
from keras_alexnet.outputs import write_text_atomic


def register(subparsers) -> None:

    parser = subparsers.add_parser(
        "evaluate",
        help="top-1/top-5 error (centre crop, optionally ten-crop), per-class accuracy CSV, most-confused pairs",
        description="Evaluate a checkpoint on a TFDS dataset (--dataset NAME --split SPLIT, or --dataset "
        "tfds:NAME:SPLIT as predict and embed take it), a local folder (class sub-folders; WordNet-id "
        "names map to the 1000 ImageNet classes) or the embedded 'digits' set.",
    )
    add_model_options(parser)
    add_split_arguments(parser, split="validation", dataset_default=None)
    add_preprocessing_arguments(parser)
    parser.add_argument("--ten-crop", action="store_true", help="also evaluate the paper's ten-crop average")
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--csv", default="per_class_accuracy.csv", help="per-class accuracy CSV to write")
    parser.add_argument("--json", default=None, help="also write the summary as JSON")
    parser.add_argument(
        "--plot", default="evaluation.png", help="PNG: per-class accuracy and the most-confused classes"
    )
    parser.add_argument("--top-confusions", type=non_negative_int, default=10, help="most-confused pairs to print")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from keras_alexnet.analysis.evaluation import (
        WNID,
        label_mapping,
        most_confused,
        plot_evaluation,
        write_per_class_csv,
    )
    from keras_alexnet.analysis.model_io import load_model, weights_network
    from keras_alexnet.analysis.plotting import matplotlib_module
    from keras_alexnet.data import load_eval_dataset, predict_probabilities, top_k_error
    from keras_alexnet.data.sources import load_source

    if not args.plot.lower().endswith(".png"):
        raise ValueError(f"--plot must be a .png file. Received: {args.plot!r}")
    matplotlib_module()  # without the [analysis] extra: one line now, not after the computation
    if args.batch_size < 1 or (args.limit is not None and args.limit < 1) or args.top_confusions < 0:
        raise ValueError(
            "--batch-size and --limit must be positive, and --top-confusions non-negative. "
            f"Received: --batch-size {args.batch_size}, --limit {args.limit}, --top-confusions {args.top_confusions}"
        )
    if args.dataset.startswith("tfds:"):  # the streaming inputs' form of a TFDS split (keras_alexnet.batch.inputs)
        from keras_alexnet.batch.inputs import parse_tfds_spec

        args.dataset, args.split = parse_tfds_spec(args.dataset)
    network = weights_network(args.weights, args.variant)
    common = source_kwargs(args)
    class_names = load_source(args.dataset, args.split, **common).class_names
    if args.weights is None:  # a random network: ImageNet outputs for WordNet-id classes, else one per class
        classes = 1000 if all(WNID.match(name) for name in class_names) else len(class_names)
    else:
        classes = network.classes
    mapping, model_names = label_mapping(class_names, classes, network.categories, network.class_names)
    model, network = load_model(args.weights, args.variant, seed=args.seed, classes=classes)
    description = describe_weights(args.weights, args.seed if args.weights is None else None)
    spec = eval_preprocessing_from(args, network)  # as the checkpoint was evaluated, unless overridden

    results = {}
    summary = {
        "weights": description,
        "dataset": args.dataset,
        "split": args.split,
        "preprocessing": spec.to_dict(),
        "crops": {},
    }
    dataset_labels = None
    for crops in ("center", "ten") if args.ten_crop else ("center",):
        dataset, source = load_eval_dataset(
            args.dataset,
            args.split,
            image_size=spec.crop,
            crops=crops,
            batch_size=args.batch_size,
            normalization=network,
            resize=spec.resize,
            resize_mode=spec.resize_mode,
            **common,
        )
        probabilities, labels = predict_probabilities(model, dataset)
        dataset_labels = labels.astype(np.int64)
        mapped = mapping[dataset_labels]
        results[crops] = (probabilities, mapped)
        summary["crops"][crops] = {
            "top1_error": top_k_error(probabilities, mapped, 1),
            "top5_error": top_k_error(probabilities, mapped, 5),
            "images": int(len(mapped)),
            "bad_records": int(source.bad_records.count),
        }

    print(f"{args.dataset} ({args.split}), {summary['crops']['center']['images']} images, {description}")
    print(f"preprocessing: {spec.describe()}")
    print(f"{'crops':<8} {'top-1 error':>12} {'top-5 error':>12}")
    for crops, row in summary["crops"].items():
        print(f"{crops:<8} {row['top1_error']:>12.4f} {row['top5_error']:>12.4f}")
    best = "ten" if args.ten_crop else "center"
    probabilities, mapped = results[best]
    confusions = most_confused(probabilities.argmax(axis=1), mapped, args.top_confusions)
    summary["most_confused"] = []
    if confusions:
        print(f"most confused pairs ({best} crop): true -> predicted: count")
    for true, predicted, count in confusions:
        names = [model_names[i] if i < len(model_names) else str(i) for i in (true, predicted)]
        summary["most_confused"].append({"true": names[0], "predicted": names[1], "count": count})
        print(f"  {names[0]} -> {names[1]}: {count}")
    csv_path = write_per_class_csv(args.csv, class_names, mapping, model_names, results, dataset_labels)
    if summary["crops"]["center"]["bad_records"]:
        print(source.bad_records.report())
    title = f"{args.dataset} ({args.split}, {best} crop), {description}"
    plot_path = plot_evaluation(probabilities, mapped, model_names, args.plot, title, args.top_confusions or 10)
    print(f"wrote {csv_path} and {plot_path}")
    if args.json:
        write_text_atomic(args.json, json.dumps(summary, indent=2) + "\n")
    return 0
