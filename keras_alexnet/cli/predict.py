"""`keras-alexnet predict`: the top-K classes of image files, named as the checkpoint names them.

ImageNet checkpoints print WordNet ids and names; checkpoints written by `train`,
`finetune` and `quickstart` print their own class names (folders, TFDS labels, digits).
"""

from __future__ import annotations

import argparse
import json
import sys

from keras_alexnet.cli.arguments import positive_int
from keras_alexnet.cli.preprocessing_options import add_preprocessing_arguments, eval_preprocessing_from
from keras_alexnet.performance import add_dtype_argument


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="classify image files (top-K labels of the checkpoint's classes)",
        description="Classify images with AlexNet. Files that are not readable images, or larger than "
        "keras_alexnet.image_io.MAX_IMAGE_PIXELS, are reported on stderr (one line each) and skipped; the others "
        "are classified; the exit status is 1 if any file failed.",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (any format Pillow reads)")
    parser.add_argument(
        "--weights",
        default="imagenet",
        help="'imagenet' (default), a registered name, hf://org/repo, a checkpoint directory, a .weights.h5 or "
        ".keras file, or 'none' for random weights (smoke tests only: the labels are meaningless)",
    )
    parser.add_argument("--variant", default=None, help="original or torchvision (default: the weights' variant)")
    parser.add_argument(
        "--top", type=int, default=5, help="number of labels per image (default 5; at most the class count)"
    )
    parser.add_argument("--batch-size", type=positive_int, default=16, help="images per model call (default 16)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    add_preprocessing_arguments(parser)
    add_dtype_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise ValueError(f"--top must be a positive integer. Received: --top {args.top}")
    import numpy as np

    import keras_alexnet
    from keras_alexnet.image_io import ImageReadError, load_image
    from keras_alexnet.labels import is_imagenet, top_k_labels
    from keras_alexnet.preprocessing import preprocess_for

    weights = None if args.weights.lower() == "none" else args.weights
    model = keras_alexnet.AlexNet(weights=weights, variant=args.variant, dtype=args.dtype)
    network = keras_alexnet.network_record(model)
    if args.top > network.classes:
        raise ValueError(f"--top must be at most the model's {network.classes} classes. Received: --top {args.top}")
    spec = eval_preprocessing_from(args, network)  # as the checkpoint was evaluated, unless overridden
    if weights is None:
        print("warning: --weights none: random weights, the labels below are meaningless", file=sys.stderr)

    paths, images, failures = [], [], 0
    for path in args.images:
        try:
            images.append(load_image(path, size=spec.crop, resize=spec.resize, resize_mode=spec.resize_mode))
            paths.append(path)
        except (ImageReadError, FileNotFoundError) as error:  # every per-file failure of load_image
            failures += 1
            message = str(error) if isinstance(error, ImageReadError) else f"{path}: {error.strerror or error}"
            print(f"keras-alexnet predict: error: {message}", file=sys.stderr)

    imagenet = is_imagenet(network)
    results = {}
    for start in range(0, len(images), args.batch_size):
        batch = np.stack(images[start : start + args.batch_size])
        preds = model.predict(preprocess_for(batch, network), verbose=0)
        decoded = top_k_labels(preds, network, top=args.top)
        for path, labels in zip(paths[start : start + args.batch_size], decoded, strict=True):
            results[path] = labels

    if args.json:
        payload = {
            "weights": args.weights,
            "preprocessing": spec.to_dict(),
            "classes": network.classes,
            "predictions": {
                path: [label.to_dict(imagenet=imagenet) for label in labels] for path, labels in results.items()
            },
            "failed": failures,
        }
        print(json.dumps(payload, indent=2))
    else:
        for path, labels in results.items():
            print(path)
            for rank, label in enumerate(labels, start=1):
                print(f"  {rank}. {label.score:7.2%}  {label.name}" + (f" ({label.id})" if imagenet else ""))
    return 1 if failures else 0
