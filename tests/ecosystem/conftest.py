"""Fixtures for the ecosystem tests: the batch tests' awkward-file set, shared rather than written twice."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_keras_alexnet_batch_fixtures", Path(__file__).parents[1] / "batch" / "conftest.py"
)
_batch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_batch)

awkward_dir = _batch.awkward_dir  # (folder, readable names, unreadable names); see tests/batch/conftest.py
