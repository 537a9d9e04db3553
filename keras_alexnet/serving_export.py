"""A serving SavedModel with the preprocessing inside: encoded JPEG/PNG bytes in, top-k classes out.

For TF Serving and similar servers, which send raw bytes and want labels back. The SavedModel's
`serving_default` signature takes `images`, a batch of encoded JPEG or PNG files (`tf.string`, shape
`[None]`), and returns `ids` (WordNet ids for ImageNet, else the class names), `labels` (class names) and
`scores` (the model's outputs: softmax probabilities for the default classifier), each `[None, top_k]`, best
first. A second signature, `preprocess`, returns the network's input batch (float32) for the same bytes.

Inside the graph each image goes through what `keras_alexnet.image_io.load_image(path, weights=network)` and
`keras_alexnet.preprocess_for(x, network)` do in Python: the header's size checked against
`image_io.MAX_IMAGE_PIXELS` before decoding; JPEG's EXIF orientation applied; grayscale, palette, CMYK,
16-bit and transparent images (composited onto white) made 8-bit RGB; the checkpoint's resize (warp to 256 for
BVLC's weights, shorter side to 256 for torchvision's), bilinear and antialiased, and the centre crop; then the
checkpoint's colour order and mean. Differences from Pillow: TensorFlow's JPEG decoder and resampling kernel
(pixels differ by a few levels at most, on the awkward-file set); large JPEGs are decoded at full size (Pillow
decodes at a reduced scale first); 16-bit RGB PNGs are scaled, not truncated to their high byte. A file that is
not a readable JPEG/PNG fails the request with TensorFlow's `InvalidArgumentError` naming the problem.

Example:

>>> import tempfile, keras_alexnet
>>> from keras_alexnet.export import export_serving
>>> model = keras_alexnet.AlexNet(variant="torchvision")
>>> path = export_serving(model, tempfile.mkdtemp() + "/serving", top_k=3)
>>> import tensorflow as tf
>>> from keras_alexnet.samples import sample_image_paths
>>> served = tf.saved_model.load(str(path)).signatures["serving_default"]
>>> out = served(images=tf.constant([open(sample_image_paths()[0], "rb").read()]))
>>> sorted(out), out["ids"].shape.as_list()
(['ids', 'labels', 'scores'], [1, 3])
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import keras
import numpy as np

from keras_alexnet.layers.tracing import plain_ops
from keras_alexnet.outputs import apply_umask, check_output, publish, staging_directory
from keras_alexnet.version import __version__

#: The marker file inside a serving export (what a later serving export may replace).
SERVING_MARKER = "keras_alexnet_serving.json"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# EXIF orientation tag 0x0112, type SHORT, count 1, as its bytes in little- and big-endian TIFF: the value follows.
_ORIENTATION_TAGS = (b"\x12\x01\x03\x00\x01\x00\x00\x00", b"\x01\x12\x00\x03\x00\x00\x00\x01")


def is_serving_export(path: str | os.PathLike) -> bool:
    """Whether `path` is a directory `export_serving` wrote (what a new serving export may replace)."""
    return (Path(path) / SERVING_MARKER).is_file()


def export_serving(
    model: keras.Model,
    path: str | os.PathLike,
    *,
    top_k: int = 5,
    network=None,
    overwrite: bool = False,
) -> Path:
    """Write a SavedModel serving `model` on encoded images (module docstring); returns the path written.

    Args:
        model: a classifier built by `keras_alexnet.AlexNet` (include_top=True; TensorFlow backend).
        path: the output directory; replaced only when absent, empty or an earlier serving export, unless
            `overwrite`.
        top_k: how many classes each image returns, 1 to the number of classes.
        network: the `NetworkRecord` whose preprocessing to apply; default `keras_alexnet.network_record(model)`.
        overwrite: replace whatever is at `path`.
    """
    import tensorflow as tf

    from keras_alexnet.models import network_record

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ValueError(
            "Exporting serving needs the TensorFlow backend: run with KERAS_BACKEND=tensorflow "
            f"(the exported model is the same whichever backend trained it). Received: KERAS_BACKEND={backend}"
        )
    network = network_record(model) if network is None else network
    names = _class_names(network)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= len(names):
        raise ValueError(f"`top_k` must be an integer from 1 to {len(names)}. Received: top_k={top_k!r}")
    if tuple(model.outputs[0].shape[1:]) != (len(names),):
        raise ValueError(
            "A serving export needs the classifier (include_top=True), whose outputs are the classes. "
            f"Received: a model with output shape {tuple(model.outputs[0].shape)}"
        )
    path = Path(path)
    check_output(path, is_serving_export, "serving export", overwrite=overwrite, directory=True)
    preprocess = functools.partial(preprocess_encoded, network=network)
    ids, labels = tf.constant(names), tf.constant(_labels(network, names))

    def classify(images):
        with plain_ops():
            scores = tf.cast(model(preprocess(images), training=False), tf.float32)
        top = tf.math.top_k(scores, k=top_k)
        return {"ids": tf.gather(ids, top.indices), "labels": tf.gather(labels, top.indices), "scores": top.values}

    signature = [tf.TensorSpec([None], tf.string, name="images")]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", classify, input_signature=signature)
    archive.add_endpoint("preprocess", lambda images: {"inputs": preprocess(images)}, input_signature=signature)
    needed = model.count_params() * 4 + 2**20
    with staging_directory(path.parent, path.name, "export", needed_bytes=needed, what="the serving export") as tmp:
        staging = tmp / path.name
        archive.write_out(str(staging), verbose=False)
        marker = {"format": "serving", "keras_alexnet": __version__, "model": model.name, "top_k": top_k}
        (staging / SERVING_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        apply_umask(staging)
        publish(staging, path, is_serving_export, "serving export", overwrite=overwrite)
    return path


def _class_names(network) -> list[str]:
    if network.class_names is not None:
        return list(network.class_names)
    if network.classes == 1000:
        from keras_alexnet.imagenet import imagenet_classes

        return [wnid for wnid, _ in imagenet_classes()]
    raise ValueError(
        "A serving export names its classes: this model has neither ImageNet's 1000 classes nor class names in "
        f"its record (train or convert it with class names). Received: classes={network.classes}"
    )


def _labels(network, names: list[str]) -> list[str]:
    if network.class_names is None and network.classes == 1000:
        from keras_alexnet.imagenet import imagenet_classes

        return [label for _, label in imagenet_classes()]
    return names


def preprocess_encoded(images, network):
    """A float32 batch for the network from a `[None]` batch of encoded JPEG/PNG bytes (TensorFlow ops)."""
    import tensorflow as tf

    from keras_alexnet.eval_preprocessing import eval_preprocessing
    from keras_alexnet.preprocessing import preprocess_for

    spec = eval_preprocessing(network)
    crop = spec.crop

    def one(data):
        image = _resize_and_crop(_decode_rgb(data), spec.resize, crop, spec.resize_mode)
        return tf.ensure_shape(image, (crop, crop, 3))

    pixels = tf.map_fn(one, images, fn_output_signature=tf.TensorSpec((crop, crop, 3), tf.float32))
    return preprocess_for(pixels, network, data_format="channels_last")


def _decode_rgb(data):
    """Upright 8-bit RGB (as float32 0-255) of one encoded JPEG or PNG, its size checked before decoding."""
    import tensorflow as tf

    from keras_alexnet.image_io import MAX_IMAGE_PIXELS

    is_jpeg = tf.io.is_jpeg(data)
    is_png = tf.equal(tf.strings.substr(data, 0, 8), _PNG_SIGNATURE)
    tf.debugging.Assert(is_jpeg | is_png, ["keras_alexnet serving: the image is neither a JPEG nor a PNG file"])

    def png_size():
        header = tf.cast(tf.io.decode_raw(tf.strings.substr(data, 16, 8), tf.uint8), tf.int64)
        return header[0] * 2**24 + header[1] * 2**16 + header[2] * 2**8 + header[3], (
            header[4] * 2**24 + header[5] * 2**16 + header[6] * 2**8 + header[7]
        )

    def jpeg_size():
        shape = tf.cast(tf.io.extract_jpeg_shape(data), tf.int64)
        return shape[1], shape[0]

    width, height = tf.cond(is_jpeg, jpeg_size, png_size)
    message = f"keras_alexnet serving: the image has more than MAX_IMAGE_PIXELS = {MAX_IMAGE_PIXELS} pixels"
    with tf.control_dependencies(
        [tf.debugging.assert_less_equal(width * height, tf.constant(MAX_IMAGE_PIXELS, tf.int64), message=message)]
    ):
        data = tf.identity(data)

    def jpeg():
        image = tf.cast(tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE"), tf.float32)
        return _apply_orientation(image, _exif_orientation(data))

    def png():
        samples = tf.cast(tf.io.decode_png(data, channels=4, dtype=tf.uint16), tf.float32)
        rgb = tf.floor(samples[..., :3] * (255.0 / 65535.0) + 0.5)
        alpha = samples[..., 3:] / 65535.0
        return tf.round(rgb * alpha + 255.0 * (1.0 - alpha))  # transparent pixels onto white

    return tf.cond(is_jpeg, jpeg, png)


def _exif_orientation(data):
    """The EXIF orientation (1-8) of a JPEG: the first orientation entry in its first 64 KB, else 1."""
    import tensorflow as tf

    head = tf.strings.substr(data, 0, 65536)
    has_exif = tf.size(tf.strings.split(tf.strings.substr(head, 0, 4096), sep="Exif\x00\x00", maxsplit=1)) > 1
    orientation = tf.constant(1, tf.int32)
    for tag, offset in zip(_ORIENTATION_TAGS, (0, 1), strict=True):
        parts = tf.strings.split(head, sep=tag, maxsplit=1)
        found = tf.size(parts) > 1
        value_bytes = tf.strings.substr(parts[-1], 0, 2)
        value = tf.cond(
            found & tf.equal(tf.strings.length(value_bytes), 2),
            lambda v=value_bytes, o=offset: tf.cast(tf.io.decode_raw(v, tf.uint8)[o], tf.int32),
            lambda: tf.constant(0, tf.int32),
        )
        orientation = tf.where(has_exif & (orientation == 1) & (value >= 1) & (value <= 8), value, orientation)
    return orientation


def _apply_orientation(image, orientation):
    """`PIL.ImageOps.exif_transpose` for orientation 1-8 (2: mirror, 3: 180, 6: 90 clockwise, 8: 90 anticlockwise)."""
    import tensorflow as tf

    def transpose(x):
        return tf.transpose(x, [1, 0, 2])

    branches = [
        lambda: image,  # 1
        lambda: image[:, ::-1],  # 2: FLIP_LEFT_RIGHT
        lambda: image[::-1, ::-1],  # 3: ROTATE_180
        lambda: image[::-1],  # 4: FLIP_TOP_BOTTOM
        lambda: transpose(image),  # 5: TRANSPOSE
        lambda: tf.image.rot90(image, k=3),  # 6: ROTATE_270 (90 clockwise)
        lambda: transpose(image)[::-1, ::-1],  # 7: TRANSVERSE
        lambda: tf.image.rot90(image, k=1),  # 8: ROTATE_90
    ]
    return tf.switch_case(orientation - 1, branches)


def _resize_and_crop(image, resize: int, crop: int, resize_mode: str):
    """`image_io.load_image`'s resize (bilinear, antialiased), rounded to 8 bits, then the centre crop; float32."""
    import tensorflow as tf

    shape = tf.shape(image)
    height, width = tf.cast(shape[0], tf.float64), tf.cast(shape[1], tf.float64)
    if resize_mode == "warp":
        new_h = new_w = tf.constant(resize, tf.int32)
    else:
        scale = resize / tf.minimum(height, width)
        new_h = tf.maximum(resize, tf.cast(tf.round(height * scale), tf.int32))  # round half to even, as Python's
        new_w = tf.maximum(resize, tf.cast(tf.round(width * scale), tf.int32))
    top, left = (new_h - crop) // 2, (new_w - crop) // 2
    # Only the crop's window is resampled, on the full resize's grid (bounded memory for very long images).
    scales = tf.cast(tf.stack([tf.cast(new_h, tf.float64) / height, tf.cast(new_w, tf.float64) / width]), tf.float32)
    window = tf.raw_ops.ScaleAndTranslate(
        images=image[None],
        size=[crop, crop],
        scale=scales,
        translation=-tf.cast(tf.stack([top, left]), tf.float32),
        kernel_type="triangle",
        antialias=True,
    )[0]
    return tf.clip_by_value(tf.round(window), 0.0, 255.0)


def sample_predictions(served, files: list[bytes]) -> dict[str, np.ndarray]:
    """Run a loaded serving signature on encoded files; NumPy outputs (ids and labels as str)."""
    import tensorflow as tf

    out = served(images=tf.constant(files))
    return {
        "ids": np.vectorize(bytes.decode)(out["ids"].numpy()),
        "labels": np.vectorize(bytes.decode)(out["labels"].numpy()),
        "scores": out["scores"].numpy(),
    }
