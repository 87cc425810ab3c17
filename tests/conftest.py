"""Shared pytest setup: import path, a private cache folder, and the browser tests' Chromium and app servers."""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
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


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.needs_shared("mvsa-single/data")``: fail (not skip) when ``../shared/...`` is missing."""
    from tests.helpers_core import require_shared

    for mark in item.iter_markers("needs_shared"):
        for relative in mark.args:
            require_shared(relative)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under playwright, one per test module; the test fails if it is not installed."""
    from tests.browser_helpers import chromium_path, headless_chromium

    if chromium_path() is None:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium (the CI script does this)")
    with headless_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def serve_app(tmp_path_factory: pytest.TempPathFactory):
    """``serve_app(script=..., env=...)`` starts ``streamlit run`` and returns its URL; stopped after the module."""
    from tests.browser_helpers import running_app

    with ExitStack() as stack:

        def serve(**kwargs: object) -> str:
            log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
            return stack.enter_context(running_app(log, **kwargs))  # type: ignore[arg-type]

        yield serve
