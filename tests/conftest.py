"""Shared pytest setup (kept minimal and generic): import path and a private cache folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) does not add the repo root
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture(autouse=True, scope="session")
def _cmcsl_cache_dir(tmp_path_factory: pytest.TempPathFactory):
    """Keep test runs out of ~/.cache: use a session temp folder unless CMCSL_CACHE_DIR is set (CI)."""
    if os.environ.get("CMCSL_CACHE_DIR"):
        yield
        return
    os.environ["CMCSL_CACHE_DIR"] = str(tmp_path_factory.mktemp("cmcsl-cache"))
    try:
        yield
    finally:
        os.environ.pop("CMCSL_CACHE_DIR", None)
