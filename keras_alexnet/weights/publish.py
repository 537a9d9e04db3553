"""Publish a checkpoint directory (or a model) to the Hugging Face Hub in one commit.

`push_to_hub` creates the repository if needed, uploads the checkpoint in one
commit (`HfApi.upload_folder`), writes the model card only when the repository
has none (or when asked), and returns what the registry needs to pin the
upload: the commit sha and the sha256 of checksums.json (which lists every file's). The token comes
from `HF_TOKEN` / `hf auth login` (or the `token` argument) and is never printed.

Example (needs a Hub and a token):

>>> import keras_alexnet  # doctest: +SKIP
>>> result = keras_alexnet.push_to_hub("ckpt/", "my-org/alexnet-bvlc-imagenet1k")  # doctest: +SKIP
>>> result.registry_snippet()  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from pathlib import Path

from keras_alexnet.models.build import has_top
from keras_alexnet.models.model import network_record
from keras_alexnet.weights.checkpoint import (
    CHECKSUMS_FILENAME,
    MODEL_CARD_FILENAME,
    TOP_WEIGHTS_FILENAME,
    save_checkpoint,
    verify_checksums,
)
from keras_alexnet.weights.checksums import sha256_file
from keras_alexnet.weights.network import NETWORK_FILENAME, NetworkRecord


@dataclasses.dataclass(frozen=True)
class PushResult:
    """What a push produced: where, which commit, and the weights' sha256 to record in the registry."""

    repo_id: str
    revision: str
    commit_sha: str
    commit_url: str
    weights_sha256: str
    wrote_model_card: bool
    #: sha256 of checksums.json: what a registry record pins (it lists every other file's sha256).
    checksums_sha256: str = ""

    def registry_fields(self, tag: str | None = None) -> dict[str, str]:
        """The `HubLocation` fields that pin this upload (with `tag`, a Hub tag pointing at the commit)."""
        fields = {
            "repo_name": self.repo_id.split("/", 1)[1],
            "revision": self.commit_sha,
            "filename": CHECKSUMS_FILENAME,
            "sha256": self.checksums_sha256,
        }
        return fields | ({"tag": tag} if tag else {})

    def registry_snippet(self, tag: str | None = None) -> str:
        """The `HubLocation(...)` arguments to paste into `keras_alexnet/weights/registry.py`."""
        arguments = ", ".join(f'{key}="{value}"' for key, value in self.registry_fields(tag).items())
        return f"hub=HubLocation({arguments})"


def push_to_hub(
    model_or_dir,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool | None = None,
    write_card: bool = False,
    commit_message: str | None = None,
    network: NetworkRecord | None = None,
    token: str | None = None,
    replace_all: bool = False,
) -> PushResult:
    """Upload a checkpoint directory (or a model, saved as one first) to `repo_id` in one commit.

    Args:
        model_or_dir: a checkpoint directory (`keras-alexnet convert`, `save_checkpoint`) or a
            full keras_alexnet model.
        repo_id: "org/name"; created if it does not exist.
        revision: the branch to commit to (created from main if missing); default "main".
        private: create the repository private (only used when it is created).
        write_card: replace the repository's README.md; by default it is written only if absent.
        commit_message: defaults to "Upload keras_alexnet checkpoint".
        network: with a model, its `NetworkRecord` (`keras_alexnet.network_record(model)` if None).
        token: a Hub token; defaults to `HF_TOKEN` / the saved login.
        replace_all: delete the repository's other files in the same commit, so that the commit holds exactly
            the checkpoint's files (`keras-alexnet release`); the Hub's `.gitattributes` is always kept.
    """
    options = dict(
        revision=revision,
        private=private,
        write_card=write_card,
        commit_message=commit_message,
        token=token,
        replace_all=replace_all,
    )
    if isinstance(model_or_dir, str | os.PathLike):
        return _push_directory(Path(model_or_dir), repo_id, **options)
    if not has_top(model_or_dir):
        raise ValueError(
            "push_to_hub takes a checkpoint directory or a full keras_alexnet model (include_top=True). "
            f"Received: {model_or_dir!r}"
        )
    with tempfile.TemporaryDirectory(prefix="keras_alexnet_push_") as tmp:
        directory = save_checkpoint(model_or_dir, Path(tmp) / "checkpoint", network or network_record(model_or_dir))
        return _push_directory(directory, repo_id, **options)


def _push_directory(
    directory, repo_id, *, revision, private, write_card, commit_message, token, replace_all
) -> PushResult:
    from huggingface_hub import HfApi

    if not (directory / NETWORK_FILENAME).is_file() or not (directory / CHECKSUMS_FILENAME).is_file():
        raise ValueError(
            f"{directory} is not a keras_alexnet checkpoint directory (it needs {NETWORK_FILENAME} and "
            f"{CHECKSUMS_FILENAME}); write one with `keras-alexnet convert` or `save_checkpoint`. "
            f"Received: {directory}"
        )
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(f"`repo_id` must look like 'org/name'. Received: repo_id={repo_id!r}")
    verify_checksums(directory)  # never publish a corrupted checkpoint
    checksums = json.loads((directory / CHECKSUMS_FILENAME).read_text())
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    branch = revision or "main"
    if branch != "main":
        api.create_branch(repo_id, branch=branch, exist_ok=True)
    has_card = api.file_exists(repo_id, MODEL_CARD_FILENAME, revision=branch)
    upload_card = write_card or not has_card
    commit = api.upload_folder(
        folder_path=directory,
        repo_id=repo_id,
        revision=branch,
        commit_message=commit_message or "Upload keras_alexnet checkpoint",
        ignore_patterns=None if upload_card else [MODEL_CARD_FILENAME],
        delete_patterns=["*"] if replace_all else None,
    )
    return PushResult(
        repo_id=repo_id,
        revision=branch,
        commit_sha=commit.oid,
        commit_url=commit.commit_url,
        weights_sha256=checksums.get(TOP_WEIGHTS_FILENAME, ""),
        wrote_model_card=upload_card,
        checksums_sha256=sha256_file(directory / CHECKSUMS_FILENAME),
    )


#: What `set_tag` accepts as a tag name: short, no separators, not a commit sha or "main".
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_tag_name(tag: str) -> str:
    """Return `tag` if it can name a Hub tag of a release, else raise ValueError."""
    if not isinstance(tag, str) or not _TAG.fullmatch(tag) or tag == "main" or re.fullmatch(r"[0-9a-f]{40}", tag):
        raise ValueError(
            "A release tag is a short name such as 'v1' (letters, digits, '.', '_', '-'; not 'main' and not a "
            f"commit sha). Received: tag={tag!r}"
        )
    return tag


def set_tag(
    repo_id: str, tag: str, commit_sha: str, *, token: str | None = None, message: str | None = None
) -> str | None:
    """Point the Hub tag `tag` of `repo_id` at `commit_sha`, creating or moving it.

    Returns the commit the tag pointed at before (None if it is new). The Hub
    refuses to create an existing tag, so moving it is `delete_tag` then `create_tag`.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RevisionNotFoundError

    check_tag_name(tag)
    api = HfApi(token=token)
    try:
        previous = api.model_info(repo_id, revision=tag).sha
    except RevisionNotFoundError:
        previous = None
    if previous == commit_sha:
        return previous
    if previous is not None:
        api.delete_tag(repo_id, tag=tag)
    api.create_tag(repo_id, tag=tag, revision=commit_sha, tag_message=message)
    return previous
