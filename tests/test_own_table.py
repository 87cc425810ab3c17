"""Your own images and texts in the app (AppTest): a table built here, with real photos and broken rows.

The table (:mod:`tests.helpers_own_table`) has other column names than the defaults; the
``table`` source loads it (with the cheap fake encoders put in place of the real ones), lists
the rows it skipped and offers its column fields in the sidebar. Its export, a feature file
with thumbnails, shows every item's picture wherever the item appears (Home, Clusters'
side panel, seed and item tables, Review card and the seeds behind its proposals, How
cards), and the placeholder for the item whose picture is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cmcsl_core.datasets.sources import items as items_module
from cmcsl_studio_ui.pictures import picture_url, placeholder_png
from helpers_app import CLUSTERS, HOME, HOW, REVIEW, assert_clean, run_page
from tests.helpers_items import FakeEncoders
from tests.helpers_own_table import BROKEN, COLS_PARAM, GOOD_ROWS, MOVED, make_own_table, own_feature_file

TIMEOUT = 180


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("own")
    table = make_own_table(folder / "tweets")
    out, fs = own_feature_file(make_own_table(folder / "export"), folder / "tweets.npz")
    return table, out, fs


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CMCSL_NO_BACKGROUND_UMAP", "1")
    monkeypatch.setenv("CMCSL_DB", str(tmp_path / "labels.sqlite"))
    monkeypatch.setenv("CMCSL_ANNOTATOR", "tester")
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path / "cache"))
    # the table source's encoders: the cheap fakes (the real ones are tested in test_sources_table.py)
    monkeypatch.setattr(items_module, "default_encoders", lambda options, progress=None: FakeEncoders().build())


def frame_with(at: AppTest, *columns: str):
    for d in at.dataframe:
        if set(columns) <= set(d.value.columns):
            return d.value
    raise AssertionError(f"no dataframe with columns {columns}: {[list(d.value.columns) for d in at.dataframe]}")


def test_the_table_source_offers_its_columns_and_lists_the_skipped_rows(own) -> None:
    table, _, _ = own
    # its columns are not the default names: a note (no red error) and the column fields
    at = run_page(HOME, timeout=TIMEOUT, source="table", path=str(table))
    assert_clean(at)
    (info,) = [i.value for i in at.info if i.value.startswith("Choose the table's")]
    assert info == "Choose the table's image, text, label columns in the sidebar (its columns: tweet_id, photo, body, verdict)."
    assert at.sidebar.selectbox(key="w_column_id").value == "(row numbers)"
    for role, name in (("id", "tweet_id"), ("image", "photo"), ("text", "body"), ("label", "verdict")):
        at.sidebar.selectbox(key=f"w_column_{role}").set_value(name).run()
    assert_clean(at)
    assert at.query_params["cols"] == COLS_PARAM
    assert next(m.value for m in at.metric if m.label == "Items") == f"{GOOD_ROWS}"
    (warning,) = [w.value for w in at.warning if "skipped" in w.value.lower()]
    assert warning.startswith("Skipped 4 rows:")
    frame = frame_with(at, "id", "reason")
    reasons = dict(zip(frame["id"], frame["reason"]))
    assert reasons["t-missing"] == BROKEN["t-missing"] and reasons["t-nolabel"] == BROKEN["t-nolabel"]
    assert reasons["t-garbage"].startswith(BROKEN["t-garbage"]) and reasons["t000"] == "duplicate id"
    assert any(b.proto.label == "Download skipped.csv" for b in at.get("download_button"))
    export = next(line for c in at.code for line in c.value.splitlines() if line.startswith("python -m cmcsl_core export"))
    assert "--image-column photo" in export and "--label-column verdict" in export and "--id-column tweet_id" in export


def test_every_place_that_shows_an_item_shows_its_picture(own) -> None:
    _, out, fs = own
    params = {"source": "file", "path": str(out), "b": "2"}
    placeholder = picture_url(fs, MOVED)
    assert placeholder is not None and placeholder.startswith("data:image/png") and fs.thumbnail(MOVED) is None

    home = run_page(HOME, timeout=TIMEOUT, **params)
    assert_clean(home)
    assert len(home.image) >= 2  # the examples, one per class

    at = run_page(CLUSTERS, timeout=TIMEOUT, **params)
    assert_clean(at)
    assert len(at.image) == 0
    at.session_state["inspected"] = [MOVED, 5]
    at.run()
    assert len(at.image) == 2  # both inspected items: the placeholder for the one whose picture is missing
    seeds = frame_with(at, "image", "index", "class")
    assert all(url == picture_url(fs, i) and url for url, i in zip(seeds["image"], seeds["index"]))
    at.session_state["table_open"] = True
    at.run()
    table = frame_with(at, "image", "index", "CMCSL")
    assert table["image"].notna().all()
    assert table.loc[table["index"] == MOVED, "image"].item() == placeholder

    review = run_page(REVIEW, timeout=TIMEOUT, **params)
    assert_clean(review)
    # the card's item and the nearest seed behind each modality's proposal
    assert len(review.image) == 1 + len(fs.modality_names)
    queue = frame_with(review, "image", "index")
    assert queue["image"].notna().all()

    how = run_page(HOW, timeout=TIMEOUT, **params)
    assert_clean(how)
    assert len(how.image) == fs.n_classes  # a seed card per class


def test_placeholder_is_a_real_image() -> None:
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(placeholder_png())) as im:
        assert im.size == (96, 96) and im.format == "PNG"
