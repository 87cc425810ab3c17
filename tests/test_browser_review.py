"""The Review page's keyboard flow in the running app (headless Chromium via playwright).

Starts ``streamlit run app.py`` with the annotation database in a temporary folder, opens
``/Review``, presses the keys an annotator presses (accept the text's label, choose a class,
undo, skip) and checks after each key the rows of the SQLite database and the item shown.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import pytest

from cmcsl_core.annotations import AnnotationStore, HumanLabels, labels_from_seeds, review_queue
from cmcsl_core.annotations.queue import default_queue_order
from cmcsl_core.cli import build_parser
from cmcsl_core.cli import self_label as label_cli
from cmcsl_core.datasets.sources import SourceSpec
from tests.browser_helpers import browser_page, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ANNOTATOR = "keyboard"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, serve_app):
    db = tmp_path_factory.mktemp("review") / "labels.sqlite"
    env = {"CMCSL_DB": str(db), "CMCSL_ANNOTATOR": ANNOTATOR, "CMCSL_NO_BACKGROUND_UMAP": "1"}
    return serve_app(env=env), db


def wait_rows(store: AnnotationStore, n: int, timeout: float = 30.0) -> list:
    """The database's actions once there are ``n`` of them."""
    deadline = time.monotonic() + timeout
    while True:
        history = store.history()
        if len(history) >= n or time.monotonic() > deadline:
            return history
        time.sleep(0.2)


def wait_keys_ready(pg, item: int | None = None, timeout: float = 30_000) -> None:
    """Wait until the card's keyboard takes a key, as a person's first key after looking at the card:
    the page is idle, the keyboard shows ``item`` (any, if None), and the card has been on screen for
    its dwell (a key pressed sooner is dropped as typed ahead, on a loaded machine too)."""
    wait_idle(pg)
    pg.wait_for_function(
        "(item) => { const s = window.__reviewKeys; return !!(s && s.active && s.data && !s.sent"
        " && (item === null || s.data.item === item)"
        " && performance.now() - s.shownAt >= (s.dwellMs ?? s.data.dwell_ms) + 50); }",
        arg=None if item is None else int(item),
        timeout=timeout,
    )


def wait_item(pg, item: int) -> None:
    """Wait until the review card shows ``item`` (its bold ``#item`` heading, first on the card)."""
    pg.wait_for_function(
        "(item) => { const s = [...document.querySelectorAll('[data-testid=stMarkdownContainer] strong')]"
        ".find(e => /^#\\d+$/.test(e.textContent)); return s && s.textContent === '#' + item; }",
        arg=int(item),
        timeout=30_000,
    )


def test_keys_label_undo_and_skip_in_the_browser(app, browser, tmp_path: Path) -> None:
    url, db = app
    fs = SourceSpec.create("demo").load()
    with browser_page(browser) as pg:
        pg.goto(f"{url}/Review")
        wait_idle(pg, 120_000)
        pg.get_by_role("heading", name="Review").first.wait_for()
        code = pg.locator("[data-testid=stCode]").inner_text()
        line = next(ln for ln in code.splitlines() if ln.startswith("python -m cmcsl_core labels "))
        request = label_cli.request_from_args(build_parser().parse_args(shlex.split(line)[3:]))
        base = labels_from_seeds(fs, request.seed_indices(fs), HumanLabels.empty(), request.preprocessing).result
        queue = review_queue(base, order=default_queue_order(base.labeler))  # the order the page starts with
        names = fs.class_names
        wait_item(pg, queue[0])
        store = AnnotationStore(fs, db)
        assert store.history() == []

        pg.get_by_role("heading", name="Review").first.click()  # focus the page, not a text field
        wait_keys_ready(pg, queue[0])
        pg.keyboard.press("t")  # accept the text's label
        (a,) = wait_rows(store, 1)
        assert (a.index, a.label, a.annotator, a.kind) == (
            queue[0],
            names[base.labels[1, queue[0]]],
            ANNOTATOR,
            "label",
        )
        wait_item(pg, queue[1])
        wait_keys_ready(pg, queue[1])

        pg.keyboard.press("2")  # choose class 2
        b = wait_rows(store, 2)[-1]
        assert (b.index, b.label) == (queue[1], names[1])
        wait_item(pg, queue[2])
        wait_keys_ready(pg, queue[2])

        pg.keyboard.press("u")  # undo: the class-2 label is taken back, its item shown again
        u = wait_rows(store, 3)[-1]
        assert (u.kind, u.undoes, u.index) == ("undo", b.id, queue[1])
        wait_item(pg, queue[1])
        wait_keys_ready(pg, queue[1])

        pg.keyboard.press("s")  # skip: nothing stored, the next item at once
        wait_item(pg, queue[2])
        wait_keys_ready(pg, queue[2])
        assert len(store.history()) == 3
        assert store.current().as_dict(names) == {int(queue[0]): a.label}

        pg.keyboard.press("1")
        c = wait_rows(store, 4)[-1]
        assert (c.index, c.label) == (queue[2], names[0])
        wait_item(pg, queue[3])
        assert store.integrity_check() == "ok"
        pg.screenshot(path=str(tmp_path / "review.png"))


def metric(pg, label: str) -> str:
    """The value of the metric ``label`` as the browser shows it."""
    box = pg.locator("[data-testid=stMetric]").filter(has_text=label).first
    return box.locator("[data-testid=stMetricValue]").inner_text().strip()


def test_type_ahead_five_quick_presses_store_one_label_and_counters_stay_live(app, browser, tmp_path: Path) -> None:
    url, db = app
    fs = SourceSpec.create("demo").load()
    store = AnnotationStore(fs, db)
    before = store.history()
    with browser_page(browser) as pg:
        pg.goto(f"{url}/Review")
        wait_idle(pg, 120_000)
        pg.get_by_role("heading", name="Review").first.click()
        first = int(pg.wait_for_function(
            "() => { const s = [...document.querySelectorAll('[data-testid=stMarkdownContainer] strong')]"
            ".find(e => /^#\\d+$/.test(e.textContent)); return s && s.textContent.slice(1); }",
            timeout=60_000,
        ).json_value())
        wait_keys_ready(pg, first, timeout=60_000)
        left = int(metric(pg, "Left in the queue").replace(",", ""))
        mine = int(metric(pg, "Your labels"))
        # "2" five times, 60 ms apart: one label, on the item that was on screen. On a loaded machine playwright's
        # presses (each a round trip) and the page's timers arrive late, and a press that reaches the next card once
        # it has been shown for the dwell rightly labels it; so the page's keyboard takes a dwell longer than any
        # such delay here (its test hook), and the presses' real spacing is measured in the page.
        pg.evaluate("() => { window.__reviewKeys.dwellMs = 3000; window.__pressTimes = [];"
                    " document.addEventListener('keydown', () => window.__pressTimes.push(performance.now()), true); }")
        wait_keys_ready(pg, first, timeout=60_000)
        for _ in range(5):
            pg.keyboard.press("2")
            pg.wait_for_timeout(60)
        times = pg.evaluate("() => window.__pressTimes")
        assert len(times) == 5 and times[-1] - times[0] < 3000, times
        wait_rows(store, len(before) + 1)
        wait_idle(pg)
        pg.wait_for_timeout(1500)  # any late key would have been stored by now
        wait_idle(pg)
        after = store.history()
        assert len(after) == len(before) + 1, [(a.index, a.label) for a in after[len(before):]]
        assert (after[-1].index, after[-1].label) == (first, fs.class_names[1])
        assert pg.evaluate("() => window.__reviewKeys.seq") == 1  # the browser sent one key: the others it dropped
        # the counters moved without a reload
        assert int(metric(pg, "Your labels")) == mine + 1
        assert int(metric(pg, "Left in the queue").replace(",", "")) == left - 1
        pg.screenshot(path=str(tmp_path / "type_ahead.png"))
