"""Time keras_alexnet inference in a fresh process (another Keras backend, other thread settings).

`python -m benchmarks.worker --backend jax --batches 1,64 --repeats 3 --out result.json`
writes throughput per batch size and the model's output on `peers.sample_input(4)`
(so the parent can check it against ONNX Runtime) as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="tensorflow")
    parser.add_argument("--batches", default="64")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--intra-op", type=int, default=None)
    parser.add_argument("--inter-op", type=int, default=None)
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

    import numpy as np

    from benchmarks import peers
    from benchmarks.timing import measure

    if args.backend == "tensorflow" and (args.intra_op or args.inter_op):
        from keras_alexnet.performance import configure_threads

        configure_threads(args.intra_op, args.inter_op)
    model = peers.keras_model(peers.bvlc_weights(seed=0), dtype=args.dtype)
    if args.backend == "tensorflow":
        from keras_alexnet.performance import compiled_predict

        predict = compiled_predict(model)
    else:

        def predict(x):
            return model.predict(x, batch_size=len(x), verbose=0)

    x = peers.sample_input(64)
    result = {"backend": args.backend, "check_output": np.asarray(predict(x[:4]), "float32").tolist()}
    for batch in (int(b) for b in args.batches.split(",")):
        calls = max(1, 64 // batch)

        def run(batch=batch, calls=calls):
            for _ in range(calls):
                predict(x[:batch])

        result[f"batch_{batch}"] = measure(run, items=calls * batch, repeats=args.repeats).to_dict()
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
