"""Your own table's pictures in the running app (headless Chromium): tooltip, side panel, review card, Home.

The data is a table built in the tests (:mod:`tests.helpers_own_table`: real photos,
drawings, broken rows), loaded by the ``table`` source as it is, with the real encoders: the
encoding pipeline makes the thumbnails. Each place must show a decoded picture
(``naturalWidth > 0``), never a broken image. A feature file that only names its images,
one of them gone, shows the placeholder for that item in the tooltip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cmcsl_core.encoders.thumbnails import THUMBNAIL_SIZE, placeholder_thumbnail
from cmcsl_studio_ui.scatter.browser import click_item, hover_item
from cmcsl_studio_ui.thumbs import item_thumbnail
from tests.browser_helpers import browser_page, running_app, wait_for_views, wait_idle
from tests.helpers_own_table import COLS_PARAM, MOVED, load_own_table, make_own_table, paths_only_feature_file

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROKEN_IMAGES = (
    "() => [...document.querySelectorAll('img')]"
    ".filter(im => im.complete && im.naturalWidth === 0 && im.src).length"
)


@pytest.fixture(scope="module")
def own_app(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("own")
    table = make_own_table(folder / "table")
    out, _ = paths_only_feature_file(make_own_table(folder / "export"), folder / "tweets.npz")
    env = {"CMCSL_NO_BACKGROUND_UMAP": "1", "CMCSL_DB": str(folder / "labels.sqlite"), "CMCSL_ANNOTATOR": "tester",
           "CMCSL_CACHE_DIR": str(folder / "cache")}
    with running_app(folder / "streamlit.log", env=env) as url:
        yield (
            url,
            f"source=table&path={table}&cols={COLS_PARAM}&b=2",
            load_own_table(table),
            out,
            folder / "streamlit.log",
        )


def shown_bytes(frame) -> bytes:
    """The bytes of the tooltip's picture, as the browser fetched them."""
    return bytes(
        frame.evaluate(
            "async () => Array.from(new Uint8Array("
            "await (await fetch(document.getElementById('tooltip-img').src)).arrayBuffer()))"
        )
    )


def pictures_shown(pg, within: str) -> int:
    """Decoded pictures inside the elements matching ``within``."""
    return int(pg.evaluate(
        "(sel) => [...document.querySelectorAll(sel + ' img')].filter(im => im.complete && im.naturalWidth > 0).length",
        within,
    ))


def test_tooltip_panel_card_and_home_show_the_tables_pictures(own_app, browser, tmp_path: Path) -> None:
    url, query, fs, _, log = own_app
    other = 3
    with browser_page(browser, 1440, 2000) as pg:
        pg.goto(f"{url}/Clusters?{query}", timeout=120_000)
        frame = wait_for_views(pg, 120_000)  # the first load encodes the table (real encoders)
        wait_idle(pg)
        # the tooltip: the item's thumbnail (a file the app re-encoded under the cache folder)
        hover_item(pg, frame, 0, other)
        frame.wait_for_function(
            "() => { const im = document.getElementById('tooltip-img'); return !im.hidden && im.naturalWidth > 0; }"
        )
        assert frame.evaluate("() => document.getElementById('tooltip-nopic').hidden")
        assert shown_bytes(frame) == item_thumbnail(fs, other)  # the item's own picture, as the app re-encoded it
        # a click (inspect, the default) opens the item in the side panel, with its picture
        click_item(pg, frame, 0, other)
        pg.locator(".st-key-item_panel").wait_for()
        wait_idle(pg)
        pg.wait_for_function(
            "() => [...document.querySelectorAll('.st-key-item_panel img')].some(im => im.naturalWidth > 0)"
        )
        pg.screenshot(path=str(tmp_path / "clusters_own.png"))
        assert pg.evaluate(BROKEN_IMAGES) == 0

        pg.goto(f"{url}/Review?{query}")
        pg.locator(".st-key-review_card").wait_for(timeout=60_000)
        wait_idle(pg)
        pg.wait_for_function(
            "() => [...document.querySelectorAll('.st-key-review_card img')]"
            f".filter(im => im.naturalWidth > 0).length >= {1 + fs.n_modalities}"
        )  # the item and the nearest seed behind each modality's proposal
        assert pg.evaluate(BROKEN_IMAGES) == 0
        pg.screenshot(path=str(tmp_path / "review_own.png"))

        pg.goto(f"{url}/?{query}")
        pg.locator(".st-key-home_examples").wait_for(timeout=60_000)
        wait_idle(pg)
        pg.wait_for_function(
            "() => [...document.querySelectorAll('.st-key-home_examples img')]"
            ".filter(im => im.naturalWidth > 0).length >= 2"
        )
        assert pg.evaluate(BROKEN_IMAGES) == 0
        pg.goto(f"{url}/How_CMCSL_works?{query}")  # a seed card per class, with its picture; Next to the last step
        wait_idle(pg)
        pg.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=stMain] img')]"
            f".filter(im => im.naturalWidth > 0).length >= {fs.n_classes}"
        )
        assert pg.evaluate(BROKEN_IMAGES) == 0
        for _ in range(4):
            pg.get_by_role("button", name="Next").click()
            wait_idle(pg)
        assert pg.locator('[data-testid="stException"]').count() == 0
    text = log.read_text()  # the server's log stays clean
    for noise in ("Traceback", "Stack (most recent call last)", "missing ScriptRunContext", "Exception"):
        assert noise not in text, text[-3000:]


def test_tooltip_placeholder_for_a_missing_picture(own_app, browser) -> None:
    url, _, _, out, log = own_app
    with browser_page(browser, 1440, 1200) as pg:
        pg.goto(f"{url}/Clusters?source=file&path={out}&b=2", timeout=120_000)
        frame = wait_for_views(pg, 120_000)
        wait_idle(pg)
        hover_item(pg, frame, 0, MOVED)
        frame.wait_for_function(
            "() => { const im = document.getElementById('tooltip-img'); return !im.hidden && im.naturalWidth > 0; }"
        )
        assert shown_bytes(frame) == placeholder_thumbnail(THUMBNAIL_SIZE)  # never a broken image
        hover_item(pg, frame, 0, MOVED + 1)
        frame.wait_for_function(
            "() => { const im = document.getElementById('tooltip-img'); "
            f"return !im.hidden && im.naturalWidth > 0 && im.src.endsWith('/{MOVED + 1}.jpg'); }}"
        )
        assert shown_bytes(frame) != placeholder_thumbnail(THUMBNAIL_SIZE)
    text = log.read_text()
    for noise in ("Traceback", "Stack (most recent call last)", "missing ScriptRunContext", "Exception"):
        assert noise not in text, text[-3000:]
