"""Tables of the weights registry: markdown for the README and docs, plain text for the CLI.

Both are generated from `keras_alexnet.weights.registry` so a fact is written once.

Example:

>>> from keras_alexnet.weights.tables import weights_markdown_table
>>> print(weights_markdown_table().splitlines()[0])  # doctest: +ELLIPSIS
| Name | Variant | Input | LRN | Preprocessing | Params | MACs | Top-1 / Top-5 (reported) | License | Hub |
"""

from __future__ import annotations

from collections.abc import Sequence

from keras_alexnet.weights.registry import WeightsRecord, list_weights

COLUMNS = ("Name", "Variant", "Input", "LRN", "Preprocessing", "Params", "MACs", "Top-1 / Top-5 (reported)")


def _lrn_text(record: WeightsRecord) -> str:
    lrn = record.network.lrn
    if lrn is None:
        return "none"
    convention = "alpha/n (Caffe)" if lrn.average else "alpha (paper)"
    return f"k={lrn.k:g}, n={lrn.size}, {convention}"


def _metrics_text(record: WeightsRecord) -> str:
    """Every reported top-1 / top-5, with its source: "57.1% / 80.2% (BVLC); 54.8% / 78.23% (ONNX model zoo)"."""
    texts = []
    for result in record.reported_results:
        metrics = result.metrics
        top1, top5 = metrics.get("top1_acc", float("nan")), metrics.get("top5_acc", float("nan"))
        texts.append(f"{top1:g}% / {top5:g}% ({result.source})")
    return "; ".join(texts) or "none reported"


def _hub_text(record: WeightsRecord, hub_org: str | None) -> str:
    hub = record.hub
    if hub.published:
        return f"{hub.repo_id(hub_org)}@{hub.revision[:10]}"
    return f"not published ({hub.repo_id(hub_org)})"


def record_row(record: WeightsRecord, hub_org: str | None = None) -> dict[str, str]:
    """One table row: column name -> text."""
    name = record.name + (f" ({', '.join(record.aliases)})" if record.aliases else "")
    network = record.network
    return {
        "Name": name,
        "Variant": network.variant,
        "Input": f"{network.input_size}x{network.input_size} {network.channel_order}",
        "LRN": _lrn_text(record),
        "Preprocessing": network.preprocessing,
        "Params": f"{record.num_params:,}",
        "MACs": f"{record.macs / 1e6:,.0f}M",
        "Top-1 / Top-5 (reported)": _metrics_text(record),
        "License": record.license,
        "Hub": _hub_text(record, hub_org),
    }


def weights_markdown_table(records: Sequence[WeightsRecord] | None = None, hub_org: str | None = None) -> str:
    """The registry as a markdown table (README, docs/weights.md), with a note on metrics and publication."""
    records = list_weights() if records is None else list(records)
    columns = (*COLUMNS, "License", "Hub")
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for record in records:
        row = record_row(record, hub_org)
        lines.append("| " + " | ".join(row[c].replace("|", "\\|") for c in columns) + " |")
    published = [r.name for r in records if r.hub.published]
    lines += [
        "",
        "Accuracies are those reported by each source on ILSVRC-2012 val, with its own preprocessing "
        "(`keras-alexnet weights --json` names it), until re-measured with `keras-alexnet evaluate`. "
        + (
            f"Published on the Hub: {', '.join(published)}."
            if published
            else "None of these checkpoints is published on the Hub yet: `weights=NAME` converts the public "
            "original on first use (see docs/weights.md)."
        ),
    ]
    return "\n".join(lines)


def weights_text_table(records: Sequence[WeightsRecord] | None = None, hub_org: str | None = None) -> str:
    """The registry as an aligned plain-text table (`keras-alexnet weights`)."""
    records = list_weights() if records is None else list(records)
    columns = ("Name", "Variant", "Input", "Params", "MACs", "Top-1 / Top-5 (reported)", "Hub")
    rows = [record_row(record, hub_org) for record in records]
    widths = [max(len(c), *(len(row[c]) for row in rows)) for c in columns]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(row[c].ljust(w) for c, w in zip(columns, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)
