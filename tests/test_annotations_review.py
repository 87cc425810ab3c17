"""The Review page's pure logic (cmcsl_studio_ui.review): keys, actions on the store, the cursor, metrics."""

from __future__ import annotations

import numpy as np
import pytest

from cmcsl_core.annotations.provenance import labels_from_seeds
from cmcsl_core.annotations.queue import review_queue
from cmcsl_core.annotations.store import AnnotationStore, HumanLabels
from cmcsl_core.method.seeds import draw_seeds
from cmcsl_studio_ui.review import (
    KEY_DWELL,
    ReviewCursor,
    ShownCard,
    annotator_labels,
    apply_action,
    button_key,
    filter_queue,
    key_map,
    key_verdict,
    metrics_delta,
    progress_metrics,
    resolve_key,
)
from tests.helpers_core import synthetic_features


@pytest.fixture()
def fs():
    return synthetic_features((60, 40, 50), with_ids=True, class_names=("Horror", "Romance", "Drama"))


def test_key_map_is_unique_and_covers_every_action() -> None:
    keys = key_map(("visual", "text"), ("Horror", "Romance", "Drama"))
    assert {k: (a.kind, a.value) for k, a in keys.items()} == {
        "1": ("class", 0), "2": ("class", 1), "3": ("class", 2),
        "v": ("modality", 0), "t": ("modality", 1), "s": ("skip", -1), "u": ("undo", -1), "p": ("previous", -1),
    }
    # modalities whose first letters collide (or are reserved) still get distinct keys
    keys = key_map(("sound", "speech", "text", "tags"), [f"c{i}" for i in range(12)])
    modal = [k for k, a in keys.items() if a.kind == "modality"]
    assert len(modal) == 4 and len(set(keys)) == len(keys) and "s" not in modal
    assert sum(a.kind == "class" for a in keys.values()) == 10  # keys 1..9, 0
    assert resolve_key("T", key_map(("visual", "text"), ("a", "b"))).kind == "modality"  # type: ignore[union-attr]
    assert resolve_key("x", keys) is None and resolve_key("", keys) is None


def test_actions_store_labels_and_the_cursor_walks_the_queue(fs, tmp_path) -> None:
    seeds = draw_seeds(fs.y, 2, 0)
    store = AnnotationStore(fs, tmp_path / "r.sqlite")
    start = labels_from_seeds(fs, seeds, HumanLabels.empty())
    r = start.result
    keys = key_map(fs.modality_names, fs.class_names)
    queue = review_queue(r)
    cursor = ReviewCursor.start(queue)
    first = cursor.current
    assert first == queue[0]
    a = apply_action(keys["t"], first, r, store, "ann")  # accept the text's label
    assert a is not None and a.label == fs.class_names[r.labels[1, first]]
    reviewed = store.current().index
    cursor = cursor.advance(reviewed)
    second = cursor.current
    assert second == queue[1]
    assert apply_action(keys["s"], second, r, store, "ann") is None  # skip stores nothing
    cursor = cursor.skip(store.current().index)
    assert cursor.current == queue[2] and second in cursor.skipped
    b = apply_action(keys["2"], cursor.current, r, store, "ann")  # choose class 2 (Romance)
    assert b is not None and b.label == "Romance"
    u = apply_action(keys["u"], cursor.current, r, store, "ann")  # undo takes back the Romance label
    assert u is not None and u.kind == "undo" and u.undoes == b.id
    cursor = cursor.back_to(u.index)
    assert cursor.current == queue[2]
    assert cursor.remaining(store.current().index) == len(queue) - 2  # first reviewed, second skipped
    # restarting with the stored labels resumes after the reviewed items
    resumed = ReviewCursor.start(queue, store.current().index)
    assert resumed.current == queue[1]
    # metrics move as human labels join the seeds
    now = labels_from_seeds(fs, seeds, store.current())
    m0, m1 = progress_metrics(fs, start), progress_metrics(fs, now)
    assert (m0.human, m1.human) == (0, 1)
    assert m0.disagreements == int(r.disagree.sum())
    scored = np.ones(fs.n_items, bool)
    scored[seeds] = False
    assert m0.accuracy == pytest.approx(np.mean(r.final_labels[scored] == fs.y[scored]))
    assert metrics_delta(m0, m1)["human"] == 1.0


def test_key_verdict_counts_one_key_per_card_once_it_is_on_screen() -> None:
    t0 = 100.0
    drawing, shown, used = ShownCard(7), ShownCard(7, t0), ShownCard(7, t0, used=True)
    assert key_verdict(7, shown, t0 + KEY_DWELL + 1e-6) is None
    assert key_verdict(7, shown, t0 + KEY_DWELL / 2) == "the card had just been drawn"
    assert key_verdict(7, drawing, t0 + 9) == "the card was still being drawn"
    assert key_verdict(6, shown, t0 + 9) == "it was pressed on a card that is no longer shown"
    assert key_verdict(7, None, t0 + 9) is not None
    assert key_verdict(7, used, t0 + 9) == "a key was already applied to this card"
    # keys the browser timed: only the card and the once-per-card rule
    assert key_verdict(7, drawing, t0, timed=False) is None
    assert key_verdict(7, used, t0 + 9, timed=False) is not None and key_verdict(8, shown, t0, timed=False) is not None
    assert key_verdict(None, ShownCard(None, t0), t0 + 1) is None  # undo on the finished queue
    assert button_key("2", 15) != button_key("2", 16) and button_key("u", None) == "review_key_u_none"


def test_previous_filter_and_own_labels(fs) -> None:
    cursor = ReviewCursor.start([5, 9, 2, 7]).skip().advance([2])
    assert cursor.current == 7 and cursor.skipped == {5}
    back = cursor.previous()
    assert back.current == 2  # reviewed items are shown again when walking back
    assert back.previous().current == 9 and back.previous().previous().current == 5
    assert 5 not in back.previous().previous().skipped
    assert ReviewCursor.start([5]).previous().current == 5
    from dataclasses import replace

    texts = tuple(f"text {i}" + (" Wedding day" if i % 7 == 0 else "") for i in range(fs.n_items))
    data = replace(fs, texts=texts)
    order = np.array([14, 3, 21, 8, 0])
    assert filter_queue(data, order, "wedding").tolist() == [14, 21, 0]
    assert filter_queue(data, order, "  ").tolist() == order.tolist()
    assert filter_queue(data, order, "#8").tolist() == [8] and filter_queue(data, order, "8").tolist() == [8]
    named = replace(fs, titles=tuple(f"Romance #{(i * 7) % fs.n_items}" for i in range(fs.n_items)))
    assert named.item_name(3) == f"Romance #{21 % fs.n_items}"  # another item's index in a name
    assert filter_queue(named, order, "#21").tolist() == [21]  # "#21" is item 21 only, not item 3's name
    assert filter_queue(named, order, "21").tolist() == [3, 21]  # a plain number: names too, and item 21
    assert filter_queue(data, order, "tt1003").tolist() == [3]  # the item's id
    assert filter_queue(data, order, "movie 21").tolist() == [21]  # its title
    human = HumanLabels(np.array([1, 4, 6]), np.array([0, 1, 0]), ("ann", "bob", "ann"), np.array([1, 2, 3]))
    assert annotator_labels(human, "ann") == 2 and annotator_labels(human, "eve") == 0
