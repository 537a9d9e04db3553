"""`keras-alexnet push CHECKPOINT_DIR --repo-id org/name`: publish a checkpoint on the Hugging Face Hub.

Creates the repository if needed, uploads the directory in one commit, writes
the model card only if the repository has none (or with --write-card), and
prints the commit URL and what to record in the registry (commit sha, sha256).
The token comes from `HF_TOKEN` or `hf auth login` and is never printed.

Example:

>>> from keras_alexnet.cli.main import build_parser
>>> args = build_parser().parse_args(["push", "ckpt", "--repo-id", "me/alexnet", "--private"])
>>> args.repo_id, args.private, args.write_card
('me/alexnet', True, False)
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "push",
        help="publish a checkpoint directory on the Hugging Face Hub (one commit)",
        description=(
            "Upload a keras_alexnet checkpoint directory (from `keras-alexnet convert` or save_checkpoint) to a "
            "Hugging Face Hub repository in one commit; prints the commit URL and the sha256 to pin in the "
            "registry. Authenticate with HF_TOKEN or `hf auth login`."
        ),
    )
    parser.add_argument("checkpoint", help="the checkpoint directory")
    parser.add_argument("--repo-id", required=True, help="org/name of the Hub repository (created if missing)")
    parser.add_argument("--revision", default=None, help="branch to commit to (created if missing; default main)")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument(
        "--write-card", action="store_true", help="replace the repository's README.md (default: only if absent)"
    )
    parser.add_argument("--message", default=None, help="commit message")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from keras_alexnet.weights.publish import push_to_hub

    result = push_to_hub(
        args.checkpoint,
        args.repo_id,
        revision=args.revision,
        private=args.private or None,
        write_card=args.write_card,
        commit_message=args.message,
    )
    card = "model card written" if result.wrote_model_card else "existing model card kept"
    print(f"pushed {args.checkpoint} to {result.repo_id}@{result.revision} ({card})")
    print(f"commit: {result.commit_url}")
    print(f"commit sha: {result.commit_sha}")
    print(f"checksums.json sha256: {result.checksums_sha256} (it lists every file's sha256)")
    print(f"registry: {result.registry_snippet()}")
    return 0
