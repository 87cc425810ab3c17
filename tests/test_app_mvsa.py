"""The app on the built-in MVSA-Single tweets (``?source=mvsa-builtin``), under Streamlit's AppTest.

Every page runs on it and keeps it in the URL; items appear with their thumbnail (``st.image``
elements, ``ImageColumn`` data URLs in tables) and their text; the wording speaks of tweets;
the Clusters page's human-disagreement metrics are what the CLI prints for the command lines
the page shows.
"""

from __future__ import annotations

import html
import re
import shlex
import time
from pathlib import Path

import helpers_app
import numpy as np
import pytest
from helpers_app import CLUSTERS, CURVES, HOME, HOW, assert_clean, code_lines, no_background_umap  # noqa: F401  (a fixture)
from streamlit.testing.v1 import AppTest

from cmcsl_core.cli import main as cli_main
from cmcsl_core.constants import LABEL_SEED
from cmcsl_core.datasets import builtin
from cmcsl_core.datasets.builtin import BUILTIN_MVSA_LABEL, load_builtin_mvsa
from cmcsl_core.datasets.features import load_features
from cmcsl_core.evaluation.metrics import human_disagreement
from cmcsl_core.method.request import LabelRequest
from cmcsl_studio_ui.settings import MVSA_BUILTIN, source_label
from cmcsl_studio_ui.thumbs import thumbnail_data_url

TIMEOUT = 300

pytestmark = [pytest.mark.usefixtures("no_background_umap")]  # data/mvsa_single.npz is shipped: no skip


@pytest.fixture(scope="module")
def fs():
    return load_builtin_mvsa()


def run_page(page: str, **params: str) -> AppTest:
    """Run ``page`` on the built-in tweets (``?source=mvsa-builtin`` plus ``params``); no error on it."""
    at = helpers_app.run_page(page, timeout=TIMEOUT, source=MVSA_BUILTIN, **params)
    assert_clean(at)
    return at


def all_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    return html.unescape("\n".join(parts))  # text from the data is written as character references


def image_count(at: AppTest) -> int:
    return len(at.image)


def frame_with(at: AppTest, *columns: str):
    """The first dataframe shown with these columns (AppTest gives display-only dataframes no key)."""
    for d in at.dataframe:
        if set(columns) <= set(d.value.columns):
            return d.value
    raise AssertionError(f"no dataframe with columns {columns}")


def texts_shown(at: AppTest, fs, start: int = 40) -> set[str]:
    """Texts of items that appear (their first ``start`` characters) in markdown or captions."""
    text = all_text(at)
    return {t for t in fs.texts if t and t[:start] in text}


def test_builtin_is_offered_next_to_the_simulation() -> None:
    from cmcsl_studio_ui.settings import APP_SOURCES

    assert APP_SOURCES[:2] == ("demo", MVSA_BUILTIN)
    assert source_label(MVSA_BUILTIN) == BUILTIN_MVSA_LABEL == "MVSA-Single (real tweets, built in)"
    builtin._load_file.cache_clear()
    loaded = load_builtin_mvsa()
    assert loaded.n_items == 4869 and loaded.modality_names == ("image", "text")


@pytest.mark.perf
def test_builtin_loads_in_under_a_second() -> None:
    builtin._load_file.cache_clear()
    t0 = time.perf_counter()
    load_builtin_mvsa()
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("page", [HOME, CLUSTERS, CURVES, HOW])
def test_every_page_runs_on_the_builtin_tweets_and_keeps_them_in_the_url(page: str) -> None:
    at = run_page(page, b="3")
    assert at.query_params["source"] == MVSA_BUILTIN and at.query_params["b"] == "3"
    assert at.sidebar.selectbox(key="w_source").value == MVSA_BUILTIN
    assert "4,869 items" in "\n".join(c.value for c in at.sidebar.caption)
    assert "poster" not in all_text(at).lower()


def test_home_page_describes_tweets_with_pictures_and_texts(fs) -> None:
    at = run_page(HOME)
    text = all_text(at)
    assert "**tweet images** = *image*" in text and "**tweet texts** = *text*" in text
    assert "movie" not in text.lower()
    assert next(m.value for m in at.metric if m.label == "Tweets") == "4,869"
    human = fs.modality_labels
    n_differ = int(np.sum(human["image"] != human["text"]))
    assert f"**{n_differ:,} of 4,869 tweets" in text  # 2,277: the count
    assert n_differ == 2277
    assert image_count(at) >= 6
    assert len(texts_shown(at, fs)) >= 6


def test_clusters_metrics_match_the_cli_on_the_shown_command_lines(
    fs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    at = run_page(CLUSTERS)
    shown = {m.label: m for m in at.metric}
    lines = code_lines(at)
    export, label = lines
    assert shlex.split(export)[3:6] == ["export", "--source", MVSA_BUILTIN]
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    for line in (export, label):
        assert cli_main(shlex.split(line)[3:]) == 0
    out = capsys.readouterr().out
    m = re.search(
        r"(\d+) non-seed items with both human labels: annotators disagree on (\d+) \(([\d.]+)%\), "
        r"CMCSL's UNI labels on (\d+) \(([\d.]+)%\), both on (\d+); "
        r"precision ([\d.]+), recall ([\d.]+), F1 ([\d.]+)",
        out,
    )
    assert m, out
    n_items, n_human, n_cmcsl, n_both = int(m[1]), int(m[2]), int(m[4]), int(m[6])
    precision, recall, f1 = float(m[7]), float(m[8]), float(m[9])
    assert abs(float(shown["Precision"].value) - precision) < 6e-4
    assert abs(float(shown["Recall"].value) - recall) < 6e-4
    assert abs(float(shown["F1"].value) - f1) < 6e-4
    assert shown["Annotators: image ≠ text"].value == f"{n_human / n_items:.1%}"
    assert shown["CMCSL: UNI labels differ"].value == f"{n_cmcsl / n_items:.1%}"
    assert f"{n_both:,} of the {n_cmcsl:,} items" in shown["Precision"].proto.help
    assert f"{n_both:,} of the {n_human:,} annotator disagreements" in shown["Recall"].proto.help
    # and both are the library's numbers for the same request
    exported = load_features(tmp_path / shlex.split(label)[shlex.split(label).index("--features") + 1])
    score = human_disagreement(exported, LabelRequest(b_class=5, seed=LABEL_SEED).run(exported))
    assert score is not None and (score.n_human, score.n_cmcsl, score.n_both) == (n_human, n_cmcsl, n_both)
    assert f"{score.precision:.4f}" == m[7] and f"{score.recall:.4f}" == m[8]
    # the same as on the app's own (in-memory) data
    assert human_disagreement(fs, LabelRequest(b_class=5, seed=LABEL_SEED).run(fs)) == score


def test_clusters_offers_the_annotators_colour_modes_only_for_human_labels() -> None:
    at = run_page(CLUSTERS)
    options = at.segmented_control(key="color_mode").options
    assert "Annotators disagree" in options and "Annotator label" in options
    at.segmented_control(key="color_mode").set_value("human_disagree").run()
    assert not at.exception, [e.value for e in at.exception]
    demo = helpers_app.run_page(CLUSTERS, timeout=TIMEOUT)
    assert "Annotators disagree" not in demo.segmented_control(key="color_mode").options
    assert "Precision" not in [m.label for m in demo.metric]


def test_clusters_inspected_items_and_seed_table_show_thumbnails_and_texts(fs) -> None:
    at = run_page(CLUSTERS)
    assert image_count(at) == 0
    at.session_state["inspected"] = [12, 40]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert image_count(at) == 2
    text = all_text(at)
    for i in (12, 40):
        assert f"**#{i} · id {fs.ids[i]}**" in text
        assert fs.texts[i][:60] in text
    frame = frame_with(at, "image", "index", "class", "text")
    assert list(frame.columns[:3]) == ["image", "index", "class"]
    assert all(url == thumbnail_data_url(fs, i) for url, i in zip(frame["image"], frame["index"]))
    assert all(url.startswith("data:image/jpeg;base64,") for url in frame["image"])
    assert list(frame["text"]) == [fs.texts[i] for i in frame["index"]]
    human = fs.modality_labels
    annotators = [list(d.value["annotator"]) for d in at.dataframe if "annotator" in d.value.columns]
    assert annotators == [[fs.class_names[human[m][i]] for m in ("image", "text")] for i in (12, 40)]


def test_how_page_steps_show_real_tweets_with_images(fs) -> None:
    at = run_page(HOW)
    assert image_count(at) == fs.n_classes  # step 1: one seed card per class
    assert "4,869 tweets is unlabeled" in all_text(at)
    for step in (2, 3, 4):
        next(b for b in at.button if b.label == "Next").click().run()
        assert not at.exception, [e.value for e in at.exception]
        text = all_text(at)
        assert "poster" not in text.lower()
        if step == 3:
            assert "A photo may look cheerful" in text
        if step >= 3:
            assert image_count(at) == 4  # the first disagreements, as cards
            frame = frame_with(at, "image", "index", "text", "image label", "text label")
            assert frame["image"].str.startswith("data:image/jpeg;base64,").all()
            assert list(frame["text"]) == [fs.texts[i] for i in frame["index"]]
            assert {"image annotator", "text annotator"} <= set(frame.columns)
            assert len(texts_shown(at, fs)) >= 4
    assert "kept" in frame_with(at, "image", "index", "text").columns


def test_clusters_and_how_say_that_the_text_decides_every_disagreement_and_why() -> None:
    """At the defaults the text decides 3,211 of 3,211 disagreements: both pages say so and why."""
    for page in (CLUSTERS, HOW):
        at = run_page(page)
        if page == HOW:
            for _ in range(3):
                next(b for b in at.button if b.label == "Next").click().run()
            assert "not rescaled across modalities" in at.info[0].value  # step 4: what the rule compares
        (note,) = [w.value for w in at.warning if "disagreements" in w.value]
        assert note.startswith("**text decides every one of the 3,211 disagreements** (text 3,211, image 0)")
        assert "image 1,280-d, text 384-d" in note and "square root of the number of features" in note
    at = run_page(CLUSTERS, pre="l2")  # unit-length items: both modalities decide some
    assert not [w for w in at.warning if "disagreements" in w.value]
    at = run_page(CLUSTERS, labeler="cm-ls")  # another labeler makes no distance comparison: no such notice
    assert_clean(at)
    assert not [w for w in at.warning if "disagreements" in w.value]
