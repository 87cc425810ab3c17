"""Your own table's pictures in the running app (headless Chromium): tooltip, side panel, review card, Home.

The data is the export of a table built in the tests (:mod:`tests.helpers_own_table`: real
photos, drawings, one item whose picture went missing). Each place must show a decoded
picture (``naturalWidth > 0``), and the placeholder where the picture is missing, never a
broken image.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cmcsl_studio_ui.scatter.browser import click_item, hover_item
from tests.browser_helpers import browser_page, running_app, wait_for_views, wait_idle
from tests.helpers_own_table import MOVED, make_own_table, own_feature_file

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROKEN_IMAGES = """() => [...document.querySelectorAll('img')].filter(im => im.complete && im.naturalWidth === 0 && im.src).length"""


@pytest.fixture(scope="module")
def own_app(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("own")
    out, fs = own_feature_file(make_own_table(folder / "table"), folder / "tweets.npz")
    env = {"CMCSL_NO_BACKGROUND_UMAP": "1", "CMCSL_DB": str(folder / "labels.sqlite"), "CMCSL_ANNOTATOR": "tester"}
    with running_app(folder / "streamlit.log", env=env) as url:
        yield url, f"source=file&path={out}&b=2", fs, folder / "streamlit.log"


def pictures_shown(pg, within: str) -> int:
    """Decoded pictures inside the elements matching ``within``."""
    return int(pg.evaluate(
        "(sel) => [...document.querySelectorAll(sel + ' img')].filter(im => im.complete && im.naturalWidth > 0).length",
        within,
    ))  # fmt: skip


def test_tooltip_panel_card_and_home_show_the_tables_pictures(own_app, browser, tmp_path: Path) -> None:
    url, query, fs, log = own_app
    other = next(i for i in range(fs.n_items) if i != MOVED)
    with browser_page(browser, 1440, 2000) as pg:
        pg.goto(f"{url}/Clusters?{query}")
        frame = wait_for_views(pg)
        wait_idle(pg)
        # the tooltip: the item's thumbnail, or the placeholder where its picture is missing
        hover_item(pg, frame, 0, other)
        frame.wait_for_function(
            "() => { const im = document.getElementById('tooltip-img'); return !im.hidden && im.naturalWidth > 0; }"
        )
        assert frame.evaluate("() => document.getElementById('tooltip-nopic').hidden")
        hover_item(pg, frame, 0, MOVED)
        frame.wait_for_function("() => !document.getElementById('tooltip-nopic').hidden")
        assert frame.evaluate("() => document.getElementById('tooltip-img').hidden")
        # a click (inspect, the default) opens the item in the side panel, with its picture
        click_item(pg, frame, 0, other)
        pg.locator(".st-key-item_panel").wait_for()
        wait_idle(pg)
        pg.wait_for_function("() => [...document.querySelectorAll('.st-key-item_panel img')].some(im => im.naturalWidth > 0)")
        pg.screenshot(path=str(tmp_path / "clusters_own.png"))
        assert pg.evaluate(BROKEN_IMAGES) == 0

        pg.goto(f"{url}/Review?{query}")
        pg.locator(".st-key-review_card").wait_for(timeout=60_000)
        wait_idle(pg)
        pg.wait_for_function(
            f"() => [...document.querySelectorAll('.st-key-review_card img')].filter(im => im.naturalWidth > 0).length >= {1 + fs.n_modalities}"
        )  # the item and the nearest seed behind each modality's proposal
        assert pg.evaluate(BROKEN_IMAGES) == 0
        pg.screenshot(path=str(tmp_path / "review_own.png"))

        pg.goto(f"{url}/?{query}")
        pg.locator(".st-key-home_examples").wait_for(timeout=60_000)
        wait_idle(pg)
        pg.wait_for_function("() => [...document.querySelectorAll('.st-key-home_examples img')].filter(im => im.naturalWidth > 0).length >= 2")
        assert pg.evaluate(BROKEN_IMAGES) == 0
        pg.goto(f"{url}/How_CMCSL_works?{query}")  # its Next button, to the last step
        wait_idle(pg)
        for _ in range(4):
            pg.get_by_role("button", name="Next").click()
            wait_idle(pg)
        assert pg.locator('[data-testid="stException"]').count() == 0
    text = log.read_text()  # the server's log stays clean
    for noise in ("Traceback", "Stack (most recent call last)", "missing ScriptRunContext", "Exception"):
        assert noise not in text, text[-3000:]
