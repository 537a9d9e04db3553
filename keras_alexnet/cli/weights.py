"""`keras-alexnet weights`: list the registered checkpoints; `weights fetch NAME` gets one ahead of time.

    keras-alexnet weights                      # table of the registry
    keras-alexnet weights --json               # every field, as JSON (originals in the order they are tried)
    keras-alexnet weights --markdown           # the table of README.md / docs/weights.md
    keras-alexnet weights fetch imagenet       # cache -> pinned Hub copy -> download + convert an original
    keras-alexnet weights fetch torchvision_imagenet1k --from alexnet-owt-7be5be79.pth   # no internet
    keras-alexnet weights verify [NAME] [--json]  # check the cache against checksums.json (exit 1: damaged)

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> args = build_parser().parse_args(["weights", "fetch", "imagenet", "--from", "bvlcalexnet-12.onnx"])
>>> args.name, args.from_file
('imagenet', 'bvlcalexnet-12.onnx')
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "weights",
        help="list the registered pretrained weights, or fetch one (`weights fetch NAME`)",
        description=(
            "List the registered pretrained checkpoints (variant, input, parameters, MACs, accuracy reported by "
            "the source, license, Hub location), or fetch one into the local cache ahead of time."
        ),
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print every field of every record as JSON")
    output.add_argument("--markdown", action="store_true", help="print the markdown table (README, docs)")
    parser.add_argument(
        "--hub-org", default=None, help="Hub organisation of the repos (default: $KERAS_ALEXNET_HUB_ORG)"
    )
    parser.set_defaults(func=run_list)
    actions = parser.add_subparsers(dest="weights_command", metavar="ACTION")
    fetch = actions.add_parser(
        "fetch",
        help="put a registered checkpoint into the local cache (download and convert if needed)",
        description=(
            "Fetch the registered weights NAME into the local cache: the pinned Hub copy when published, else "
            "the public original (download with resume, checksum, conversion). With --from FILE, convert an "
            "original you already downloaded (its checksum must match the registry), without network."
        ),
    )
    fetch.add_argument("name", help="a registered weights name or alias (see `keras-alexnet weights`)")
    fetch.add_argument("--from", dest="from_file", default=None, help="an original file you already have")
    fetch.add_argument(
        "--hub-org", default=argparse.SUPPRESS, help="Hub organisation (default: $KERAS_ALEXNET_HUB_ORG)"
    )
    fetch.add_argument("--keep-original", action="store_true", help="keep the downloaded original in the cache")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    fetch.set_defaults(func=run_fetch)
    verify = actions.add_parser(
        "verify",
        help="check the cached checkpoints (or one) against their checksums.json",
        description=(
            "Check every file of every checkpoint in the local cache (or of NAME) against its checksums.json: "
            "size and sha256, hashed again now. One line per entry: ok, damaged (which file, expected and actual "
            "sha256) or incomplete. Exit status 1 if any entry is damaged or incomplete; "
            "`keras-alexnet weights fetch NAME` then sets it aside and fetches it again."
        ),
    )
    verify.add_argument("name", nargs="?", default=None, help="one registered name or alias (default: every entry)")
    verify.add_argument("--json", action="store_true", help="print the results as JSON")
    verify.set_defaults(func=run_verify)


def run_list(args: argparse.Namespace) -> int:
    from keras_alexnet.eval_preprocessing import eval_preprocessing
    from keras_alexnet.weights.registry import list_weights
    from keras_alexnet.weights.tables import weights_markdown_table, weights_text_table

    if args.json:
        records = [
            {**record.to_dict(args.hub_org), "evaluation_preprocessing": eval_preprocessing(record.network).to_dict()}
            for record in list_weights()
        ]
        print(json.dumps(records, indent=2))
    elif args.markdown:
        print(weights_markdown_table(hub_org=args.hub_org))
    else:
        print(weights_text_table(hub_org=args.hub_org))
        print(
            "\nOriginals, tried in order when no converted copy is cached "
            "(each verified against its recorded checksum and size):"
        )
        for record in list_weights():
            for number, original in enumerate(record.originals, 1):
                where = (
                    f"Hub {original.repo_id} {original.path_in_repo} @ {original.revision}"
                    if original.is_hub
                    else original.url
                )
                print(f"  {record.name} {number}. {where} ({original.format}, {original.checksum})")
        published = [r.name for r in list_weights() if r.hub.published]
        print(
            "\nPublished on the Hub: "
            + (", ".join(published) if published else "none yet")
            + ". Unpublished weights are converted from their public original on first use "
            "(`keras-alexnet weights fetch NAME`)."
        )
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from keras_alexnet.pretrained import fetch_from_file, fetch_registered
    from keras_alexnet.weights.registry import get_weights_record

    record = get_weights_record(args.name)
    if args.from_file:
        resolved = fetch_from_file(record, args.from_file)
    else:
        resolved = fetch_registered(
            record, hub_org=args.hub_org, progress=not args.no_progress, keep_original=args.keep_original
        )
    print(f"{record.name}: {resolved.description}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """`weights verify [NAME]`: one line (or a JSON object) per cache entry; 1 if any is damaged or incomplete."""
    from keras_alexnet.weights.cache import (
        cache_dir,
        cache_entries,
        check_cache_entry,
        checkpoint_cache_dir,
        set_aside_entries,
    )
    from keras_alexnet.weights.checkpoint import is_plain_file_name
    from keras_alexnet.weights.registry import get_weights_record, is_registered

    if args.name is None:
        entries = cache_entries()
    else:
        name = get_weights_record(args.name).name if is_registered(args.name) else args.name
        if not is_plain_file_name(name) or not (is_registered(name) or checkpoint_cache_dir(name).is_dir()):
            get_weights_record(args.name)  # raises the registry's ValueError naming the known names
        entries = [checkpoint_cache_dir(name)]
    results = []
    for directory in entries:
        if not directory.is_dir():
            results.append({"name": directory.name, "directory": str(directory), "status": "not cached"})
            continue
        check = check_cache_entry(directory, rehash=True)
        results.append({"name": directory.name, **check.to_dict(), "line": check.describe()})
    set_aside = [str(path) for path in set_aside_entries()]
    if args.json:
        print(json.dumps({"cache": str(cache_dir()), "entries": results, "set_aside": set_aside}, indent=2))
    else:
        if not results:
            print(f"no checkpoints in the cache {cache_dir()}")
        for result in results:
            if result["status"] == "not cached":
                line = f"not in the cache ({result['directory']}); `keras-alexnet weights fetch {result['name']}`"
            elif result["status"] == "ok":
                line = result["line"]
            else:
                fix = f"`keras-alexnet weights fetch {result['name']}` sets it aside and fetches it again"
                line = f"{result['line']}. Fix: {fix}"
            print(f"{result['name']}: {line}")
        for path in set_aside:
            print(f"{Path(path).name}: a damaged entry set aside earlier; delete {path} once you no longer need it")
    return 1 if any(result["status"] in ("damaged", "incomplete") for result in results) else 0
