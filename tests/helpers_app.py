"""Shared helpers of the AppTest suites (tests/test_app*.py, tests/test_review_page.py).

Pages run as in the browser: ``app.py`` is the main script and a test switches to a page of
``pages/``. The command lines a page shows are parsed or run through the real CLI.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cmcsl_core.cli import build_parser
from cmcsl_core.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
HOME, CLUSTERS, CURVES, HOW = "app.py", "pages/1_Clusters.py", "pages/2_BAC_curves.py", "pages/3_How_CMCSL_works.py"
REVIEW = "pages/4_Review.py"
TIMEOUT = 240


@pytest.fixture()
def no_background_umap(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppTest runs pages in this process; keep UMAP workers out of it (the demo HR views are shipped)."""
    monkeypatch.setenv("CMCSL_NO_BACKGROUND_UMAP", "1")


def run_page(page: str, timeout: float = TIMEOUT, **params: str) -> AppTest:
    """Run ``page`` of the app (app.py as the main script), with URL query parameters."""
    at = AppTest.from_file(str(ROOT / HOME), default_timeout=timeout)
    for key, value in params.items():
        at.query_params[key] = value
    if page != HOME:
        at.switch_page(page)
    at.run()
    return at


def plotly_charts(at: AppTest) -> list:
    return list(at.get("plotly_chart"))


def assert_clean(at: AppTest) -> None:
    """No exception and no st.error on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


REPRODUCE = "reproduce_open"
"""Key of the Clusters page's folded "reproduce on the command line" expander (its lines are drawn only when open)."""


def code_lines(at: AppTest) -> list[str]:
    """The command lines the page shows (on the Clusters page: after unfolding them, as a user does)."""
    if REPRODUCE in at.session_state and not at.session_state[REPRODUCE]:
        at.session_state[REPRODUCE] = True
        at.run()
    return [line for c in at.code for line in c.value.splitlines()]


def shown_command(at: AppTest, verb: str) -> str:
    """The one ``python -m cmcsl_core VERB ...`` line the page shows."""
    lines = [ln for ln in code_lines(at) if ln.startswith(f"python -m cmcsl_core {verb} ")]
    assert len(lines) == 1, code_lines(at)
    return lines[0]


def parse_shown(line: str):
    """The CLI's parse of a line the app shows."""
    return build_parser().parse_args(shlex.split(line)[3:])


def run_shown(line: str) -> None:
    """Run a ``python -m cmcsl_core ...`` line the app shows, through the CLI, in the current folder."""
    argv = shlex.split(line)
    assert argv[:3] == ["python", "-m", "cmcsl_core"], line
    quiet = ["--no-progress"] if argv[3] in ("curve", "fusion") else []
    assert cli_main([*argv[3:], *quiet]) == 0, line


def press(at: AppTest, key: str, wait: bool = True) -> AppTest:
    """Click the Review card's button bound to ``key`` (its keyboard shortcut) and rerun.

    Every card has its own buttons (:func:`cmcsl_studio_ui.review.button_key`). ``wait``: as a
    person does, once the card has been on screen for a moment (keys typed ahead of a new
    card are dropped)."""
    import time

    from cmcsl_studio_ui.review import KEY_DWELL, button_key

    if wait:
        time.sleep(KEY_DWELL)
    button = at.button(key=button_key(key, at.session_state["review_cursor"][1].current))
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at
