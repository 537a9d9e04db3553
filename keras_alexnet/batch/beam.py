"""Apache Beam: a `ModelHandler` for `RunInference`, and the `predict` / `embed` pipelines built on it.

`KerasAlexNetModelHandler` is Beam's documented extension point for a model: each worker process loads
the AlexNet once (`load_model`), Beam batches the decoded images (`batch_elements_kwargs`), and
`run_inference` applies the checkpoint's preprocessing and the network. `run_predict_pipeline` builds

    read (the inputs of `keras_alexnet.batch.inputs`, or a remote glob via Beam's `fileio.MatchFiles`)
    -> decode (`load_image`, the same rules and per-file errors as the local runner)
    -> batch -> RunInference -> top-K labels -> write (one .jsonl or .csv file)

and runs it on Beam's DirectRunner with 2 worker processes unless `beam_args` name another runner (Flink,
Spark, Dataflow: options only, see docs/batch.md). Needs the `[beam]` extra (`pip install
"keras-alexnet[beam]"`).

Example (the options a pipeline gets when none name a runner; the handler is used as
`RunInference(KeyedModelHandler(KerasAlexNetModelHandler("imagenet")))` on `(key, image)` pairs):

>>> from keras_alexnet.batch.beam import pipeline_options
>>> options = pipeline_options(["--direct_num_workers=3"]).get_all_options()
>>> options["runner"], options["direct_running_mode"], options["direct_num_workers"]
('DirectRunner', 'multi_processing', 3)
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from keras_alexnet.errors import require

_PURPOSE = "Running keras-alexnet on Apache Beam (--runner beam)"
#: Pipeline options added when `beam_args` name no runner: Beam's DirectRunner with 2 worker processes.
DEFAULT_DIRECT_OPTIONS = (
    "--runner=DirectRunner",
    "--direct_running_mode=multi_processing",
    "--direct_num_workers=2",
    "--default_sdk_harness_log_level=WARNING",
)

beam = require("apache_beam", "beam", _PURPOSE)
from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, PredictionResult, RunInference  # noqa: E402


@dataclasses.dataclass
class _Loaded:
    model: Any
    forward: Any
    network: Any


class KerasAlexNetModelHandler(ModelHandler):
    """Loads a keras_alexnet AlexNet in each Beam worker and runs batches of decoded uint8 RGB images through it.

    Args:
        weights: what `AlexNet(weights=...)` takes (None: random weights seeded by `seed`, the same in every
            worker, so that results do not depend on which worker ran an image).
        variant: the architecture for random weights (default "original").
        layer: None for the classifier's probabilities, or a layer name (`fc7`) for its features.
        dtype: a Keras dtype policy name (`mixed_bfloat16`).
        batch_size: the largest batch Beam forms.

    Each `PredictionResult.inference` is one image's output row (float32).
    """

    def __init__(
        self,
        weights: str | None = None,
        *,
        variant: str | None = None,
        seed: int = 0,
        layer: str | None = None,
        dtype: str | None = None,
        batch_size: int = 16,
    ):
        super().__init__(min_batch_size=1, max_batch_size=batch_size)
        self.weights, self.variant, self.seed, self.layer, self.dtype = weights, variant, seed, layer, dtype

    def load_model(self) -> _Loaded:
        import keras

        import keras_alexnet
        from keras_alexnet.batch.stream import fast_forward

        if self.weights is None:
            keras.utils.set_random_seed(self.seed)
        model = keras_alexnet.AlexNet(weights=self.weights, variant=self.variant, dtype=self.dtype)
        network = keras_alexnet.network_record(model)
        if self.layer is not None:
            model = keras_alexnet.feature_extractor(model, self.layer)
        return _Loaded(model, fast_forward(model), network)

    def run_inference(self, batch: Sequence[np.ndarray], model: _Loaded, inference_args=None) -> list:
        from keras_alexnet.preprocessing import preprocess_for

        outputs = model.forward(preprocess_for(np.stack(batch), model.network))
        return [PredictionResult(example, row) for example, row in zip(batch, outputs, strict=True)]

    def get_num_bytes(self, batch: Sequence[np.ndarray]) -> int:
        return sum(int(image.nbytes) for image in batch)

    def get_metrics_namespace(self) -> str:
        return "keras_alexnet"


def pipeline_options(beam_args: Sequence[str]):
    """Beam `PipelineOptions` from command-line style `beam_args`, with `DEFAULT_DIRECT_OPTIONS` for what is unset."""
    import logging

    from apache_beam.options.pipeline_options import PipelineOptions

    logging.getLogger("apache_beam").setLevel(logging.WARNING)  # Beam's INFO lines would drown the results
    args = list(beam_args)
    if not any(a == "--runner" or a.startswith("--runner=") for a in args):
        given = {a.split("=", 1)[0] for a in args}
        args += [option for option in DEFAULT_DIRECT_OPTIONS if option.split("=", 1)[0] not in given]
    return PipelineOptions(args)


def _is_remote(spec: str) -> bool:
    return "://" in spec


def _decode(key: str, spec) -> Any:
    """Decode one input as the local runner does; remote paths (gs://, s3://, ...) are read with FileSystems."""
    from keras_alexnet.batch.inputs import InputItem, decode_item

    if not _is_remote(key):
        return decode_item(InputItem(key), spec)
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(key, compression_type=CompressionTypes.UNCOMPRESSED) as file:
        return decode_item(InputItem(key, file.read()), spec)


def _read_and_decode(pipeline, inputs: Sequence[str], spec, data_dir: str | None):
    """The read and decode steps: a PCollection of `Decoded`."""
    from apache_beam.io import fileio

    from keras_alexnet.batch.inputs import TFDS_PREFIX, expand_inputs

    if any(spec_.startswith(TFDS_PREFIX) for spec_ in inputs):
        raise ValueError(
            "tfds:NAME:SPLIT inputs are read by the local runner only; with --runner beam pass the files (or a "
            f"glob of them). Received: {[s for s in inputs if s.startswith(TFDS_PREFIX)]}"
        )
    local = [s for s in inputs if not _is_remote(s)]
    remote = [s for s in inputs if _is_remote(s)]
    keys = [item.key for item in expand_inputs(local, data_dir=data_dir)]
    parts = []
    if keys:
        parts.append(pipeline | "ListInputs" >> beam.Create(keys))
    for i, pattern in enumerate(remote):
        parts.append(
            pipeline
            | f"Match{i}" >> fileio.MatchFiles(pattern)
            | f"Path{i}" >> beam.Map(lambda metadata: metadata.path)
        )
    if not parts:
        raise ValueError(f"No input to read. Received: {list(inputs)}")
    paths = parts[0] if len(parts) == 1 else tuple(parts) | "AllInputs" >> beam.Flatten()
    return paths | "Reshuffle" >> beam.Reshuffle() | "Decode" >> beam.Map(_decode, spec)


def _staged_output(output: str, overwrite: bool):
    """Where Beam writes (a staging file beside a local `output`, published afterwards) and the publish step."""
    from keras_alexnet.batch.results import WHAT, is_results_file
    from keras_alexnet.outputs import check_output, make_staging, publish

    if _is_remote(output):
        return output, lambda: None
    target = Path(output)
    check_output(target, is_results_file, WHAT, overwrite=overwrite, directory=False)
    staging = make_staging(target.parent, target.name, "beam")

    def finish():
        publish(staging / target.name, target, is_results_file, WHAT, overwrite=overwrite)
        import shutil

        shutil.rmtree(staging, ignore_errors=True)

    return os.fspath(staging / target.name), finish


def run_predict_pipeline(
    inputs: Sequence[str],
    output: str,
    *,
    weights: str | None = None,
    variant: str | None = None,
    seed: int = 0,
    top: int = 5,
    batch_size: int = 16,
    resize_mode: str | None = None,
    resize: int | None = None,
    dtype: str | None = None,
    beam_args: Sequence[str] = (),
    overwrite: bool = False,
    data_dir: str | None = None,
) -> dict:
    """Run `predict` as a Beam pipeline writing `output` (.jsonl or .csv, rows in any order, path on each).

    Returns {"rows", "errors", "runner"} (rows and errors counted from a local output; None for a remote one).
    """
    from keras_alexnet.analysis.model_io import weights_network
    from keras_alexnet.batch.results import csv_header, read_results, results_format
    from keras_alexnet.eval_preprocessing import eval_preprocessing
    from keras_alexnet.labels import is_imagenet

    fmt = results_format(output)
    network = weights_network(weights, variant)
    if top > network.classes:
        raise ValueError(f"--top must be at most the model's {network.classes} classes. Received: --top {top}")
    spec = eval_preprocessing(network, resize_mode=resize_mode, resize=resize)
    imagenet = is_imagenet(network)
    handler = KerasAlexNetModelHandler(weights, variant=variant, seed=seed, dtype=dtype, batch_size=batch_size)
    options = pipeline_options(beam_args)
    target, finish = _staged_output(output, overwrite)
    with beam.Pipeline(options=options) as pipeline:
        decoded = _read_and_decode(pipeline, inputs, spec, data_dir)
        good = (
            decoded
            | "Readable" >> beam.Filter(lambda d: d.image is not None)
            | "Key" >> beam.Map(lambda d: (d.key, d.image))
            | "RunInference" >> RunInference(KeyedModelHandler(handler))
            | "Labels" >> beam.Map(_label_row, network, top, imagenet, fmt)
        )
        bad = (
            decoded
            | "Unreadable" >> beam.Filter(lambda d: d.image is None)
            | "Errors" >> beam.Map(_error_row, top, fmt)
        )
        header = ",".join(csv_header(top)) if fmt == "csv" else None
        (
            (good, bad)
            | "Rows" >> beam.Flatten()
            | "Write" >> beam.io.WriteToText(target, shard_name_template="", num_shards=1, header=header)
        )
    finish()
    runner = options.get_all_options().get("runner") or "DirectRunner"
    if _is_remote(output):
        return {"rows": None, "errors": None, "runner": runner}
    rows = read_results(output)
    return {"rows": len(rows), "errors": sum("error" in row for row in rows), "runner": runner}


def _csv_line(cells: list) -> str:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _label_row(keyed, network, top: int, imagenet: bool, fmt: str) -> str:
    from keras_alexnet.labels import top_k_labels

    key, result = keyed
    labels = top_k_labels(np.asarray(result.inference)[None], network, top=top)[0]
    if fmt == "csv":
        return _csv_line([key, "", *(v for label in labels for v in (label.id, label.name, repr(label.score)))])
    return json.dumps({"path": key, "predictions": [label.to_dict(imagenet=imagenet) for label in labels]})


def _error_row(decoded, top: int, fmt: str) -> str:
    print(f"keras-alexnet predict: error: {decoded.error}", flush=True)  # in the worker's log
    if fmt == "csv":
        return _csv_line([decoded.key, decoded.error, *([""] * (3 * top))])
    return json.dumps({"path": decoded.key, "error": decoded.error})


def _feature_row(keyed) -> str:
    key, result = keyed
    features = np.ascontiguousarray(np.asarray(result.inference, dtype=np.float32).reshape(-1))
    return json.dumps({"path": key, "features": base64.b64encode(features.tobytes()).decode("ascii")})


def run_embed_pipeline(args, weights: str | None) -> dict:
    """Run `embed` as a Beam pipeline: features are written as text shards, then streamed into the .npz index."""
    import sys

    from keras_alexnet.analysis.index import write_index
    from keras_alexnet.analysis.model_io import weights_network
    from keras_alexnet.eval_preprocessing import eval_preprocessing
    from keras_alexnet.outputs import staging_directory

    network = weights_network(weights, args.variant)
    spec = eval_preprocessing(network, resize_mode=args.resize_mode, resize=args.resize)
    handler = KerasAlexNetModelHandler(
        weights, variant=args.variant, seed=args.seed, layer=args.layer, batch_size=args.batch_size
    )
    options = pipeline_options(__import__("shlex").split(args.beam_options))
    output = Path(args.output)
    with staging_directory(output.parent, output.name, "beam") as scratch:
        rows_path = os.fspath(Path(scratch) / "features.jsonl")
        errors_path = os.fspath(Path(scratch) / "errors.txt")
        with beam.Pipeline(options=options) as pipeline:
            decoded = _read_and_decode(pipeline, args.inputs, spec, args.data_dir)
            (
                decoded
                | "Readable" >> beam.Filter(lambda d: d.image is not None)
                | "Key" >> beam.Map(lambda d: (d.key, d.image))
                | "RunInference" >> RunInference(KeyedModelHandler(handler))
                | "Rows" >> beam.Map(_feature_row)
                | "Write" >> beam.io.WriteToText(rows_path, shard_name_template="", num_shards=1)
            )
            (
                decoded
                | "Unreadable" >> beam.Filter(lambda d: d.image is None)
                | "Messages" >> beam.Map(lambda d: d.error)
                | "WriteErrors" >> beam.io.WriteToText(errors_path, shard_name_template="", num_shards=1)
            )
        with open(errors_path, encoding="utf-8") as errors:
            for line in errors:
                print(f"warning: skipping {line.rstrip()}", file=sys.stderr)

        def batches(size: int = 256):
            rows, paths = [], []
            with open(rows_path, encoding="utf-8") as lines:
                for line in lines:
                    row = json.loads(line)
                    rows.append(np.frombuffer(base64.b64decode(row["features"]), dtype=np.float32))
                    key = row["path"]
                    paths.append(key if _is_remote(key) else os.path.realpath(key))
                    if len(rows) == size:
                        yield np.stack(rows), paths
                        rows, paths = [], []
            if rows:
                yield np.stack(rows), paths

        metadata = {
            "layer": args.layer,
            "weights": weights,
            "variant": network.variant,
            "preprocessing": network.preprocessing,
            "eval_preprocessing": spec.to_dict(),
            "seed": args.seed if args.weights is None else None,
        }
        return write_index(args.output, batches(), metadata, overwrite=args.overwrite)


__all__ = ["DEFAULT_DIRECT_OPTIONS", "KerasAlexNetModelHandler", "pipeline_options", "run_predict_pipeline"]
