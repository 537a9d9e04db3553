"""Model cards (README.md with YAML metadata) generated from the registry records.

Example:

>>> from keras_alexnet.weights.model_card import build_model_card
>>> from keras_alexnet.weights.registry import get_weights_record
>>> record = get_weights_record("imagenet")
>>> build_model_card(record.network, record).startswith("---\\nlibrary_name: keras")
True
"""

from __future__ import annotations

from keras_alexnet.weights.complexity import count_macs, count_params
from keras_alexnet.weights.network import NetworkRecord

CITATION = """@inproceedings{krizhevsky2012imagenet,
  title     = {ImageNet Classification with Deep Convolutional Neural Networks},
  author    = {Krizhevsky, Alex and Sutskever, Ilya and Hinton, Geoffrey E.},
  booktitle = {Advances in Neural Information Processing Systems},
  volume    = {25},
  year      = {2012}
}"""


def build_model_card(network: NetworkRecord, record=None) -> str:
    """A Hugging Face model card for a checkpoint of `network` (described by `record` if given)."""
    name = record.name if record else f"alexnet-{network.variant}"
    license_id = "other" if record is None or "BSD" not in record.license else "bsd-3-clause"
    lines = [
        "---",
        "library_name: keras",
        f"license: {license_id}",
        "tags:",
        "  - image-classification",
        "  - keras",
        "  - alexnet",
        "  - keras-alexnet",
        "datasets:",
        "  - imagenet-1k" if network.categories == "imagenet1k" else f"  - {network.categories}",
    ]
    if record is not None:
        lines += ["metrics:", "  - accuracy"]
    lines += ["---", "", f"# AlexNet: {name}", ""]
    if record is not None:
        lines += [record.description, "", f"License of the weights: {record.license}.", ""]
        lines += [
            "## Reported accuracy",
            "",
            "As reported by the sources, each with its own preprocessing (not re-measured here):",
            "",
        ]
        for result in record.reported_results:
            lines.append(
                f"- {result.source}: {result.metrics_text()} on the {result.dataset}; preprocessing: "
                f"{result.preprocessing} ({result.reference})"
            )
        lines += ["", "## Originals", "", "Converted from a public original (tried in this order, each verified):", ""]
        for original in record.originals:
            where = (
                f"Hub repo `{original.repo_id}`, `{original.path_in_repo}` at `{original.revision}`"
                if original.is_hub
                else original.url
            )
            size = f", {original.size:,} bytes" if original.size else ""
            note = f" {original.note}" if original.note else ""
            lines.append(f"- {where} ({original.format}, {original.checksum}{size}).{note}")
        lines.append("")
    lrn = network.lrn
    from keras_alexnet.eval_preprocessing import eval_preprocessing

    evaluation = eval_preprocessing(network)  # how images are prepared for this checkpoint
    lines += [
        "## Network",
        "",
        f"- variant: `{network.variant}`, {network.classes} classes, input {network.input_size}x"
        f"{network.input_size}x3 ({network.channel_order}), preprocessing `{network.preprocessing}`",
        f"- LRN: {'none' if lrn is None else lrn.to_dict()}",
        f"- {count_params(network.variant, network.classes, network.input_size):,} parameters, "
        f"{count_macs(network.variant, network.classes, network.input_size):,} multiply-accumulates per image",
        f"- evaluation preprocessing: {evaluation.describe()} ({evaluation.source or evaluation.convention})"
        + (f"; differences: {evaluation.differences}" if evaluation.differences else ""),
        "",
        "## Usage",
        "",
        "```python",
        "import keras_alexnet",
        "from keras_alexnet.image_io import load_image",
        "",
        f'model = keras_alexnet.AlexNet(weights="{name if record else "hf://ORG/THIS-REPO"}")',
        f"image = load_image('photo.jpg', size={evaluation.crop}, resize={evaluation.resize}, "
        f"resize_mode={evaluation.resize_mode!r})",
        f'x = keras_alexnet.preprocess_input(image[None], variant="{network.variant}")',
        "print(keras_alexnet.decode_predictions(model.predict(x)))",
        "```",
        "",
        "## Citation",
        "",
        "```bibtex",
        CITATION,
        "```",
        "",
    ]
    return "\n".join(lines)
