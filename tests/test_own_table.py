"""Your own images and texts in the app (AppTest): a table built here, with real photos and broken rows.

The table (:mod:`tests.helpers_own_table`) has other column names than the defaults; the
``table`` source loads it as it is (with the cheap fake encoders put in place of the real
ones), lists the rows it skipped and offers its column fields in the sidebar. The encoding
pipeline makes every item's thumbnail, and every place that shows an item shows its
picture (Home, Clusters' side panel, seed and item tables, Review card and the seeds behind
its proposals, How cards). A feature file made elsewhere, which only names its images, gets
its thumbnails when loaded, and the placeholder for the item whose image went missing.
"""

from __future__ import annotations

import base64
import html
from io import BytesIO
from pathlib import Path

import pytest
from helpers_app import CLUSTERS, HOME, HOW, REVIEW, assert_clean, run_page
from PIL import Image
from streamlit.testing.v1 import AppTest

from cmcsl_core.datasets.sources import encoding as encoding_module
from cmcsl_core.encoders.thumbnails import THUMBNAIL_SIZE, placeholder_thumbnail
from cmcsl_studio_ui.thumbs import thumbnail_data_url
from tests.helpers_items import FakeEncoders
from tests.helpers_own_table import (
    BROKEN,
    COLS_PARAM,
    GOOD_ROWS,
    MOVED,
    load_own_table,
    make_own_table,
    paths_only_feature_file,
)

TIMEOUT = 180


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("own")
    table = make_own_table(folder / "tweets")
    out, paths_only = paths_only_feature_file(make_own_table(folder / "export"), folder / "tweets.npz")
    return table, load_own_table(table), out, paths_only


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CMCSL_NO_BACKGROUND_UMAP", "1")
    monkeypatch.setenv("CMCSL_DB", str(tmp_path / "labels.sqlite"))
    monkeypatch.setenv("CMCSL_ANNOTATOR", "tester")
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path / "cache"))
    # the table source's encoders: the cheap fakes (the real ones are tested in test_sources_table.py)
    monkeypatch.setattr(encoding_module, "default_encoders", lambda options, progress=None: FakeEncoders().build())


def frame_with(at: AppTest, *columns: str):
    for d in at.dataframe:
        if set(columns) <= set(d.value.columns):
            return d.value
    raise AssertionError(f"no dataframe with columns {columns}: {[list(d.value.columns) for d in at.dataframe]}")


def jpeg_of(url: str) -> tuple[int, int]:
    """The size of the JPEG in a ``data:image/jpeg;base64,...`` URL (it must decode)."""
    head, _, body = url.partition(",")
    assert head == "data:image/jpeg;base64"
    with Image.open(BytesIO(base64.b64decode(body))) as im:
        im.load()
        assert im.format == "JPEG"
        return im.size


def table_params(table: Path) -> dict[str, str]:
    return {"source": "table", "path": str(table), "cols": COLS_PARAM, "b": "2"}


def test_the_table_source_offers_its_columns_and_lists_the_skipped_rows(own) -> None:
    table, _, _, _ = own
    # its columns are not the default names: a note (no red error) and the column fields
    at = run_page(HOME, timeout=TIMEOUT, source="table", path=str(table))
    assert_clean(at)
    (info,) = [html.unescape(i.value) for i in at.info if i.value.startswith("Choose the table's")]
    assert (
        info
        == "Choose the table's image, text, label columns in the sidebar (its columns: tweet_id, photo, body, verdict)."
    )
    assert at.sidebar.selectbox(key="w_column_id").value == "(row numbers)"
    for role, name in (("id", "tweet_id"), ("image", "photo"), ("text", "body"), ("label", "verdict")):
        at.sidebar.selectbox(key=f"w_column_{role}").set_value(name).run()
    assert_clean(at)
    assert at.query_params["cols"] == COLS_PARAM
    assert next(m.value for m in at.metric if m.label == "Items") == f"{GOOD_ROWS}"
    (warning,) = [html.unescape(w.value) for w in at.warning if "skipped" in w.value.lower()]
    assert warning.startswith("Skipped 4 rows:")
    frame = frame_with(at, "id", "reason")
    reasons = dict(zip(frame["id"], frame["reason"]))
    assert reasons["t-missing"] == BROKEN["t-missing"] and reasons["t-nolabel"] == BROKEN["t-nolabel"]
    assert reasons["t-garbage"].startswith(BROKEN["t-garbage"]) and reasons["t000"] == "duplicate id"
    assert any(b.proto.label == "Download skipped.csv" for b in at.get("download_button"))
    export = next(
        line for c in at.code for line in c.value.splitlines() if line.startswith("python -m cmcsl_core export")
    )
    assert "--image-column photo" in export and "--label-column verdict" in export and "--id-column tweet_id" in export


def test_the_pipeline_makes_a_thumbnail_per_item(own) -> None:
    _, fs, _, _ = own
    assert fs.n_items == GOOD_ROWS and fs.thumbnails is not None
    for i in range(fs.n_items):
        with Image.open(BytesIO(fs.thumbnail(i))) as im:  # a 96 px JPEG made from the item's own image
            assert im.format == "JPEG" and max(im.size) == THUMBNAIL_SIZE
    assert len(set(fs.thumbnails)) == GOOD_ROWS  # every item its own picture


def test_every_place_that_shows_a_table_item_shows_its_picture(own) -> None:
    table, fs, _, _ = own
    params = table_params(table)

    home = run_page(HOME, timeout=TIMEOUT, **params)
    assert_clean(home)
    assert len(home.image) >= 2  # the examples, one per class

    at = run_page(CLUSTERS, timeout=TIMEOUT, **params)
    assert_clean(at)
    assert len(at.image) == 0
    at.session_state["inspected"] = [3, 5]
    at.run()
    assert len(at.image) == 2  # both inspected items
    seeds = frame_with(at, "image", "index", "class")
    assert len(seeds) == 2 * fs.n_classes
    assert all(url == thumbnail_data_url(fs, i) and jpeg_of(url) for url, i in zip(seeds["image"], seeds["index"]))
    at.session_state["table_open"] = True
    at.run()
    items = frame_with(at, "image", "index", "disagree")  # the item table
    assert len(items) == fs.n_items
    assert all(url == thumbnail_data_url(fs, i) for url, i in zip(items["image"], items["index"]))

    review = run_page(REVIEW, timeout=TIMEOUT, **params)
    assert_clean(review)
    # the card's item and the nearest seed behind each modality's proposal
    assert len(review.image) == 1 + len(fs.modality_names)
    queue = frame_with(review, "image", "index")
    assert all(url == thumbnail_data_url(fs, i) for url, i in zip(queue["image"], queue["index"]))

    how = run_page(HOW, timeout=TIMEOUT, **params)
    assert_clean(how)
    assert len(how.image) == fs.n_classes  # a seed card per class


def test_a_file_that_only_names_its_images_gets_pictures_and_a_placeholder(own) -> None:
    _, _, out, paths_only = own
    assert paths_only.thumbnails is None and paths_only.image_paths is not None
    at = run_page(CLUSTERS, timeout=TIMEOUT, source="file", path=str(out), b="2")
    assert_clean(at)
    at.session_state["table_open"] = True
    at.run()
    items = frame_with(at, "image", "index", "disagree")
    assert items["image"].notna().all()
    placeholder = "data:image/jpeg;base64," + base64.b64encode(placeholder_thumbnail(THUMBNAIL_SIZE)).decode()
    shown = dict(zip(items["index"], items["image"]))
    assert shown[MOVED] == placeholder  # its image went missing: the placeholder, never a broken image
    assert all(jpeg_of(url) and url != placeholder for i, url in shown.items() if i != MOVED)
    review = run_page(REVIEW, timeout=TIMEOUT, source="file", path=str(out), b="2")
    assert_clean(review)
    assert len(review.image) == 1 + len(paths_only.modality_names)
