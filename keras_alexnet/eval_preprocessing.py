"""How each checkpoint's images are prepared for evaluation: one fact per preprocessing convention.

The sources evaluated their weights differently, and an accuracy is only reproduced the same way:

- "caffe" (BVLC's reference AlexNet): Caffe stores the images at 256 x 256, *warped* (aspect ratio not
  kept: `convert_imageset --resize_height=256 --resize_width=256`), subtracts the mean image and takes the
  centre 227 x 227 crop. Here: warp to 256 x 256, centre 227 crop, BGR, 0-255, minus the per-channel BGR
  mean that BVLC's mean image averages to (`CAFFE_BGR_MEAN`; the 256 x 256 mean image itself,
  `ilsvrc_2012_mean.binaryproto`, is not available offline, so this is the one difference).
- "torch" (torchvision's weights): the shorter side resized to 256 (aspect ratio kept), centre 224 x 224
  crop, RGB scaled to [0, 1], ImageNet mean and std.
- "paper" (checkpoints trained with the paper's recipe here): the shorter side to 256, the centre crop.

`EVAL_PREPROCESSING` holds these facts; `eval_preprocessing(network)` gives the one for a checkpoint's
`NetworkRecord` (derived from its `preprocessing`, so checkpoints written before this module work
unchanged; the crop is the network's input size), with a user's `resize_mode` / `resize` overriding it.
`keras_alexnet.image_io.load_image(path, weights=...)`, `preprocess_input(..., weights=...)` and the CLI's
`predict`, `evaluate` and `embed` follow it by default.

Example:

>>> from keras_alexnet.eval_preprocessing import eval_preprocessing
>>> spec = eval_preprocessing("bvlc_imagenet1k")
>>> spec.resize_mode, spec.resize, spec.crop
('warp', 256, 227)
>>> eval_preprocessing("torchvision_imagenet1k", resize_mode="warp").describe()
'warp to 256x256, centre 224x224 crop, RGB scaled to [0, 1], ImageNet mean and std'
"""

from __future__ import annotations

import dataclasses
import os

from keras_alexnet.preprocessing import CAFFE_BGR_MEAN, TORCH_MEAN, TORCH_STD

#: "warp": both sides to `resize` (aspect ratio not kept, as Caffe's convert_imageset stored ImageNet);
#: "shorter_side": the shorter side to `resize`, aspect ratio kept (torchvision, the paper).
RESIZE_MODES = ("warp", "shorter_side")


def check_resize_mode(resize_mode) -> str:
    """`resize_mode` if it is one of `RESIZE_MODES`, else a ValueError naming them."""
    if resize_mode not in RESIZE_MODES:
        raise ValueError(
            f"`resize_mode` must be one of {RESIZE_MODES}: 'warp' resizes both sides (aspect ratio not kept), "
            f"'shorter_side' keeps the aspect ratio. Received: resize_mode={resize_mode!r}"
        )
    return resize_mode


@dataclasses.dataclass(frozen=True)
class EvalPreprocessing:
    """How images are prepared to evaluate a checkpoint: resize, centre crop, colour and mean."""

    convention: str  # the NetworkRecord.preprocessing it belongs to ("caffe", "torch", "paper")
    resize_mode: str  # one of RESIZE_MODES
    resize: int  # the side (warp) or the shorter side (shorter_side) images are resized to
    crop: int  # the centre crop fed to the network
    colour: str  # channel order and scaling
    mean: str  # what is subtracted (and divided by)
    source: str = ""  # whose evaluation this reproduces
    differences: str = ""  # where it differs from that source, if anywhere

    def __post_init__(self) -> None:
        check_resize_mode(self.resize_mode)
        for field in ("resize", "crop"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"`{field}` must be a positive integer. Received: {field}={value!r}")
        if self.crop > self.resize:
            raise ValueError(
                f"The centre crop ({self.crop}) must not exceed the resize ({self.resize}); resize to at least "
                f"{self.crop}. Received: resize={self.resize}, crop={self.crop}"
            )

    def describe(self) -> str:
        """One line, e.g. "warp to 256x256, centre 227x227 crop, BGR 0-255, ..."."""
        resize = (
            f"warp to {self.resize}x{self.resize}" if self.resize_mode == "warp" else f"shorter side to {self.resize}"
        )
        return f"{resize}, centre {self.crop}x{self.crop} crop, {self.colour}, {self.mean}"

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "description": self.describe()}


_CAFFE_MEAN = "minus the per-channel BGR mean ({:.3f}, {:.3f}, {:.3f})".format(*CAFFE_BGR_MEAN)

#: The evaluation preprocessing of each convention (`NetworkRecord.preprocessing`), written once.
EVAL_PREPROCESSING: dict[str, EvalPreprocessing] = {
    "caffe": EvalPreprocessing(
        convention="caffe",
        resize_mode="warp",
        resize=256,
        crop=227,
        colour="BGR 0-255 (no scaling)",
        mean=_CAFFE_MEAN,
        source=(
            "BVLC's Caffe data layer: ImageNet stored at 256x256 by `convert_imageset --resize_height=256 "
            "--resize_width=256` (warped), mean_file ilsvrc_2012_mean.binaryproto, crop_size 227 (centre at test)"
        ),
        differences=(
            "the per-channel mean that BVLC's 256x256 mean image averages to is subtracted instead of the mean "
            "image itself, which is not available offline (the one difference in the recipe); resampling is "
            "Pillow's (antialiased bilinear), not OpenCV's cv::resize"
        ),
    ),
    "torch": EvalPreprocessing(
        convention="torch",
        resize_mode="shorter_side",
        resize=256,
        crop=224,
        colour="RGB scaled to [0, 1]",
        mean="ImageNet mean and std",
        source="torchvision's ImageClassification transform (resize_size=256 bilinear, crop_size=224)",
        differences=f"none (mean {TORCH_MEAN}, std {TORCH_STD})",
    ),
    "paper": EvalPreprocessing(
        convention="paper",
        resize_mode="shorter_side",
        resize=256,
        crop=224,
        colour="RGB 0-255",
        mean="minus the training set's mean",
        source="the paper, Section 2: the shorter side rescaled to 256, the central patch",
    ),
}


def eval_preprocessing(
    weights=None,
    *,
    resize_mode: str | None = None,
    resize: int | None = None,
    crop: int | None = None,
) -> EvalPreprocessing:
    """The evaluation preprocessing of `weights`, with any of `resize_mode`, `resize`, `crop` overriding it.

    `weights`: a `NetworkRecord`, a registered weights name, a checkpoint directory (its keras_alexnet.json),
    a convention name ("caffe", "torch", "paper"), or None (the "original" variant's: "caffe"). The crop is
    the network's input size (what the model accepts) unless `crop` is given.
    """
    from keras_alexnet.weights.network import NetworkRecord

    network = _network(weights)
    convention = network.preprocessing if isinstance(network, NetworkRecord) else network
    if convention not in EVAL_PREPROCESSING:
        raise ValueError(
            f"No evaluation preprocessing is known for the preprocessing convention {convention!r}; use one of "
            f"{sorted(EVAL_PREPROCESSING)}. Received: {weights!r}"
        )
    spec = EVAL_PREPROCESSING[convention]
    changes = {}
    if isinstance(network, NetworkRecord) and network.input_size != spec.crop:
        changes["crop"] = network.input_size
    for name, value in (("resize_mode", resize_mode), ("resize", resize), ("crop", crop)):
        if value is not None:
            changes[name] = value
    return dataclasses.replace(spec, **changes) if changes else spec


def _network(weights):
    """A NetworkRecord (or a convention name) for `eval_preprocessing`'s `weights`."""
    from keras_alexnet.weights.network import NetworkRecord

    if weights is None:
        return NetworkRecord()
    if isinstance(weights, NetworkRecord):
        return weights
    if isinstance(weights, str) and weights in EVAL_PREPROCESSING:
        return weights
    if isinstance(weights, str | os.PathLike):
        from keras_alexnet.weights.registry import get_weights_record, is_registered

        text = os.fspath(weights)
        if is_registered(text):
            return get_weights_record(text).network
        if os.path.isdir(text):
            return NetworkRecord.read(text)
    raise ValueError(
        "`weights` must be a NetworkRecord, a registered weights name, a checkpoint directory or a preprocessing "
        f"convention ({', '.join(sorted(EVAL_PREPROCESSING))}). Received: weights={weights!r}"
    )
