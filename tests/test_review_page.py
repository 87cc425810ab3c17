"""The Review page under Streamlit's AppTest, on the built-in demo data.

Every action goes through the page's buttons (the same callbacks its keyboard shortcuts press);
after each one the test reads the annotation database itself and checks which item the page
shows next. The queue, the proposals and the metrics are recomputed here with the library.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import numpy as np
import pytest
from helpers_app import REVIEW, assert_clean, press
from streamlit.testing.v1 import AppTest

from cmcsl_core.annotations import (
    AnnotationStore,
    HumanLabels,
    labels_from_seeds,
    labels_with_annotations,
    review_queue,
    suggest_next,
)
from cmcsl_core.annotations.formats import export_bytes
from cmcsl_core.annotations.queue import default_queue_order
from cmcsl_core.cli import build_parser
from cmcsl_core.cli import main as cli_main
from cmcsl_core.cli import self_label as label_cli
from cmcsl_core.datasets.sources import SourceSpec
from cmcsl_core.method.preprocessing import preprocess_features
from cmcsl_core.method.request import LabelRequest
from cmcsl_studio_ui.review import button_key, progress_metrics

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180
ANNOTATOR = "tester"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The database in tmp_path (through $CMCSL_DB, the page's default), a fixed annotator, no UMAP workers."""
    db = tmp_path / "data" / "labels.sqlite"  # its folder does not exist yet: the default's is created
    monkeypatch.setenv("CMCSL_DB", str(db))
    monkeypatch.setenv("CMCSL_ANNOTATOR", ANNOTATOR)
    monkeypatch.setenv("CMCSL_NO_BACKGROUND_UMAP", "1")
    return db


@pytest.fixture(scope="module")
def fs():
    return SourceSpec.create("demo").load()


def run_review(**state: object) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(REVIEW)
    at.run()
    return at


def shown_item(at: AppTest) -> int | None:
    """The item on the review card (its heading ``**#i** name`` is the card's first such line)."""
    cursor = at.session_state["review_cursor"][1]
    heads = [m.value for m in at.markdown if m.value.startswith("**#")]
    if cursor.current is None:
        return None
    assert heads and heads[0].startswith(f"**#{cursor.current}**"), heads[:3]
    return cursor.current


def page_request(at: AppTest) -> LabelRequest:
    """The request of the ``labels`` line the page shows."""
    line = next(ln for c in at.code for ln in c.value.splitlines() if ln.startswith("python -m cmcsl_core labels "))
    return label_cli.request_from_args(build_parser().parse_args(shlex.split(line)[3:]))


def test_accept_override_skip_and_undo_write_the_database_and_move_to_the_next_item(fs, _env: Path) -> None:
    at = run_review()
    assert_clean(at)
    assert at.title[0].value == "Review"
    request = page_request(at)
    seeds = request.seed_indices(fs)
    base = labels_from_seeds(fs, seeds, HumanLabels.empty(), request.preprocessing).result
    queue = review_queue(base, order=default_queue_order(base.labeler))  # the order the page starts with
    assert queue.size > 10 and at.session_state["review_cursor"][1].queue == tuple(int(i) for i in queue)
    assert shown_item(at) == queue[0]
    assert not _env.exists()  # nothing written yet: the database is created on the first label
    names = fs.class_names

    # accept the text's label: one row, then the next item at once
    press(at, "t")
    store = AnnotationStore(fs, _env)
    (a,) = store.history()
    assert (a.index, a.label, a.annotator, a.kind, a.previous) == (
        queue[0],
        names[base.labels[1, queue[0]]],
        ANNOTATOR,
        "label",
        None,
    )
    assert shown_item(at) == queue[1]
    assert {m.label: m.value for m in at.metric}["Human labels"] == "1"

    # accept the visual label of the next one (CMCSL reran with the first label as a seed: the card's proposal)
    now = labels_with_annotations(fs, request, store).result
    press(at, "v")
    b = store.history()[-1]
    assert (b.index, b.label) == (queue[1], names[now.labels[0, queue[1]]])
    assert shown_item(at) == queue[2]

    # override CMCSL with another class (keys 1..K)
    now = labels_with_annotations(fs, request, store).result
    other = 1 - int(now.final_labels[queue[2]])
    press(at, str(other + 1))
    c = store.history()[-1]
    assert (c.index, c.label) == (queue[2], names[other]) and c.label != names[now.final_labels[queue[2]]]
    assert shown_item(at) == queue[3]

    # skip stores nothing
    press(at, "s")
    assert len(store.history()) == 3
    assert shown_item(at) == queue[4]

    # undo takes back the override (an action too) and shows that item again
    press(at, "u")
    u = store.history()[-1]
    assert (u.kind, u.undoes, u.index, u.label) == ("undo", c.id, queue[2], None)
    assert store.current().as_dict(names) == {int(queue[0]): a.label, int(queue[1]): b.label}
    assert shown_item(at) == queue[2]

    # the metrics are those of CMCSL rerun from the seeds plus the human labels, vs the session start
    shown = {m.label: m for m in at.metric}
    annotated = labels_with_annotations(fs, request, store)
    start = progress_metrics(fs, labels_from_seeds(fs, seeds, HumanLabels.empty(), request.preprocessing))
    current = progress_metrics(fs, annotated)
    assert shown["Disagreements"].value == f"{current.disagreements:,}"
    moved = current.disagreements - start.disagreements
    assert shown["Disagreements"].proto.delta == (f"{moved:+,} this session" if moved else "")
    assert shown["CMCSL accuracy"].value == f"{current.accuracy:.1%}"
    assert shown["Human labels"].value == "2"

    # a human label is overridden: with reviewed items in the queue, relabel the first one
    at.toggle(key="review_unreviewed").set_value(False).run()
    assert shown_item(at) == queue[0]
    flip = 1 - names.index(a.label)
    press(at, str(flip + 1))
    d = store.history()[-1]
    assert (d.index, d.label, d.previous) == (queue[0], names[flip], a.label)
    assert store.current().as_dict(names)[int(queue[0])] == names[flip]
    assert shown_item(at) == queue[1]
    assert store.integrity_check() == "ok"


def test_a_database_of_another_feature_file_is_refused_with_a_message(fs, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.sqlite"
    other = AnnotationStore(fs.subset(np.arange(100)), foreign)
    other.label(3, fs.class_names[0], "someone")
    at = run_review()
    assert_clean(at)
    at.sidebar.text_input(key="review_db").set_value(str(foreign)).run()
    assert not at.exception
    assert len(at.error) == 1 and "another feature file" in at.error[0].value
    assert not [b for b in at.button if (b.key or "").startswith("review_key_")]  # no actions offered
    assert len(other.history()) == 1  # untouched
    # a folder that does not exist, and a file that is no database: messages, no traceback
    at.sidebar.text_input(key="review_db").set_value(str(tmp_path / "nowhere" / "x.sqlite")).run()
    assert not at.exception and "does not exist" in at.error[0].value
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    at.sidebar.text_input(key="review_db").set_value(str(junk)).run()
    assert not at.exception and "not a readable annotation database" in at.error[0].value
    # back to a fresh database: the page works again
    at.sidebar.text_input(key="review_db").set_value(str(tmp_path / "mine.sqlite")).run()
    assert_clean(at)
    press(at, "t")
    assert len(AnnotationStore(fs, tmp_path / "mine.sqlite").history()) == 1


def test_without_an_annotator_nothing_is_saved(fs, _env: Path) -> None:
    at = run_review()
    at.sidebar.text_input(key="review_by").set_value("  ").run()
    assert not at.exception
    assert any("annotator" in e.value for e in at.error)
    assert at.button(key=button_key("t", at.session_state["review_cursor"][1].current)).disabled
    assert not _env.exists()


def test_bulk_label_of_the_clusters_selection_is_one_transaction(fs, _env: Path) -> None:
    chosen = [5, 17, 300, 4000]
    at = run_review(inspected=chosen)
    assert_clean(at)
    at.selectbox(key="review_bulk_class").set_value(fs.class_names[1]).run()
    at.button(key="review_bulk").click().run()
    assert_clean(at)
    history = AnnotationStore(fs, _env).history()
    assert [(h.index, h.label, h.annotator) for h in history] == [(i, fs.class_names[1], ANNOTATOR) for i in chosen]
    assert len({h.time for h in history}) == 1  # one transaction, one time stamp
    assert {m.label: m.value for m in at.metric}["Human labels"] == str(len(chosen))


def test_suggestions_become_the_queue_and_the_command_line_reproduces_the_labels(
    fs, _env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_review()
    request = page_request(at)
    press(at, "t")
    press(at, "1")
    at.number_input(key="review_budget").set_value(7).run()
    store = AnnotationStore(fs, _env)
    annotated = labels_with_annotations(fs, request, store)
    expected = suggest_next(
        preprocess_features(fs.X, request.preprocessing), annotated.result, 7, reviewed=store.current().index
    )
    at.button(key="review_take_suggestions").click().run()
    assert_clean(at)
    cursor = at.session_state["review_cursor"][1]
    assert cursor.queue == tuple(int(i) for i in expected.index) and shown_item(at) == expected.index[0]
    press(at, "s")
    assert shown_item(at) == expected.index[1]
    assert len(store.history()) == 2

    # downloads offered; the command line shown writes the labels of the database
    assert {b.proto.label for b in at.get("download_button")} >= {
        "Download labels.csv", "Download labels.parquet", "Download labels_label_studio.json",
    }
    monkeypatch.chdir(tmp_path)
    lines = [ln for c in at.code for ln in c.value.splitlines()]
    export, labels = lines
    assert f"--db {shlex.quote(str(_env))}" in labels
    for line in (export, labels):
        assert cli_main(shlex.split(line)[3:]) == 0, line
    assert (tmp_path / "labels.csv").read_bytes() == export_bytes(
        fs, labels_with_annotations(fs, request, store), "csv"
    )


def test_keys_typed_ahead_of_a_new_card_are_dropped(fs, _env: Path) -> None:
    """Five quick presses of one key label the item on screen once; the next card's keys count only after a moment."""
    dwell = 8.0  # longer than an AppTest run takes on a loaded machine: "at once" stays "at once"
    at = run_review(review_key_dwell=dwell)
    queue = at.session_state["review_cursor"][1].queue
    time.sleep(dwell)
    press(at, "2", wait=False)  # the card had been on screen: it counts
    for _ in range(4):  # at once on the next card, as typed ahead: dropped
        press(at, "2", wait=False)
    store = AnnotationStore(fs, _env)
    assert [(h.index, h.label) for h in store.history()] == [(queue[0], fs.class_names[1])]
    assert shown_item(at) == queue[1]
    assert any("Ignored the key '2'" in c.value for c in at.caption)
    time.sleep(dwell)
    press(at, "2", wait=False)  # after a moment on screen it counts again
    assert [h.index for h in store.history()] == [queue[0], queue[1]]


def suggestions(at: AppTest) -> list[int]:
    """The items of the "Label these next" table."""
    (table,) = [d.value for d in at.dataframe if "new changes" in d.value.columns]
    return [int(i) for i in table["index"]]


def test_previous_search_and_live_counters(fs, _env: Path) -> None:
    at = run_review()
    queue = at.session_state["review_cursor"][1].queue
    metrics = lambda: {m.label: m.value for m in at.metric}  # noqa: E731
    assert metrics()["Your labels"] == "0" and metrics()["Left in the queue"] == f"{len(queue):,}"
    press(at, "t")
    assert metrics()["Your labels"] == "1" and metrics()["Left in the queue"] == f"{len(queue) - 1:,}"
    press(at, "p")  # back to the item just labelled, to change its label
    assert shown_item(at) == queue[0]
    press(at, "1")
    history = AnnotationStore(fs, _env).history()
    assert [h.index for h in history] == [queue[0], queue[0]] and history[-1].label == fs.class_names[0]
    assert shown_item(at) == queue[1] and metrics()["Your labels"] == "1"

    # "Label these next" never lists an item labelled since it was computed
    listed = suggestions(at)
    press(at, "s")
    at.session_state["review_suggested"] = tuple(listed)
    at.run()
    assert shown_item(at) == listed[0]
    press(at, "1")
    assert listed[0] not in suggestions(at) and listed[1:] == suggestions(at)
    assert any("Computed before your last" in c.value for c in at.caption)
    at.session_state["review_suggested"] = None

    # search: only queued items whose text (or name, id) holds the words
    word = next(w for w in fs.texts[queue[5]].split() if len(w) > 5).lower()
    at.text_input(key="review_query").set_value(word).run()
    found = at.session_state["review_cursor"][1].queue
    assert found and all(word in (fs.texts[i] + " " + fs.item_name(i)).lower() for i in found)
    assert set(found) <= set(
        int(i)
        for i in review_queue(
            labels_from_seeds(
                fs, page_request(at).seed_indices(fs), HumanLabels.empty(), page_request(at).preprocessing
            ).result
        )
    )
    at.text_input(key="review_query").set_value(f"#{queue[7]}").run()
    assert at.session_state["review_cursor"][1].queue == (queue[7],)


def test_more_like_this_labels_the_item_and_its_neighbours_in_one_transaction(fs, _env: Path) -> None:
    from cmcsl_core.annotations.similar import similar_items

    at = run_review(review_more_open=True)
    assert_clean(at)
    item = at.session_state["review_cursor"][1].current
    request = page_request(at)
    expected = similar_items(preprocess_features(fs.X, request.preprocessing), item, 6)
    items = list(dict.fromkeys([item, *[int(i) for rows in expected for i in rows]]))
    at.selectbox(key="review_more_class").set_value(1).run()
    at.button(key="review_more_label").click().run()
    assert_clean(at)
    history = AnnotationStore(fs, _env).history()
    assert [h.index for h in history] == items and {h.label for h in history} == {fs.class_names[1]}
    assert len({h.time for h in history}) == 1  # one transaction
    assert at.session_state["review_cursor"][1].current != item  # the card moved on


def test_more_like_this_on_clusters_labels_into_the_review_pages_database_as_its_annotator(
    fs, _env: Path, tmp_path: Path
) -> None:
    """Locally the Clusters side panel labels into the database and under the name last chosen on the Review page."""
    at = run_review()
    other_db = tmp_path / "mine.sqlite"
    at.sidebar.text_input(key="review_db").set_value(str(other_db)).run()
    at.sidebar.text_input(key="review_by").set_value("zoe").run()
    assert_clean(at)
    at.switch_page("pages/1_Clusters.py")
    at.session_state["clusters_views"] = {
        "nonce": "apptest",
        "seq": 1,
        "events": [{"event": "click", "ids": [7], "view": "v", "seq": 1}],
    }
    at.session_state["panel_more_open"] = True
    at.run()
    assert_clean(at)
    at.button(key="panel_more_label").click().run()
    assert_clean(at)
    history = AnnotationStore(fs, other_db).history()
    assert 7 in {h.index for h in history} and {h.annotator for h in history} == {"zoe"}
    assert len({h.time for h in history}) == 1  # one transaction
    assert not _env.exists()  # the default database was not used
