""""More like this" neighbours against brute force, and who decides the disagreements (on the built-in tweets too)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.neighbors import NearestNeighbors

from cmcsl_core.annotations.similar import similar_items
from cmcsl_core.evaluation.balance import disagreement_balance
from cmcsl_core.method.labeling import cross_modal_labels
from tests.helpers_core import synthetic_features


def _brute(X: np.ndarray, item: int, k: int, exclude: set[int]) -> list[int]:
    rows = [(float(np.sum((X[j] - X[item]) ** 2)), j) for j in range(len(X)) if j != item and j not in exclude]
    return [j for _, j in sorted(rows)[:k]]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 40),
    k=st.integers(0, 45),
    seed=st.integers(0, 10_000),
    rounded=st.booleans(),
    n_ex=st.integers(0, 5),
)
def test_similar_items_match_brute_force(n: int, k: int, seed: int, rounded: bool, n_ex: int) -> None:
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(n, 3)), rng.normal(size=(n, 5))]
    if rounded:  # many ties
        X = [np.round(x) for x in X]
    item = int(rng.integers(n))
    exclude = set(rng.integers(0, n, size=n_ex).tolist())
    got = similar_items(X, item, k, exclude)
    for x, g in zip(X, got):
        assert g.tolist() == _brute(x, item, k, exclude)


def test_similar_items_agree_with_scikit_learn() -> None:
    fs = synthetic_features((80, 60, 70), dims=(12, 7))
    for x, got in zip(fs.X, similar_items(fs.X, 17, k=8)):
        dist, idx = NearestNeighbors(n_neighbors=9).fit(x).kneighbors(x[[17]])
        assert idx[0][0] == 17 and got.tolist() == idx[0][1:].tolist()  # continuous data: no ties
        np.testing.assert_allclose(np.linalg.norm(x[got] - x[17], axis=1), dist[0][1:])
    with pytest.raises(IndexError):
        similar_items(fs.X, fs.n_items, 3)


def test_one_modality_decides_everything_when_its_distances_are_shorter() -> None:
    rng = np.random.default_rng(3)
    y = np.repeat([0, 1, 2], 60)
    wide = rng.normal(size=(180, 200)) + 0.8 * y[:, None]  # many features: long distances
    narrow = rng.normal(size=(180, 5)) + 0.8 * y[:, None]
    seeds = np.array([0, 1, 60, 61, 120, 121])
    r = cross_modal_labels([wide, narrow], seeds, y[seeds], modality_names=("image", "text"))
    b = disagreement_balance(r, dims=(200, 5))
    assert b.n_disagreements == int(r.disagree.sum()) > 20
    assert b.wins == {"image": int(np.sum(r.decided_by == 0)), "text": int(np.sum(r.decided_by == 1))}
    assert b.dominant == "text" and b.share == 1.0
    assert b.median_distance["image"] > 4 * b.median_distance["text"] and b.distance_ratio() > 4
    # comparable spaces: nobody dominates
    r2 = cross_modal_labels(
        [narrow, narrow[:, ::-1] + rng.normal(size=(180, 5))], seeds, y[seeds], modality_names=("a", "b")
    )
    b2 = disagreement_balance(r2, dims=(5, 5))
    assert b2.dominant is None and b2.share < 0.95
    # few disagreements never count as dominance
    assert disagreement_balance(r, dims=(200, 5), min_items=10_000).dominant is None


def test_builtin_tweets_text_decides_every_disagreement() -> None:
    from cmcsl_core.annotations import HumanLabels, labels_from_seeds
    from cmcsl_core.datasets.sources import SourceSpec
    from cmcsl_core.method.seeds import draw_seeds

    fs = SourceSpec.create("mvsa-builtin").load()
    r = labels_from_seeds(fs, draw_seeds(fs.y, 5, 0), HumanLabels.empty(), "l2std").result
    b = disagreement_balance(r, dims=[x.shape[1] for x in fs.X])
    assert b.dominant == "text" and b.wins["image"] == 0 and b.n_disagreements == b.wins["text"] > 3000
    assert b.dims == {"image": 1280, "text": 384} and 1.5 < b.distance_ratio() < 2.1  # about sqrt(1280 / 384)
