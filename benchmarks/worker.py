"""Time one runtime's inference in a fresh process, so the runtimes' thread pools never compete.

`python -m benchmarks.worker --runtime onnxruntime --batches 1,16,64 --repeats 5 --out result.json`

Runtimes: "keras" (keras_alexnet on `--backend`, `--dtype`, optional thread
settings), "onnxruntime" and "pytorch". Every runtime builds the same network
from the same seeded weights (`benchmarks.peers`) and writes, as JSON, its
output on `peers.sample_input(4)` (the parent checks it against ONNX Runtime
before it reports any timing), images/s per batch size and batch-1 latency.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _predictor(args):
    from benchmarks import peers

    weights = peers.bvlc_weights(seed=0)
    if args.runtime == "onnxruntime":
        session = peers.ort_session(weights)
        return lambda x: peers.ort_predict(session, peers.to_nchw(x))
    if args.runtime == "openvino":
        calibration = (
            peers.to_nchw(peers.sample_input(args.calibration, seed=3)) if args.ov_precision == "int8" else None
        )
        predict, args.inference_precision = peers.openvino_predict(weights, args.ov_precision, calibration)
        return lambda x: predict(peers.to_nchw(x))
    if args.runtime == "fast":  # keras_alexnet.fast_predictor on the same Keras model as --runtime keras
        from keras_alexnet.fast_predictor import fast_predictor

        calibration = peers.sample_input(args.calibration, seed=3) if args.fast_precision == "int8" else None
        model = peers.keras_model(weights)
        predictor = fast_predictor(model, args.fast_precision, args.fast_runtime, calibration, batch_size=64)
        args.inference_precision = f"{predictor.runtime} {predictor.inference_precision}"
        args.agreement = predictor.agreement
        return predictor.predict
    if args.runtime == "onnxruntime-int8":
        session = peers.ort_int8_session(weights, peers.to_nchw(peers.sample_input(args.calibration, seed=3)))
        args.inference_precision = "int8 (QDQ) + float32"
        return lambda x: peers.ort_predict(session, peers.to_nchw(x))
    if args.runtime == "pytorch":
        import torch

        model = peers.torch_model(weights)
        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
        if args.torch_mode == "compile":
            model = peers.torch_compiled(model)
        bf16 = args.torch_mode == "bf16"
        if bf16:
            args.inference_precision = _bf16_executes()
        return lambda x: peers.torch_predict(model, peers.to_nchw(x), bf16=bf16)
    if args.backend == "tensorflow" and (args.intra_op or args.inter_op):
        from keras_alexnet.performance import configure_threads

        configure_threads(args.intra_op, args.inter_op)
    model = peers.keras_model(weights, dtype=args.dtype)
    if args.dtype and "bfloat16" in args.dtype:
        args.inference_precision = _bf16_executes()
    if args.backend == "tensorflow":
        from keras_alexnet.performance import compiled_predict

        return compiled_predict(model)
    return lambda x: model.predict(x, batch_size=len(x), verbose=0)  # jit-compiled by Keras on JAX


def _bf16_executes() -> str:
    """What a bf16 path computes in on this CPU: native bf16 (AVX512-BF16 / AMX) or emulated."""
    from keras_alexnet.performance import cpu_supports_bf16

    return "bfloat16" + ("" if cpu_supports_bf16() else " (emulated)")


def _train_step(args, batch: int):
    """A callable that runs one training step (forward, backward, SGD with momentum) on a fixed batch."""
    import numpy as np

    from benchmarks import peers

    weights = peers.bvlc_weights(seed=0)
    x = peers.sample_input(batch, seed=2)
    y = np.random.default_rng(0).integers(0, 1000, batch).astype("int32")
    if args.runtime == "pytorch":
        import torch

        model = peers.torch_model(weights).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()
        tx, ty = torch.from_numpy(peers.to_nchw(x)), torch.from_numpy(y.astype("int64"))

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(tx), ty).backward()
            optimizer.step()

        return step
    if args.runtime != "keras":
        raise ValueError(f"training is timed for keras and pytorch only. Received: --runtime {args.runtime}")
    import keras

    model = peers.keras_model(weights, dtype=args.dtype, classifier_activation=None)
    model.compile(
        optimizer=keras.optimizers.SGD(0.001, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=args.jit_compile,
    )
    return lambda: model.train_on_batch(x, y)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    runtimes = ("keras", "onnxruntime", "onnxruntime-int8", "pytorch", "openvino", "fast")
    parser.add_argument("--runtime", choices=runtimes, default="keras")
    parser.add_argument("--torch-mode", default="eager", help="with --runtime pytorch: eager, bf16 (autocast), compile")
    parser.add_argument("--ov-precision", default="default", help="with --runtime openvino: default, f32 or int8")
    parser.add_argument("--fast-precision", default="fp32", help="with --runtime fast: fp32, bf16 or int8")
    parser.add_argument("--fast-runtime", default="auto", help="with --runtime fast: auto, tensorflow or openvino")
    parser.add_argument("--calibration", type=int, default=64, help="calibration images for int8")
    parser.add_argument("--backend", default="tensorflow", help="Keras backend, with --runtime keras")
    parser.add_argument("--dtype", default=None, help="Keras dtype policy, with --runtime keras")
    parser.add_argument("--batches", default="64")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-repeats", type=int, default=0, help="batch-1 latency samples (0: none)")
    parser.add_argument("--intra-op", type=int, default=None)
    parser.add_argument("--inter-op", type=int, default=None)
    parser.add_argument("--torch-threads", type=int, default=None)
    parser.add_argument("--train-batch", type=int, default=None, help="time a training step at this batch size")
    parser.add_argument("--jit-compile", action="store_true", help="XLA-compile the Keras training step")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

    import numpy as np

    from benchmarks import peers
    from benchmarks.timing import measure

    if args.train_batch:
        step = _train_step(args, args.train_batch)
        timing = measure(step, items=args.train_batch, repeats=args.repeats)
        args.out.write_text(json.dumps({"runtime": args.runtime, f"train_batch_{args.train_batch}": timing.to_dict()}))
        return 0
    predict = _predictor(args)
    x = peers.sample_input(64)
    result: dict = {"runtime": args.runtime, "check_output": np.asarray(predict(x[:4]), "float32").tolist()}
    for extra in ("inference_precision", "agreement"):
        if getattr(args, extra, None) is not None:
            result[extra] = getattr(args, extra)
    for batch in (int(b) for b in args.batches.split(",")):
        calls = max(1, 32 // batch)

        def run(batch=batch, calls=calls):
            for _ in range(calls):
                predict(x[:batch])

        result[f"batch_{batch}"] = measure(run, items=calls * batch, repeats=args.repeats).to_dict()
    if args.latency_repeats:
        timing = measure(lambda: predict(x[:1]), items=1, repeats=args.latency_repeats, warmup=3)
        result["latency_batch_1"] = {"median_ms": 1000 * timing.median, "p90_ms": 1000 * timing.percentile(90)}
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
