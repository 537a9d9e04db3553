"""The benchmark's sections; each returns a JSON-able dict of medians (and the raw repeats)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import peers
from benchmarks.timing import measure


@dataclasses.dataclass
class Settings:
    """How long to measure: `quick` for development, the defaults for figures that count."""

    quick: bool = False
    repeats: int = 5
    latency_repeats: int = 60
    batches: tuple[int, ...] = (1, 16, 64)
    train_batches: tuple[int, ...] = (32, 128)
    agreement_images: int = 256
    pipeline_images: int = 1024
    #: Inference workers run in this many round-robin rounds, so load drift on a shared machine hits all alike.
    rounds: int = 2
    #: Also time XLA-compiled training steps (the ablations section turns this on).
    train_xla: bool = False
    #: Weights for the bf16/fp32 agreement (e.g. a local trained checkpoint); None: the random benchmark weights.
    agreement_weights: str | None = None
    #: A `keras-alexnet train` run directory: the agreement of its model.keras on its validation split instead.
    agreement_run: str | None = None

    @classmethod
    def make(cls, quick: bool) -> Settings:
        if quick:
            return cls(
                quick=True, repeats=2, latency_repeats=15, rounds=1, batches=(1, 64), train_batches=(32,),
                agreement_images=64, pipeline_images=128,
            )  # fmt: skip
        return cls()


def macs_per_image() -> int:
    """Multiply-accumulates of the "original" AlexNet for one 227x227 image (convs + dense layers)."""
    try:
        from keras_alexnet.weights.complexity import count_macs

        return int(count_macs("original"))
    except ImportError:  # pragma: no cover - the module is written by another part of the package
        return 724_406_816


# --------------------------------------------------------------------------- peak
def peak(settings: Settings) -> dict:
    """GFLOP/s of a large square matmul in fp32 and bf16, in PyTorch (oneDNN/MKL), TensorFlow and NumPy."""
    import tensorflow as tf
    import torch

    n = 2048 if settings.quick else 4096
    flops = 2 * n**3
    from keras_alexnet.performance import cpu_supports_bf16

    results: dict[str, float] = {}
    # Without AVX512-BF16 / AMX a bf16 matmul is emulated (minutes for 4096^2, and no ceiling worth naming).
    for dtype in ("float32", "bfloat16") if cpu_supports_bf16() else ("float32",):
        a = torch.randn(n, n).to(getattr(torch, dtype))
        b = torch.randn(n, n).to(getattr(torch, dtype))
        t = measure(lambda a=a, b=b: torch.mm(a, b), items=1, repeats=max(3, settings.repeats))
        results[f"torch_{dtype}"] = flops / t.median / 1e9
        ta = tf.random.normal((n, n), dtype=dtype)
        tb = tf.random.normal((n, n), dtype=dtype)
        t = measure(lambda ta=ta, tb=tb: tf.matmul(ta, tb).numpy(), items=1, repeats=max(3, settings.repeats))
        results[f"tensorflow_{dtype}"] = flops / t.median / 1e9
    na = np.random.rand(n, n).astype("float32")
    t = measure(lambda: na @ na, items=1, repeats=max(3, settings.repeats))
    results["numpy_float32"] = flops / t.median / 1e9
    return {
        "matmul_size": n,
        "gflops": results,
        "peak_float32_gflops": max(v for k, v in results.items() if k.endswith("float32")),
        "peak_bfloat16_gflops": max((v for k, v in results.items() if k.endswith("bfloat16")), default=None),
    }


# --------------------------------------------------------------------------- inference
def real_image_views(count: int, seed: int = 0, size: int = 227, mode: str = "caffe") -> np.ndarray:
    """`count` preprocessed views (random square crops at several scales, flips) of the sample photos."""
    from PIL import Image

    from keras_alexnet.preprocessing import preprocess_input
    from keras_alexnet.samples import sample_image_paths

    rng = np.random.default_rng(seed)
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in sample_image_paths()]
    views = []
    for i in range(count):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        side = int(rng.integers(100, min(h, w) + 1))
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = Image.fromarray(photo[top : top + side, left : left + side]).resize((size, size), Image.BILINEAR)
        view = np.asarray(crop, "float32")
        views.append(view[:, ::-1] if rng.random() < 0.5 else view)
    return preprocess_input(np.stack(views), mode=mode)


def _top5_overlap(a: np.ndarray, b: np.ndarray) -> float:
    top_a, top_b = np.argsort(-a)[:, :5], np.argsort(-b)[:, :5]
    return float(np.mean([len(set(i) & set(j)) / 5 for i, j in zip(top_a, top_b, strict=True)]))


def _pool_runs(runs: list[dict]) -> dict:
    """Merge the workers' results of several rounds: repeats are concatenated, medians recomputed."""
    from benchmarks.timing import Timing

    entry = dict(runs[0])
    for key, value in runs[0].items():
        if key.startswith("batch_"):
            seconds = [t for run in runs for t in run[key]["seconds"]]
            entry[key] = Timing(seconds, value["items"]).to_dict()
    if "latency_batch_1" in entry:
        entry["latency_batch_1"] = {
            stat: float(np.median([run["latency_batch_1"][stat] for run in runs])) for stat in ("median_ms", "p90_ms")
        }
    entry["rounds"] = len(runs)
    return entry


#: The runtimes of the inference section: name -> worker arguments.
RUNTIMES = {
    "keras_alexnet fp32": ["--runtime", "keras"],
    "keras_alexnet bf16": ["--runtime", "keras", "--dtype", "mixed_bfloat16"],
    "onnxruntime fp32": ["--runtime", "onnxruntime"],
    "pytorch eager fp32": ["--runtime", "pytorch"],
}


def inference(settings: Settings, log) -> dict:
    """Throughput and latency of keras_alexnet (fp32, bf16), ONNX Runtime and PyTorch eager, same weights.

    Each runtime runs in its own fresh process (`benchmarks.worker`), one after the other, in
    `settings.rounds` round-robin rounds whose repeats are pooled (so a change in the machine's load
    affects every runtime alike); its output on a fixed batch is checked against ONNX Runtime's before
    its timings are accepted.
    """

    weights = peers.bvlc_weights(seed=0)
    reference = peers.ort_predict(peers.ort_session(weights), peers.to_nchw(peers.sample_input(64)[:4]))
    batches = ",".join(str(b) for b in settings.batches)
    results: dict = {"check_max_abs_diff": {}, "runtimes": {}}
    rounds = max(1, settings.rounds)
    per_round = ["--repeats", str(max(2, -(-settings.repeats // rounds)))]
    per_round += ["--latency-repeats", str(max(5, settings.latency_repeats // rounds)), "--batches", batches]
    pooled: dict[str, list[dict]] = {name: [] for name in RUNTIMES}
    for _ in range(rounds):
        for name, arguments in RUNTIMES.items():
            pooled[name].append(run_worker(settings, *arguments, *per_round))
    for name, runs in pooled.items():
        entry = _pool_runs(runs)
        output = np.asarray(entry.pop("check_output"))
        diff = float(np.max(np.abs(output - reference)))
        results["check_max_abs_diff"][name] = diff
        tolerance = 2e-2 if "bf16" in name else 1e-4  # bfloat16 keeps 8 bits of mantissa
        if diff > tolerance or ("bf16" not in name and not np.array_equal(output.argmax(-1), reference.argmax(-1))):
            raise RuntimeError(f"{name} disagrees with ONNX Runtime: max |diff| = {diff:.3g} (tolerance {tolerance})")
        entry.pop("runtime", None)
        results["runtimes"][name] = entry
        cells = ", ".join(f"batch {k.removeprefix('batch_')}: {v['per_second']:.1f}" for k, v in entry.items()
                          if k.startswith("batch_"))  # fmt: skip
        log(f"  {name:20s} images/s {cells}; latency {entry['latency_batch_1']} (max |diff| vs ORT {diff:.2g})")

    results["bf16_agreement"] = bf16_agreement(settings, _keras_predictors(weights))
    log(f"  bf16 vs fp32 on real images: {results['bf16_agreement']}")
    return results


def agreement(settings: Settings, log) -> dict:
    """Section "agreement": the bf16/fp32 agreement alone (with --agreement-run or --agreement-weights); with
    --agreement-run also each fast path's (bf16 TensorFlow/OpenVINO, int8 OpenVINO+NNCF) three ways."""
    trained = settings.agreement_run or settings.agreement_weights
    result = bf16_agreement(settings, None if trained else _keras_predictors(peers.bvlc_weights(seed=0)))
    log(f"  bf16 vs fp32: {result}")
    if settings.agreement_run:
        result["fast_paths"] = fast_path_agreement(settings.agreement_run, settings.agreement_images, log)
    return result


#: The fast paths whose outputs `fast_path_agreement` compares with float32: (precision, runtime).
FAST_PATHS = (("bf16", "tensorflow"), ("bf16", "openvino"), ("int8", "openvino"))


def fast_path_agreement(run_dir: str, count: int, log, calibration_images: int = 300) -> dict:
    """Top-1 agreement, mean KL(fp32 || path) and logit cosine of each `FAST_PATHS` entry with the float32
    model, on a training run's validation images (int8 calibrated on its training images, never the ones
    measured), at the run's input size (227x227 for the quickstart's digits)."""
    import keras

    from keras_alexnet.agreement import agreement
    from keras_alexnet.fast_predictor import fast_predictor, openvino_available

    model = keras.saving.load_model(Path(run_dir) / "model.keras", compile=False)
    views, labels = _run_images(run_dir, count)
    calibration, _ = _run_images(run_dir, calibration_images, split="train")
    reference = model.predict(views, batch_size=64, verbose=0)
    result = {
        "images": len(views),
        "calibration_images": len(calibration),
        "input_size": int(views.shape[1]),
        "fp32_top1_accuracy": float(np.mean(reference.argmax(-1) == labels)),
    }
    for precision, runtime in FAST_PATHS:
        if runtime == "openvino" and not openvino_available():
            continue
        predictor = fast_predictor(model, precision, runtime, calibration=calibration if precision == "int8" else None)
        measured = agreement(reference, predictor.predict(views))
        result[f"{precision} {runtime}"] = {**measured, "computes_in": predictor.inference_precision}
        kl = "n/a" if measured["mean_kl"] is None else f"{measured['mean_kl']:.2e}"
        log(f"  {precision} {runtime} ({predictor.inference_precision}) vs fp32 on {len(views)} images: top-1 "
            f"{measured['top1']:.2%}, mean KL {kl} nats, logit cosine {measured['cosine']:.5f}")  # fmt: skip
    return result


def _keras_predictors(weights) -> dict:
    """{"keras_alexnet fp32": predict, "keras_alexnet bf16": predict} for the benchmark's `weights`."""
    from keras_alexnet.performance import compiled_predict

    return {
        f"keras_alexnet {short}": compiled_predict(peers.keras_model(weights, dtype=dtype))
        for short, dtype in (("fp32", None), ("bf16", "mixed_bfloat16"))
    }


def _run_images(run_dir: str, count: int, split: str = "validation") -> tuple[np.ndarray, np.ndarray]:
    """Up to `count` images of a training run's `split` ("train" or "validation"), preprocessed as it evaluates."""
    from keras_alexnet.data import PixelStatistics, make_eval_dataset
    from keras_alexnet.models.variants import get_variant
    from keras_alexnet.training.config import CONFIG_FILENAME, TrainConfig

    run = Path(run_dir)
    config = TrainConfig.from_json(run / CONFIG_FILENAME)
    stats = PixelStatistics.load(config.stats or run) if config.mean != "none" else None
    train_source, val_source = config.load_sources()
    image_size = config.image_size or get_variant(config.variant).default_size
    batches = make_eval_dataset(
        train_source if split == "train" else val_source,
        batch_size=64,
        image_size=image_size,
        normalization=stats,
        mean=config.mean,
        resize=config.resize,
    )
    views, labels = [], []
    for x, y in batches:
        views.append(np.asarray(x))
        labels.append(np.asarray(y))
        if sum(len(v) for v in views) >= count:
            break
    return np.concatenate(views)[:count], np.concatenate(labels)[:count]


def _trained_run(run_dir: str, count: int):
    """fp32 and bf16 copies of a training run's model.keras, and up to `count` of its validation images/labels."""
    import keras

    import keras_alexnet
    from keras_alexnet.models.variants import get_variant
    from keras_alexnet.training.config import CONFIG_FILENAME, TrainConfig

    run = Path(run_dir)
    config = TrainConfig.from_json(run / CONFIG_FILENAME)
    image_size = config.image_size or get_variant(config.variant).default_size
    views, labels = _run_images(run_dir, count)
    fp32_model = keras.saving.load_model(run / "model.keras", compile=False)
    bf16_model = keras_alexnet.AlexNet(
        input_shape=(image_size, image_size, 3),
        classes=fp32_model.output_shape[-1],
        variant=config.variant,
        dtype="mixed_bfloat16",
    )
    bf16_model.set_weights(fp32_model.get_weights())
    return fp32_model, bf16_model, views, labels


def bf16_agreement(settings: Settings, runtimes: dict | None) -> dict:
    """Top-1 agreement of the mixed_bfloat16 model with the float32 one on real images."""
    import keras_alexnet
    from keras_alexnet.performance import compiled_predict

    if settings.agreement_run:
        fp32_model, bf16_model, views, labels = _trained_run(settings.agreement_run, settings.agreement_images)
        fp32 = compiled_predict(fp32_model)(views)
        bf16 = compiled_predict(bf16_model)(views)
        accuracy = float(np.mean(fp32.argmax(-1) == labels))
        weights = (
            f"the model.keras of the training run {settings.agreement_run} on its own validation images "
            f"(fp32 top-1 accuracy {accuracy:.3f}, {fp32.shape[-1]} classes)"
        )
    elif settings.agreement_weights:
        fp32_model = keras_alexnet.AlexNet(weights=settings.agreement_weights)
        network = keras_alexnet.network_record(fp32_model)
        views = real_image_views(settings.agreement_images, size=network.input_size, mode=network.preprocessing)
        fp32 = compiled_predict(fp32_model)(views)
        bf16_model = keras_alexnet.AlexNet(weights=settings.agreement_weights, dtype="mixed_bfloat16")
        bf16 = compiled_predict(bf16_model)(views)
        weights = f"weights={settings.agreement_weights!r}"
    else:
        views = real_image_views(settings.agreement_images)
        fp32 = runtimes["keras_alexnet fp32"](views)
        bf16 = runtimes["keras_alexnet bf16"](views)
        weights = "the benchmark's random (seeded) weights: small top-1/top-2 margins, a pessimistic case"
    ordered = np.sort(fp32, axis=-1)
    flips = fp32.argmax(-1) != bf16.argmax(-1)
    return {
        "images": len(views),
        "source": weights if settings.agreement_run else f"random crops/flips of the sample photos; {weights}",
        "fp32_median_top1_top2_gap": float(np.median(ordered[:, -1] - ordered[:, -2])),
        "fp32_top1_top2_gap_where_flipped": [float(g) for g in (ordered[:, -1] - ordered[:, -2])[flips]],
        "top1_agreement": float(np.mean(fp32.argmax(-1) == bf16.argmax(-1))),
        "top5_overlap": _top5_overlap(fp32, bf16),
        "max_abs_prob_diff": float(np.max(np.abs(fp32 - bf16))),
    }


def ablations(settings: Settings, log) -> dict:
    """Batch-64 throughput of each implementation choice, one change at a time from the default.

    Default: two towers "split", LRN "xla" (only the LRN XLA-compiled), a `tf.function` without XLA.
    """
    import keras
    import tensorflow as tf

    from keras_alexnet.layers import LocalResponseNormalization
    from keras_alexnet.performance import compiled_predict

    weights = peers.bvlc_weights(seed=0)
    x = peers.sample_input(64)
    results = {}
    for dtype in ("float32", "mixed_bfloat16"):
        short = "fp32" if dtype == "float32" else "bf16"
        cases = {
            "default": dict(),
            "LRN banded": dict(lrn="banded"),
            "LRN generic": dict(lrn="generic"),
            "towers fused": dict(conv_implementation="fused"),
            "XLA (jit_compile=True)": dict(jit_compile=True),
            "model.predict": dict(predict=True),
        }
        for name, case in cases.items():
            model = peers.keras_model(weights, dtype=dtype, conv_implementation=case.get("conv_implementation", "auto"))
            for layer in model.layers:
                if isinstance(layer, LocalResponseNormalization) and "lrn" in case:
                    layer.implementation = case["lrn"]
            if case.get("predict"):

                def predict(a, m=model):
                    return m.predict(a, batch_size=64, verbose=0)

            else:
                predict = compiled_predict(model, jit_compile=case.get("jit_compile", False))
            timing = measure(lambda p=predict: p(x), items=64, repeats=settings.repeats, warmup=1)
            results[f"{short} {name}"] = timing.to_dict()
            log(f"  {short} {name:28s}: {timing.per_second:7.1f} images/s")
            del model
            keras.backend.clear_session()
    # Training steps with XLA (model.compile(jit_compile=True)) against without, at batch 32.
    train = training(dataclasses.replace(settings, train_batches=(32,), train_xla=True), log)["batch_32"]
    results.update({f"train batch 32 {name}": value for name, value in train.items()})
    # The LRN paths in isolation, on conv1's output (batch 64), forward and forward + backward.
    a = tf.random.uniform((64, 55, 55, 96)) * 10
    for implementation in ("xla", "banded", "generic"):  # "tf_native" was removed (never the fastest)
        lrn = LocalResponseNormalization(size=5, k=1.0, alpha=1e-4, beta=0.75, average=True)
        lrn.implementation = implementation
        forward = tf.function(lambda t, layer=lrn: tf.reduce_sum(layer(t)))

        @tf.function
        def backward(t, layer=lrn):
            with tf.GradientTape() as tape:
                tape.watch(t)
                y = tf.reduce_sum(layer(t) * t)
            return tape.gradient(y, t)[0, 0, 0, 0]

        for how, fn in (("forward", forward), ("forward+backward", backward)):
            timing = measure(lambda f=fn: f(a).numpy(), items=64, repeats=settings.repeats, warmup=1)
            results[f"lrn1 {implementation} {how}"] = timing.to_dict()
            log(f"  norm1 alone, {implementation:9s} {how:16s}: {timing.median * 1000:7.1f} ms per batch of 64")
    return results


def run_worker(settings: Settings, *args: str, env: dict | None = None) -> dict:
    """Run `benchmarks.worker` in a fresh process and return its JSON result."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, "-m", "benchmarks.worker", "--repeats", str(settings.repeats), "--out", str(out)]
        root = str(Path(__file__).resolve().parents[1])
        full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": root, **(env or {})}
        done = subprocess.run([*command, *args], capture_output=True, text=True, env=full_env, cwd=root)
        if done.returncode != 0:
            raise RuntimeError(f"benchmark worker {args} failed:\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())


def other_backends(settings: Settings, log) -> dict:
    """keras_alexnet on the JAX backend (when JAX is installed), checked against ONNX Runtime, then timed."""
    import importlib.util

    if importlib.util.find_spec("jax") is None:
        log("  JAX is not installed: skipped")
        return {"jax": "not installed"}
    weights = peers.bvlc_weights(seed=0)
    reference = peers.ort_predict(peers.ort_session(weights), peers.to_nchw(peers.sample_input(64)[:4]))
    batches = ",".join(str(b) for b in settings.batches if b in (1, 64))
    result = run_worker(settings, "--runtime", "keras", "--backend", "jax", "--batches", batches)
    diff = float(np.max(np.abs(np.asarray(result.pop("check_output")) - reference)))
    if diff > 1e-4:
        raise RuntimeError(f"keras_alexnet on JAX disagrees with ONNX Runtime: max |diff| = {diff:.3g}")
    result["check_max_abs_diff"] = diff
    for key, value in result.items():
        if key.startswith("batch_"):
            log(f"  keras_alexnet jax fp32 {key}: {value['per_second']:.1f} images/s")
    return result


def threads(settings: Settings, log) -> dict:
    """Batch-64 fp32 throughput with TensorFlow's default thread pools vs other settings (fresh processes)."""
    cores = os.cpu_count() or 1
    settings_list = {"default": [], "inter_op=1": ["--inter-op", "1"], f"intra_op={cores},inter_op=1": [
        "--intra-op", str(cores), "--inter-op", "1"]}  # fmt: skip
    if cores > 1:
        settings_list["intra_op=1"] = ["--intra-op", "1"]
    results = {}
    for name, extra in settings_list.items():
        result = run_worker(settings, "--batches", "64", *extra)
        results[name] = result["batch_64"]
        log(f"  threads {name:28s}: {result['batch_64']['per_second']:7.1f} images/s")
    return results


# --------------------------------------------------------------------------- training
def training(settings: Settings, log) -> dict:
    """Images/s of one training step (forward, backward, SGD with momentum), Keras vs PyTorch eager.

    Same network (LRN included, dropout active), same weights; each runtime in its own fresh process.
    """
    runtimes = {
        "keras_alexnet fp32": ["--runtime", "keras"],
        "keras_alexnet bf16": ["--runtime", "keras", "--dtype", "mixed_bfloat16"],
    }
    if settings.train_xla:
        runtimes["keras_alexnet fp32 XLA"] = ["--runtime", "keras", "--jit-compile"]
        runtimes["keras_alexnet bf16 XLA"] = ["--runtime", "keras", "--dtype", "mixed_bfloat16", "--jit-compile"]
    runtimes["pytorch eager fp32"] = ["--runtime", "pytorch"]
    repeats = str(max(2, settings.repeats - 2))
    results: dict = {}
    for batch in settings.train_batches:
        entry = {}
        for name, arguments in runtimes.items():
            result = run_worker(settings, *arguments, "--train-batch", str(batch), "--repeats", repeats)
            entry[name] = result[f"train_batch_{batch}"]
            log(f"  {name:26s} batch {batch:3d}: {entry[name]['per_second']:6.1f} images/s")
        results[f"batch_{batch}"] = entry
    return results


# --------------------------------------------------------------------------- input pipeline
def _write_jpegs(folder: Path, count: int) -> None:
    """`count` ImageNet-like JPEGs (about 500x375, quality 90) cut from the sample photos, in 2 class folders."""
    from PIL import Image

    from keras_alexnet.samples import sample_image_paths

    rng = np.random.default_rng(0)
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in sample_image_paths()]
    for i in range(count):
        photo = photos[i % 2]
        h, w = photo.shape[:2]
        ch, cw = int(rng.integers(300, h + 1)), int(rng.integers(400, w + 1))
        top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        image = Image.fromarray(photo[top : top + ch, left : left + cw]).resize((500, 375))
        (folder / f"class{i % 2}").mkdir(parents=True, exist_ok=True)
        image.save(folder / f"class{i % 2}" / f"{i:05d}.jpg", quality=90)


def _tf_ops_pipeline(folder: Path, batch: int):
    """Reference: decode + resize 256 + random 227 crop + flip + PCA noise, all TF ops, parallel, prefetched."""
    import tensorflow as tf

    eigval = tf.constant([0.2175, 0.0188, 0.0045])
    eigvec = tf.constant([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]])
    files = tf.data.Dataset.list_files(str(folder / "*" / "*.jpg"), shuffle=False)

    def load(path):
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3, dct_method="INTEGER_FAST")
        image = tf.image.resize(image, (256, 256))
        image = tf.image.random_crop(image, (227, 227, 3))
        image = tf.image.random_flip_left_right(image)
        alpha = tf.random.normal((3,), stddev=0.1)
        return image + 255.0 * tf.linalg.matvec(eigvec, alpha * eigval), 0

    return files.map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(batch).prefetch(tf.data.AUTOTUNE)


def input_pipeline(settings: Settings, log) -> dict:
    """Images/s of the training input pipeline (JPEG decode + the paper's augmentation) on its own."""
    batch = 128
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "jpegs"
        _write_jpegs(folder, settings.pipeline_images)
        pipelines = {"tf ops (decode_jpeg, crop, flip, PCA)": lambda: _tf_ops_pipeline(folder, batch)}
        try:
            from keras_alexnet.data import make_train_dataset
            from keras_alexnet.data.sources import load_source
            from keras_alexnet.data.statistics import PixelStatistics

            stats = PixelStatistics(
                mean_image=np.full((256, 256, 3), 117.0, "float32"),
                channel_mean=np.array([123.7, 116.8, 104.0], "float32"),
                covariance=np.eye(3, dtype="float32"),
                eigenvalues=np.array([0.2175, 0.0188, 0.0045], "float32"),
                eigenvectors=np.array(
                    [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]], "float32"
                ),
                num_images=0,
            )

            def package_pipeline():
                source = load_source(f"folder:{folder}", "train")
                # The shuffle buffer is the same fraction of this small epoch as the default 10,000 is of
                # ImageNet's 1.28M images (0.8 %): a buffer of half the epoch would time its fill-up stall.
                buffer = max(8, settings.pipeline_images * 10_000 // 1_281_167)
                return make_train_dataset(source, batch_size=batch, normalization=stats, shuffle_buffer=buffer)

            pipelines["keras_alexnet.data.make_train_dataset"] = package_pipeline
        except ImportError as error:
            log(f"  keras_alexnet.data not available ({error}); timing the tf-ops pipeline only")

        for name, make in pipelines.items():
            # Built once (tracing its functions is a one-off cost, reported apart); every repeat is one
            # full pass over the files: read, decode, resize, augment, batch.
            start = time.perf_counter()
            dataset = make()
            build_s = time.perf_counter() - start

            def run(dataset=dataset):
                count = 0
                for images, _ in dataset:
                    count += int(images.shape[0])
                return count

            count = run()
            timing = measure(run, items=count, repeats=max(2, settings.repeats - 2), warmup=0)
            results[name] = {**timing.to_dict(), "build_s": build_s}
            log(f"  {name:42s}: {timing.per_second:7.1f} images/s (built in {build_s:.2f} s)")
    return results


# --------------------------------------------------------------------------- loading
_LOAD_SCRIPT = """
import json, sys, time
def peak_rss_mib():
    # VmHWM, not getrusage's ru_maxrss: that one is inherited from the (large) parent across fork + exec.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
start = time.perf_counter()
import numpy as np
import keras_alexnet
imported = time.perf_counter()
import_rss = peak_rss_mib()
model = keras_alexnet.AlexNet(weights=sys.argv[1])
loaded = time.perf_counter()
model.predict(np.zeros((1, 227, 227, 3), "float32"), verbose=0)
predicted = time.perf_counter()
print(json.dumps({
    "import_s": imported - start, "load_s": loaded - imported, "first_predict_s": predicted - loaded,
    "import_rss_mib": import_rss, "peak_rss_mib": peak_rss_mib(),
}))
"""


_BASELINE_SCRIPT = """
import json
import numpy as np
import keras, keras_alexnet, tensorflow as tf
keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)]).predict(np.zeros((1, 8)), verbose=0)
tf.function(lambda x: tf.nn.relu(x) * 2.0, jit_compile=True)(tf.zeros((4, 4)))
hwm = [int(line.split()[1]) / 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print(json.dumps({"baseline_rss_mib": hwm}))
"""


def loading(settings: Settings, log) -> dict:
    """Time and peak RSS of `AlexNet(weights=<local checkpoint>)` + one prediction, in fresh subprocesses."""
    import keras_alexnet
    from keras_alexnet.weights.checkpoint import save_checkpoint
    from keras_alexnet.weights.network import NetworkRecord

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "checkpoint"
        save_checkpoint(keras_alexnet.AlexNet(), checkpoint, NetworkRecord(variant="original"))
        size_mib = sum(p.stat().st_size for p in checkpoint.iterdir()) / 2**20
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        for _ in range(1 if settings.quick else 3):
            out = subprocess.run(
                [sys.executable, "-c", _LOAD_SCRIPT, str(checkpoint)], capture_output=True, text=True, env=env
            )
            if out.returncode != 0:
                raise RuntimeError(f"loading benchmark failed:\n{out.stderr[-2000:]}")
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            # TF's runtime on its own, as the package uses it (Keras predict, the XLA JIT), without AlexNet.
            out = subprocess.run([sys.executable, "-c", _BASELINE_SCRIPT], capture_output=True, text=True, env=env)
            if out.returncode != 0:
                raise RuntimeError(f"baseline memory measurement failed:\n{out.stderr[-2000:]}")
            runs[-1].update(json.loads(out.stdout.strip().splitlines()[-1]))
        weights_mib = (checkpoint / "model.weights.h5").stat().st_size / 2**20
    result = {key: float(np.median([r[key] for r in runs])) for key in runs[0]}
    result.update(checkpoint_mib=size_mib, weights_file_mib=weights_mib, runs=runs)
    log(f"  {result}")
    return result


def now() -> float:
    return time.time()
