"""The linked scatter component (cmcsl_studio_ui.scatter) in headless Chromium, driven through its demo app.

``streamlit run scripts/scatter_demo_app.py`` on a free port; Debian's chromium (SwiftShader WebGL).
Checks first paint, that a rerun with new colours pushes kilobytes (the coordinates are not
re-sent), that click and lasso events reach Python once, linked hover highlighting, and the
coordinates handshake (pure Python, no browser).
"""

from __future__ import annotations

import time

import pytest

from cmcsl_studio_ui.scatter import _Handshake, _take, _wants_points
from cmcsl_studio_ui.scatter.browser import (
    WsCounter,
    click_item,
    hover_item,
    lasso,
    scatter_frame,
    wait_draws,
    wait_ready,
)
from tests.browser_helpers import browser_page, wait_idle

N = 6864


def _value(nonce: str, *events: dict) -> dict:
    return {"nonce": nonce, "seq": max(e["seq"] for e in events), "events": list(events)}


def test_handshake_sends_points_once_then_on_request() -> None:
    st = _Handshake(set(), set(), set(), {})
    assert _wants_points(st, "fp")  # first render of a fingerprint: send proactively
    st.sent.add("fp")
    assert not _wants_points(st, "fp")  # not again before anyone asks
    v1 = _value("a", {"event": "have_points", "seq": 1, "fingerprint": "fp"})
    assert _take(v1, st) == [] and "fp" in st.have
    assert _take(v1, st) == []  # the same value on a later rerun is not applied twice
    assert not _wants_points(st, "fp")
    # a reloaded iframe (new nonce, seq restarts) asks again; a click rides in the same value
    v2 = _value(
        "b",
        {"event": "need_points", "seq": 1, "fingerprint": "fp"},
        {"event": "click", "seq": 2, "ids": [7], "view": "image"},
    )
    events = _take(v2, st)
    assert [(e.kind, e.ids, e.view, e.seq) for e in events] == [("click", (7,), "image", 2)]
    assert _wants_points(st, "fp") and st.last_nonce == "b" and st.last_seq["b"] == 2
    # a value that still lists acknowledged events reports only the new one
    v3 = _value("b", {"event": "click", "seq": 2, "ids": [7]}, {"event": "select", "seq": 3, "ids": [1, 2]})
    assert [(e.kind, e.ids) for e in _take(v3, st)] == [("select", (1, 2))]
    assert _wants_points(st, "other")  # a new view (fingerprint) is sent on its first render


@pytest.fixture(scope="module")
def demo_url(serve_app) -> str:
    return serve_app(script="scripts/scatter_demo_app.py")


@pytest.fixture()
def page(browser):
    with browser_page(browser, width=1400, height=900) as pg:
        yield pg


def open_demo(page, url: str) -> tuple[object, float, WsCounter]:
    ws = WsCounter().attach(page)
    t0 = time.monotonic()
    page.goto(f"{url}/?n={N}")
    frame = scatter_frame(page)
    wait_ready(frame)
    first_paint = time.monotonic() - t0
    wait_idle(page, quiet_ms=400)
    assert page.locator('[data-testid="stException"]').count() == 0
    return frame, first_paint, ws


def events_text(page) -> str:
    return page.get_by_text("events:").inner_text()


@pytest.mark.browser
@pytest.mark.perf
def test_first_paint(demo_url: str, page) -> None:
    _, first_paint, _ = open_demo(page, demo_url)
    assert first_paint < 20, f"first paint took {first_paint:.1f} s"


@pytest.mark.browser
def test_kilobytes_per_recolour(demo_url: str, page) -> None:
    frame, _, ws = open_demo(page, demo_url)
    assert ws.received > N * 2 * 2 * 4  # the coordinates came once (float32, 2 views)
    assert page.locator("iframe").count() == 1
    assert frame.evaluate("() => window.__scatter.pointsReceived") == 1
    for _ in range(2):
        before = frame.evaluate("() => [window.__scatter.draws, window.__scatter.lastDraw.codesChecksum]")
        t0 = time.monotonic()
        page.get_by_role("button", name="Randomize").click()
        wait_draws(frame, before[0])
        wait_idle(page, quiet_ms=300)
        pushed = ws.since(t0)
        assert pushed <= 100_000, f"a recolour pushed {pushed} bytes"
        assert pushed > N, "the new colour codes (one byte per item) must arrive"
        after = frame.evaluate("() => window.__scatter.lastDraw.codesChecksum")
        assert after != before[1], "the views were not recoloured"
    assert frame.evaluate("() => window.__scatter.pointsReceived") == 1  # coordinates never re-sent
    assert frame.evaluate("() => window.__scatter.error || null") is None


@pytest.mark.browser
def test_click_and_lasso_reach_python_once(demo_url: str, page) -> None:
    frame, _, _ = open_demo(page, demo_url)
    item = 123
    click_item(page, frame, 1, item)
    page.get_by_text(f"Item {item}").wait_for()
    wait_idle(page, quiet_ms=300)
    assert "click:1:" in events_text(page)
    assert frame.evaluate("() => window.__scatter.lastDraw.seeds") == 1  # the page made it a seed, drawn
    assert frame.evaluate("() => window.__scatter.selected") == [item]  # selected in both views
    lasso(page, frame, view=0, frac=0.12)
    page.get_by_text("select:").wait_for()
    wait_idle(page, quiet_ms=300)
    selected = frame.evaluate("() => window.__scatter.selected.length")
    assert selected > 1
    text = events_text(page)
    assert text.count("select:") == 1 and text.count("click:") == 1, text  # each event applied once
    assert f"select:{selected}:" in text
    seeds = frame.evaluate("() => window.__scatter.lastDraw.seeds")
    assert seeds >= selected  # lassoed items became seeds and were redrawn as such


@pytest.mark.browser
def test_hover_highlights_the_item_in_the_other_view(demo_url: str, page) -> None:
    frame, _, _ = open_demo(page, demo_url)
    item = frame.evaluate("() => window.__scatter.extremes(0).x1")  # the rightmost item: no neighbour hides it
    hover_item(page, frame, 0, item)
    frame.wait_for_function(f"() => window.__scatter.highlighted[1] === {item}")
    assert frame.evaluate("() => window.__scatter.highlighted") == [item, item]
    tip = frame.locator("#tooltip")
    assert tip.is_visible() and f"item {item}" in tip.inner_text()
    other = frame.evaluate("() => window.__scatter.extremes(1).y1")  # the top item of view 2
    hover_item(page, frame, 1, other)
    frame.wait_for_function(f"() => window.__scatter.highlighted[0] === {other}")


@pytest.mark.browser
def test_a_reloaded_frame_asks_for_the_points_again(demo_url: str, page) -> None:
    frame, _, ws = open_demo(page, demo_url)
    old_nonce = frame.evaluate("() => window.__scatter.nonce")
    t0 = time.monotonic()
    frame.evaluate("() => location.reload()")  # as after a page switch: the session stays, the frame's cache is gone
    deadline = time.monotonic() + 60
    while True:
        frame = scatter_frame(page)
        try:
            if frame.evaluate("() => window.__scatter.nonce") != old_nonce:
                break
        except Exception:  # still navigating
            pass
        assert time.monotonic() < deadline, "the frame did not reload"
        page.wait_for_timeout(100)
    wait_ready(frame)
    wait_idle(page, quiet_ms=300)
    events = frame.evaluate("() => window.__scatter.events.map(e => e.event)")
    assert events[:2] == ["need_points", "have_points"], events
    assert frame.evaluate("() => window.__scatter.pointsReceived") == 1
    assert ws.since(t0) > N * 2 * 2 * 4  # the coordinates were sent again, once
