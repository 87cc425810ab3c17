"""Agreement between annotators: exact against scikit-learn, a textbook table and brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from cmcsl_core.annotations.agreement import agreement, cohen_kappa, fleiss_kappa, labels_by_annotator, labels_table
from cmcsl_core.annotations.store import AnnotationStore
from tests.helpers_core import synthetic_features


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40))
def test_cohen_kappa_matches_scikit_learn(pairs) -> None:
    a, b = np.array(pairs).T
    ours = cohen_kappa(a, b, 4)
    labels = np.union1d(a, b)
    if len(labels) == 1:  # both raters used one class: undefined
        assert np.isnan(ours)
        return
    with np.errstate(all="ignore"):
        ref = cohen_kappa_score(a, b, labels=list(range(4)))
    assert ours == pytest.approx(ref, abs=1e-12) or (np.isnan(ours) and np.isnan(ref))


def test_fleiss_kappa_on_the_textbook_table() -> None:
    # Fleiss (1971) as worked on Wikipedia: 10 items, 14 raters, 5 categories: kappa 0.210
    table = np.array(
        [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ]
    )
    assert fleiss_kappa(table) == pytest.approx(0.20993, abs=1e-5)


def _fleiss_reference(ratings: list[list[int]], k: int) -> float:
    """Naive loops over rater pairs: the share of agreeing ordered pairs per item, chance from class shares."""
    per_item, all_ratings = [], []
    for r in ratings:
        if len(r) < 2:
            continue
        agree = sum(1 for x in range(len(r)) for y in range(len(r)) if x != y and r[x] == r[y])
        per_item.append(agree / (len(r) * (len(r) - 1)))
        all_ratings += r
    if not per_item:
        return float("nan")
    shares = [all_ratings.count(c) / len(all_ratings) for c in range(k)]
    chance = sum(s * s for s in shares)
    return float("nan") if chance == 1 else (np.mean(per_item) - chance) / (1 - chance)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2), min_size=0, max_size=5), min_size=1, max_size=15))
def test_fleiss_kappa_with_varying_raters_matches_pairwise_counting(ratings) -> None:
    table = np.zeros((len(ratings), 3), dtype=int)
    for i, r in enumerate(ratings):
        for c in r:
            table[i, c] += 1
    ours, ref = fleiss_kappa(table), _fleiss_reference(ratings, 3)
    assert (np.isnan(ours) and np.isnan(ref)) or ours == pytest.approx(ref, abs=1e-12)


def test_agreement_from_a_store_folds_each_annotator_alone(tmp_path) -> None:
    fs = synthetic_features((10, 10, 10), with_ids=True, class_names=("a", "b", "c"))
    store = AnnotationStore(fs, tmp_path / "class.sqlite")
    # alice and bob label items 0..5; bob changes his mind on 5, carol undoes her only label
    for i, (x, y) in enumerate(zip("aabbca", "abbbcc")):
        store.label(i, x, "alice")
        store.label(i, y, "bob")
    store.label(5, "a", "bob")
    store.label(0, "c", "carol")
    store.undo("carol")
    store.label(1, "b", "dave")
    acts = store.history()
    state = labels_by_annotator(acts)
    assert set(state) == {"alice", "bob", "dave"}  # carol has nothing in force
    assert state["bob"][5].label == "a" and state["alice"][5].label == "a"
    report = agreement(acts, fs.class_names)
    assert report.annotators == ("alice", "bob", "dave") and report.labels == {"alice": 6, "bob": 6, "dave": 1}
    assert report.n_items == 6 and report.n_shared == 6
    ab = next(p for p in report.pairs if (p.a, p.b) == ("alice", "bob"))
    x, y = list("aabbca"), list("abbbca")
    assert ab.n_items == 6 and ab.observed == pytest.approx(5 / 6)
    assert ab.kappa == pytest.approx(cohen_kappa_score(x, y))
    assert {(p.a, p.b) for p in report.pairs} == {("alice", "bob"), ("alice", "dave"), ("bob", "dave")}
    table = np.zeros((6, 3), dtype=int)
    for who in ("alice", "bob", "dave"):
        for i, a in state[who].items():
            table[i, "abc".index(a.label)] += 1
    assert report.fleiss == pytest.approx(fleiss_kappa(table))
    frame = labels_table(acts, [fs.item_name(i) for i in range(fs.n_items)])
    assert len(frame) == 13 and list(frame.columns[:3]) == ["index", "item", "name"]
    assert frame.loc[(frame["index"] == 1), "annotators_on_item"].tolist() == [3, 3, 3]
    assert set(frame["annotator"]) == {"alice", "bob", "dave"}


def test_no_shared_items_give_nan_not_an_error(tmp_path) -> None:
    fs = synthetic_features((10, 10), with_ids=True)
    store = AnnotationStore(fs, tmp_path / "x.sqlite")
    store.label(0, fs.class_names[0], "alice")
    store.label(1, fs.class_names[1], "bob")
    report = agreement(store.history(), fs.class_names)
    assert report.n_shared == 0 and report.pairs == () and np.isnan(report.fleiss)
