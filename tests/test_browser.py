"""The running app in headless Chromium (Debian's chromium driven by playwright; no browser download).

Starts ``streamlit run app.py`` on a free port, opens a deep link as the very first request
to a fresh server, opens every page by its URL, and drives the Clusters page's linked views
(:mod:`cmcsl_studio_ui.scatter`, through :mod:`cmcsl_studio_ui.scatter.browser`): first paint,
"Randomize seeds" (bytes pushed, read from the websocket frames, and time to idle), a click
that adds a seed and opens the side panel, a lasso, linked hover/selection; checks that two
sessions do not share seeds, and saves screenshots (to ``$CMCSL_SCREENSHOT_DIR`` if set, else
the test's temporary folder).
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest

from cmcsl_studio_ui.scatter.browser import WsCounter, click_item, hover_item, isolated_item, lasso, wait_settled
from tests.browser_helpers import (
    browser_page,
    running_app,
    wait_for_charts,
    wait_for_views,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEED_LIST = "Seed items (indices, comma separated)"
MAX_PUSH = 100_000
"""Bytes the server may push per seed change (issue: at most 0.1 MB)."""


@pytest.fixture(scope="module")
def app_url(serve_app) -> str:
    return serve_app()


@pytest.fixture()
def page(browser):
    with browser_page(browser) as pg:
        yield pg


def shot_dir(tmp_path: Path) -> Path:
    out = Path(os.environ.get("CMCSL_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def open_page(pg, url: str, charts: int) -> float:
    t0 = time.monotonic()
    pg.goto(url)
    if "/Clusters" in url:
        wait_for_views(pg)
    wait_for_charts(pg, charts)
    first_paint = time.monotonic() - t0
    wait_idle(pg)
    assert pg.locator('[data-testid="stException"]').count() == 0
    return first_paint


def open_clusters(pg, url: str):
    """Open the Clusters page; return (its views' frame, seconds until both views were drawn)."""
    t0 = time.monotonic()
    pg.goto(url)
    frame = wait_for_views(pg)
    first_paint = time.monotonic() - t0
    wait_idle(pg)
    assert pg.locator('[data-testid="stException"]').count() == 0
    assert frame.evaluate("() => window.__scatter.error || null") is None
    return frame, first_paint


def seed_list(pg) -> list[str]:
    return pg.get_by_role("textbox", name=SEED_LIST).input_value().split(",")


def draws(frame) -> int:
    return int(frame.evaluate("() => window.__scatter.draws"))


def non_seed(frame, pg) -> int:
    """An item that is not a seed and stands apart in view 0 (a click hits it alone)."""
    return isolated_item(frame, 0, exclude=[int(s) for s in seed_list(pg)])


def wait_for_new_seeds(pg, before: list[str], timeout_s: float = 60.0) -> list[str]:
    """Wait until the rerun has redrawn the seed list (the status widget can lag behind a click)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = seed_list(pg)
        if now != before:
            wait_idle(pg)
            return seed_list(pg)
        pg.wait_for_timeout(100)
    raise AssertionError(f"the seed list did not change within {timeout_s:.0f} s")


def sidebar_subset(pg) -> str:
    return pg.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Subset").input_value()


def test_a_deep_link_as_the_first_request_to_a_fresh_server_opens_its_page(
    browser, tmp_path: Path, _cmcsl_cache_dir
) -> None:
    with running_app(tmp_path / "streamlit.log") as url, browser_page(browser, height=1400, timeout_ms=90_000) as pg:
        open_page(pg, f"{url}/BAC_curves?subset=DS&b=3", charts=1)
        assert pg.get_by_role("heading", level=1).first.inner_text().startswith("BAC curves")
        assert pg.title() == "BAC curves · CMCSL studio"
        assert sidebar_subset(pg) == "DS"
        assert pg.get_by_role("spinbutton", name="Seeds per class (b_class)").input_value() == "3"
        assert "/BAC_curves?" in pg.url and "subset=DS" in pg.url and "b=3" in pg.url
        assert pg.get_by_text("Overlay the paper's published curves for DS").count() == 1  # the page used DS
        # the sidebar's navigation keeps the settings
        pg.locator('[data-testid="stSidebar"]').get_by_role("link", name="Clusters").click()
        pg.wait_for_url("**/Clusters**")
        wait_for_views(pg)
        wait_idle(pg)
        assert pg.get_by_role("heading", level=1).first.inner_text().startswith("Clusters")
        assert sidebar_subset(pg) == "DS" and "subset=DS" in pg.url
        assert len(seed_list(pg)) == 2 * 3  # b_class 3 in the 2 classes of DS
        pg.screenshot(path=str(shot_dir(tmp_path) / "deep_link.png"))


def randomize_seeds(page, frame, ws: WsCounter) -> list:
    """Click *Randomize seeds* three times; check each gives new seeds in the URL; return what each pushed."""
    settled = []
    for _ in range(3):
        before, seed = seed_list(page), page.get_by_role("spinbutton", name="Random seed").input_value()
        d, t0 = draws(frame), time.monotonic()
        page.get_by_role("button", name="Randomize seeds").click()
        settled.append(wait_settled(page, frame, ws, d, t0))
        assert wait_for_new_seeds(page, before) != before
        new_seed = page.get_by_role("spinbutton", name="Random seed").input_value()
        assert new_seed != seed and f"seed={new_seed}" in page.url
    return settled


def test_randomize_seeds_pushes_kilobytes_not_the_points(app_url: str, page, tmp_path: Path) -> None:
    ws = WsCounter().attach(page)
    frame, _ = open_clusters(page, f"{app_url}/Clusters")
    titles = frame.evaluate("() => Array.from(document.querySelectorAll('.view-title')).map(e => e.textContent)")
    assert titles == ["visual · UMAP", "text · UMAP"]
    assert frame.evaluate("() => window.__scatter.total") == 5443
    assert frame.evaluate("() => window.__scatter.pointsReceived") == 1
    first_load = ws.received
    assert first_load > 5443 * 2 * 2 * 4  # the coordinates came once (float32, 2 views)...
    settled = randomize_seeds(page, frame, ws)
    # ...and never again: a seed change pushes the new colours and flags (a few bytes per item)
    assert frame.evaluate("() => window.__scatter.pointsReceived") == 1
    pushed = [s.bytes for s in settled]
    assert max(pushed) <= MAX_PUSH, pushed
    assert min(pushed) >= 5443  # the colour codes of the items did travel
    # after drawing a seed change the views stop asking for animation frames (they park)
    frame.wait_for_function("() => window.__scatter.frames.parkedNow() > 0", polling=100, timeout=10_000)
    page.screenshot(path=str(shot_dir(tmp_path) / "clusters.png"))


@pytest.mark.perf
def test_first_paint_idle_and_parking_times(app_url: str, page, tmp_path: Path) -> None:
    ws = WsCounter().attach(page)
    frame, first_paint = open_clusters(page, f"{app_url}/Clusters")
    assert first_paint < 10, f"first paint took {first_paint:.1f} s"
    settled = randomize_seeds(page, frame, ws)
    idle = statistics.median(s.idle_s for s in settled)
    assert idle <= 1.5, f"idle again after {[round(s.idle_s, 2) for s in settled]} s"
    # after drawing a seed change the views stop asking for animation frames soon (250 ms, not the
    # 1.5 s that input keeps them awake: with 20 pages of a classroom those frames added up)
    frame.wait_for_function("() => window.__scatter.frames.parkedNow() > 0", polling=100, timeout=10_000)
    parked_after = frame.evaluate("() => window.__scatter.frames.parkedAt - window.__scatter.lastDraw.t")
    assert 0 < parked_after < 1200, f"parked {parked_after:.0f} ms after the last draw"
    out = tmp_path / "clusters_perf.png"
    page.screenshot(path=str(out))
    assert out.stat().st_size > 20_000  # a drawn page, not a blank one


def test_click_inspects_by_default_and_adds_a_seed_in_the_add_mode(app_url: str, page) -> None:
    ws = WsCounter().attach(page)
    frame, _ = open_clusters(page, f"{app_url}/Clusters")
    item, before = non_seed(frame, page), seed_list(page)
    # by default a click only inspects: the item opens in the side panel, the seeds stay
    click_item(page, frame, 0, item)
    panel = page.locator(".st-key-item_panel")
    panel.get_by_text(f"#{item} ").first.wait_for(timeout=60_000)
    wait_idle(page)
    assert seed_list(page) == before and "seeds=" not in page.url
    assert page.get_by_text("Seeds changed").count() == 0
    page.locator("[data-testid=stRadio]").get_by_text("add seeds").click()  # the explicit seed mode
    wait_idle(page)
    item = isolated_item(frame, 0, exclude=[*map(int, before), item], px=4.0)  # another point (a selected one toggles)
    d, t0 = draws(frame), time.monotonic()
    click_item(page, frame, 0, item)
    settled = wait_settled(page, frame, ws, d, t0)
    assert set(wait_for_new_seeds(page, before)) == set(before) | {str(item)}
    assert f"{item}" in page.url.split("seeds=")[1]  # hand-picked seeds go into the link
    assert page.get_by_text(f"Seeds changed: added #{item} (").count() == 1  # the page says what changed
    assert panel.get_by_text(f"#{item} ").count() >= 1  # the item's details, in the side panel
    assert frame.evaluate("() => window.__scatter.selectedIn(1)") == [item]  # selected in the other view too
    assert settled.bytes <= MAX_PUSH, settled
    assert frame.evaluate("() => window.__scatter.pointsReceived") == 1
    # back to random seeds: the hand-picked note above the views goes away, the views' frame stays
    before, d = seed_list(page), draws(frame)
    page.get_by_role("button", name="Randomize seeds").click()
    wait_for_new_seeds(page, before)
    frame.wait_for_function(f"() => window.__scatter.draws > {d}", polling=100)
    assert frame.evaluate("() => window.__scatter.pointsReceived") == 1  # same frame, coordinates kept


def test_lasso_selection_adds_seeds_in_every_view(app_url: str, page) -> None:
    frame, _ = open_clusters(page, f"{app_url}/Clusters")
    page.locator("[data-testid=stRadio]").get_by_text("add seeds").click()
    wait_idle(page)
    before = seed_list(page)
    lasso(page, frame, view=0, frac=0.15)
    after = wait_for_new_seeds(page, before)
    selected = frame.evaluate("() => window.__scatter.selectedIn(0)")
    assert selected and sorted(selected) == sorted(frame.evaluate("() => window.__scatter.selectedIn(1)"))
    assert set(before) < set(after)
    assert set(map(str, selected)) <= set(after)
    assert "seeds=" in page.url


def test_hovering_a_point_highlights_it_in_the_other_view(app_url: str, page) -> None:
    frame, _ = open_clusters(page, f"{app_url}/Clusters")
    item = non_seed(frame, page)
    # idle views stop their animation-frame loop (no CPU while nothing changes) ...
    frame.wait_for_function("() => window.__scatter.frames.parkedNow() > 0", polling=100, timeout=10_000)
    page.wait_for_timeout(300)
    assert frame.evaluate("() => window.__scatter.frames.parkedNow()") > 0
    # ... and the pointer wakes them: hover works right away
    hover_item(page, frame, 0, item)
    frame.wait_for_function(f"() => window.__scatter.hoveredIn(1) === {item}")
    assert frame.evaluate("() => window.__scatter.hoveredIn(0)") == item
    tooltip = frame.evaluate("() => window.__scatter.tooltip")
    assert tooltip.startswith(f"#{item} ") and "true: " in tooltip


@pytest.mark.parametrize(
    "path, charts, name",
    [
        ("/", 1, "home"),
        ("/Clusters?seed=7&b=3&pre=l2", 0, "clusters_url"),  # the linked views; the confusion matrix is folded
        ("/BAC_curves", 1, "curves"),
        ("/How_CMCSL_works", 2, "how"),
    ],
)
def test_every_page_opens_by_its_url(app_url: str, page, tmp_path: Path, path: str, charts: int, name: str) -> None:
    open_page(page, app_url + path, charts)
    if "seed=7" in path:
        assert page.get_by_role("spinbutton", name="Random seed").input_value() == "7"
        assert page.get_by_role("spinbutton", name="Seeds per class (b_class)").input_value() == "3"
    page.screenshot(path=str(shot_dir(tmp_path) / f"{name}.png"))


def test_two_sessions_do_not_share_seeds(app_url: str, browser) -> None:
    with browser_page(browser, 1400, 1200) as a, browser_page(browser, 1400, 1200) as b:
        for pg in (a, b):
            open_clusters(pg, f"{app_url}/Clusters")
        seeds_b = seed_list(b)
        a.get_by_role("button", name="Randomize seeds").click()
        a.wait_for_function("() => document.querySelector('input[aria-label=\"Random seed\"]').value !== '0'")
        assert wait_for_new_seeds(a, seeds_b) != seeds_b
        b.get_by_text("True label", exact=True).click()  # any rerun of session B
        wait_idle(b)
        assert seed_list(b) == seeds_b
        assert b.get_by_role("spinbutton", name="Random seed").input_value() == "0"


def test_hover_shows_the_items_thumbnail_from_the_cache_folder(browser, tmp_path: Path, _cmcsl_cache_dir) -> None:
    """Data with thumbnails (the built-in MVSA-Single tweets): the tooltip loads a JPEG the app re-encoded
    into the cache folder, served as a component's file (not from ./static/)."""
    env = {"CMCSL_NO_BACKGROUND_UMAP": "1"}  # PCA views: no UMAP worker competing for the CPU
    with running_app(tmp_path / "streamlit.log", env=env) as url, browser_page(browser) as pg:
        frame, _ = open_clusters(pg, f"{url}/Clusters?source=mvsa-builtin")
        item = isolated_item(frame, 0)
        hover_item(pg, frame, 0, item)
        frame.wait_for_function(
            "() => { const im = document.getElementById('tooltip-img'); return !im.hidden && im.naturalWidth > 0; }"
        )
        src = frame.evaluate("() => document.getElementById('tooltip-img').src")
        assert "/component/cmcsl_studio_ui.hover.cmcsl_thumbnails/" in src and src.endswith(f"/{item}.jpg")
        served = list((Path(os.environ["CMCSL_CACHE_DIR"]) / "served-thumbnails").glob(f"*/{item}.jpg"))
        assert len(served) == 1 and served[0].read_bytes()[:2] == b"\xff\xd8"
        assert frame.evaluate("() => window.__scatter.tooltip").startswith(f"#{item} ")
