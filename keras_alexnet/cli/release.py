"""`keras-alexnet release NAME --repo-id ORG/REPO [--tag v1]`: publish a registered checkpoint, checked end to end.

For maintainers with a Hub token (HF_TOKEN or `hf auth login`; never printed) and
network: fetch the original(s) of NAME, convert, cross-check the originals
against each other, verify parity against the original's own runtime on real
photographs, push, tag, pull back into an empty cache and compare bit for bit,
then print the registry fields to paste (`keras_alexnet.release`).

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> args = build_parser().parse_args(["release", "imagenet", "--repo-id", "me/alexnet", "--tag", "v1"])
>>> args.name, args.repo_id, args.tag, args.tolerance
('imagenet', 'me/alexnet', 'v1', None)
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    from keras_alexnet.cli.arguments import non_negative_float

    parser = subparsers.add_parser(
        "release",
        help="convert, check and publish a registered checkpoint on the Hub; print the registry fields to pin",
        description=(
            "Fetch the public original(s) of the registered weights NAME, convert them, compare the originals' "
            "Keras weights array by array, verify the conversion against the original's own runtime (ONNX Runtime "
            "/ PyTorch) on two real photographs, push the checkpoint to --repo-id in one commit, create or move "
            "--tag, pull the commit back into an empty Hugging Face cache and compare it bit for bit, then print "
            "the HubLocation fields (revision, sha256, tag) to paste into keras_alexnet/weights/registry.py. "
            "Nothing is pushed unless every check before the push passes. Authenticate with HF_TOKEN or "
            "`hf auth login`."
        ),
    )
    parser.add_argument("name", help="a registered weights name or alias (see `keras-alexnet weights`)")
    parser.add_argument("--repo-id", required=True, help="org/name of the Hub repository (created if missing)")
    parser.add_argument("--tag", default=None, help="a Hub tag (e.g. v1) to create, or move, to the pushed commit")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument(
        "--tolerance",
        type=non_negative_float,
        default=None,
        help="largest |difference| allowed between the Keras weights of two originals (default: "
        "CROSS_CHECK_TOLERANCE of keras_alexnet/release.py, 1e-6, justified there)",
    )
    parser.add_argument(
        "--work-dir", default=None, help="scratch directory for the checks (about 1 GB; default: the cache)"
    )
    parser.add_argument("--keep-originals", action="store_true", help="keep the downloaded originals in the cache")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    restore = args.no_progress and not are_progress_bars_disabled()
    if restore:
        disable_progress_bars()  # the upload's and the pull-back's bars too
    try:
        return _release(args)
    finally:
        if restore:
            enable_progress_bars()


def _release(args: argparse.Namespace) -> int:
    from keras_alexnet.release import CROSS_CHECK_TOLERANCE, org_note, release

    result = release(
        args.name,
        args.repo_id,
        tag=args.tag,
        private=args.private or None,
        work_dir=args.work_dir,
        tolerance=CROSS_CHECK_TOLERANCE if args.tolerance is None else args.tolerance,
        keep_originals=args.keep_originals,
        progress=not args.no_progress,
        say=lambda line: print(f"release: {line}", flush=True),
    )
    print(f"released {result.record} to {result.pushed.repo_id}: commit {result.pushed.commit_sha}")
    print("registry fields (paste into the record in keras_alexnet/weights/registry.py):")
    print(f"    {result.registry_snippet()},")
    note = org_note(result.pushed.repo_id)
    if note:
        print(f"    {note}")
    return 0
