"""The app's *Labeler* setting: in the URL, on the Clusters, How, Review and BAC curves pages (AppTest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers_app import CLUSTERS, CURVES, HOW, REVIEW, ROOT, assert_clean, press, run_page
from streamlit.testing.v1 import AppTest

from cmcsl_core.annotations import HumanLabels, labels_from_seeds, review_queue
from cmcsl_core.datasets.sources import SourceSpec
from cmcsl_core.evaluation.metrics import labeling_summary
from cmcsl_core.method.request import LabelRequest
from cmcsl_studio_ui.answers import record_answer, session_answers
from cmcsl_studio_ui.settings import Settings
from cmcsl_studio_ui.url import settings_from_params, settings_to_params

TIMEOUT = 240


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CMCSL_DB", str(tmp_path / "labels.sqlite"))
    monkeypatch.setenv("CMCSL_ANNOTATOR", "tester")
    monkeypatch.setenv("CMCSL_NO_BACKGROUND_UMAP", "1")


@pytest.fixture(scope="module")
def fs():
    return SourceSpec.create("demo").load()


def test_labeler_round_trips_through_the_url() -> None:
    s = Settings(labeler="cm-ls")
    params = settings_to_params(s, None)
    assert params == {"labeler": "cm-ls"}
    assert settings_from_params(params)[0] == s
    assert settings_from_params({"labeler": "../etc"})[0].labeler == "cmcsl"  # unknown: the default
    assert "labeler" not in settings_to_params(Settings(), None)


def test_clusters_shows_the_chosen_labelers_labels(fs) -> None:
    at = run_page(CLUSTERS, timeout=TIMEOUT, labeler="cm-ls")
    assert_clean(at)
    assert at.selectbox(key="w_labeler").value == "cm-ls"
    result = LabelRequest(b_class=5, seed=0, labeler="cm-ls").run(fs)
    summary = labeling_summary(result, fs.y, fs.n_classes)
    shown = {m.label: m.value for m in at.metric}
    assert shown["CM-LS accuracy"] == f"{summary.cmcsl_accuracy:.1%}"
    assert shown["Own labels accuracy · visual"] == f"{summary.uni_accuracy['visual']:.1%}"
    assert any("labeler **CM-LS**" in c.value for c in at.caption)
    # choosing another labeler in the sidebar puts it in the address and relabels
    at.selectbox(key="w_labeler").set_value("auto").run()
    assert_clean(at)
    assert at.query_params["labeler"] in ("auto", ["auto"])
    assert any(m.label.startswith("Auto → ") and m.label.endswith(" accuracy") for m in at.metric)
    assert any(c.value.startswith("auto chose ") for c in at.caption)


def test_how_page_follows_the_labeler() -> None:
    at = run_page(HOW, timeout=TIMEOUT, labeler="ls")
    assert_clean(at)
    assert any(
        "These steps follow the labeler chosen in the sidebar: **Label spreading**" in c.value for c in at.caption
    )
    at.button[1].click().run()  # Next: step 2
    assert "spread over a graph" in at.info[0].value


def test_review_queue_in_the_labelers_order_and_the_annotators_session(fs) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["labeler"] = "cm-ls"
    at.switch_page(REVIEW)
    at.run()
    assert_clean(at)
    at.selectbox(key="review_order").set_value("confidence").run()
    request = LabelRequest(b_class=5, seed=0, labeler="cm-ls")
    base = labels_from_seeds(fs, request.seed_indices(fs), HumanLabels.empty(), labeler="cm-ls").result
    queue = review_queue(base, order="confidence")
    assert at.session_state["review_cursor"][1].queue == tuple(int(i) for i in queue)
    assert "CM-LS accuracy" in {m.label for m in at.metric}
    first = int(queue[0])
    proposal = int(base.final_labels[first])
    press(at, str(proposal + 1))  # the annotator chooses the proposal
    assert_clean(at)
    answers = session_answers(at.session_state, next(iter(at.session_state["review_answers"])))
    assert answers[["item", "proposed", "chosen"]].values.tolist() == [[first, proposal, proposal]]
    assert {m.label: m.value for m in at.metric}["Studio's proposal chosen"] == "100%"


def test_session_answers_are_recorded_per_data_set() -> None:
    state: dict = {}
    record_answer(state, "a", 3, 1, "y", ("x", "y"))
    record_answer(state, "a", 4, 1, "x", ("x", "y"))
    record_answer(state, "b", 5, 0, None, ("x", "y"))  # an undo: nothing to record
    frame = session_answers(state, "a")
    assert frame["agreement"].tolist() == [1.0, 0.5] and session_answers(state, "b").empty


def test_curves_page_shows_the_labeler_beside_cmcsl_and_its_label_quality() -> None:
    at = run_page(CURVES, timeout=TIMEOUT, subset="DS", labeler="cm-ls")
    at.slider(key="curve_b").set_value((1, 2))
    at.number_input(key="curve_repeats").set_value(1)
    at.run()
    assert_clean(at)
    assert "CM-LS" in at.multiselect(key="curve_methods").value
    table = at.dataframe[0].value
    assert {"CMCSL", "CM-LS"} <= set(table.columns) and "labels" in table.index
    assert np.isfinite(float(table.loc["labels", "CM-LS"]))
    assert any("--label-quality" in c.value and "CM-LS" in c.value for c in at.code)


@pytest.mark.parametrize("labeler, order", [("cm-ls-cmn", "next"), ("cm-ls", "uncertain")])
def test_spreading_labelers_review_a_batch_at_a_time(fs, labeler, order) -> None:
    """The spreading labelers start with the batch order that helped most in bench_review ("label these next" for
    cm-ls-cmn, the least confident of all items for cm-ls); a finished batch is followed by the next, computed from
    the labels given."""
    from cmcsl_core.annotations import suggest_next
    from cmcsl_core.annotations.queue import default_queue_order, least_confident
    from cmcsl_core.method.preprocessing import preprocess_features

    assert default_queue_order(labeler) == order
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["labeler"] = labeler
    at.switch_page(REVIEW)
    at.run()
    assert_clean(at)
    assert at.selectbox(key="review_order").value == order
    request = LabelRequest(b_class=5, seed=0, labeler=labeler)
    base = labels_from_seeds(fs, request.seed_indices(fs), HumanLabels.empty(), labeler=labeler).result
    if order == "next":
        first = suggest_next(preprocess_features(fs.X, "l2std"), base, 10).index
    else:
        first = least_confident(base, 10)
    assert at.session_state["review_cursor"][1].queue == tuple(int(i) for i in first)
    for _ in range(10):
        press(at, "1")
    assert_clean(at)
    cursor = at.session_state["review_cursor"][1]
    assert cursor.current is not None and not set(cursor.queue) & set(int(i) for i in first)
