"""The running app in headless Chromium (Debian's chromium driven by playwright; no browser download).

Starts ``streamlit run app.py`` on a free port, opens a deep link as the very first request
to a fresh server, opens every page by its URL, presses
"Randomize seeds", lasso-selects points to add seeds, checks that two sessions do
not share seeds, and saves screenshots (to ``$CMCSL_SCREENSHOT_DIR`` if set, else the
test's temporary folder).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.browser_helpers import (
    browser_page,
    chromium_path,
    headless_chromium,
    running_app,
    wait_for_charts,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = chromium_path()
SEED_LIST = "Seed items (indices, comma separated)"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, _cmcsl_cache_dir) -> str:
    if CHROMIUM is None:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium (the CI script does this)")
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with running_app(log) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as b:
        yield b


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
    wait_for_charts(pg, charts)
    first_paint = time.monotonic() - t0
    wait_idle(pg)
    assert pg.locator('[data-testid="stException"]').count() == 0
    return first_paint


def seed_list(pg) -> list[str]:
    return pg.get_by_role("textbox", name=SEED_LIST).input_value().split(",")


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
    if CHROMIUM is None:
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium (the CI script does this)")
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
        wait_for_charts(pg, 3)
        wait_idle(pg)
        assert pg.get_by_role("heading", level=1).first.inner_text().startswith("Clusters")
        assert sidebar_subset(pg) == "DS" and "subset=DS" in pg.url
        assert len(seed_list(pg)) == 2 * 3  # b_class 3 in the 2 classes of DS
        pg.screenshot(path=str(shot_dir(tmp_path) / "deep_link.png"))


def test_randomize_seeds_redraws_the_clusters(app_url: str, page, tmp_path: Path) -> None:
    first_paint = open_page(page, f"{app_url}/Clusters", charts=3)
    assert first_paint < 20, f"first paint took {first_paint:.1f} s"
    assert page.locator('[data-testid="stPlotlyChart"] canvas').count() >= 2  # WebGL scatter drawn
    assert "UMAP" in page.locator('[data-testid="stPlotlyChart"]').first.inner_text()
    before = seed_list(page)
    seed_box = page.get_by_role("spinbutton", name="Random seed")
    old_seed = seed_box.input_value()
    page.get_by_role("button", name="Randomize seeds").click()
    page.wait_for_function(
        f"() => document.querySelector('input[aria-label=\"Random seed\"]').value !== '{old_seed}'"
    )
    assert wait_for_new_seeds(page, before) != before
    new_seed = seed_box.input_value()
    assert f"seed={new_seed}" in page.url
    wait_for_charts(page, 3)
    out = shot_dir(tmp_path) / "clusters.png"
    page.screenshot(path=str(out))
    assert out.stat().st_size > 20_000


def test_lasso_selection_adds_seeds(app_url: str, page) -> None:
    open_page(page, f"{app_url}/Clusters", charts=3)
    before = seed_list(page)
    area = page.locator('[data-testid="stPlotlyChart"]').first.locator(".nsewdrag").first.bounding_box()
    cx, cy, r = area["x"] + area["width"] * 0.5, area["y"] + area["height"] * 0.5, area["width"] * 0.3
    page.mouse.move(cx - r, cy - r)
    page.mouse.down()
    for dx, dy in [(r, -r), (r, r), (-r, r), (-r, -r)]:
        page.mouse.move(cx + dx, cy + dy, steps=6)
    page.mouse.up()
    page.wait_for_function(
        f"() => document.querySelector('input[aria-label=\"{SEED_LIST}\"]').value.split(',').length > {len(before)}"
    )
    wait_idle(page)
    after = seed_list(page)
    assert set(before) < set(after)
    assert "seeds=" in page.url  # hand-picked seeds go into the link


@pytest.mark.parametrize(
    "path, charts, name",
    [
        ("/", 1, "home"),
        ("/Clusters?seed=7&b=3&pre=l2", 3, "clusters_url"),
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
            open_page(pg, f"{app_url}/Clusters", charts=3)
        seeds_b = seed_list(b)
        a.get_by_role("button", name="Randomize seeds").click()
        a.wait_for_function("() => document.querySelector('input[aria-label=\"Random seed\"]').value !== '0'")
        assert wait_for_new_seeds(a, seeds_b) != seeds_b
        b.get_by_text("True label", exact=True).click()  # any rerun of session B
        wait_idle(b)
        assert seed_list(b) == seeds_b
        assert b.get_by_role("spinbutton", name="Random seed").input_value() == "0"
