"""cmcsl_core.method.labeling: exactness against brute force, tie rules, and properties (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_core import assert_matches_reference, reference_labels, synthetic_features
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmcsl_core.errors import CMCSLError, SeedError
from cmcsl_core.method import labeling
from cmcsl_core.method.labeling import (
    cross_modal_labels,
    distances_to,
    nearest_seed,
    propagate,
    squared_distances,
    squared_norms,
)
from cmcsl_core.method.preprocessing import preprocess_features

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _random_case(rng, n, dims, k, n_seeds, integer=False, offset=0.0):
    if integer:
        X_list = [rng.integers(-2, 3, size=(n, d)).astype(np.float64) + offset for d in dims]
    else:
        X_list = [rng.normal(size=(n, d)) + offset for d in dims]
    seed_idx = rng.choice(n, size=n_seeds, replace=False)  # unsorted on purpose
    seed_labels = rng.integers(0, k, size=n_seeds)
    return X_list, seed_idx, seed_labels


def _fast_path(X_list, seed_idx, seed_labels):
    """The evaluation's path: precomputed squared distances, exact_distances=False."""
    norms = [squared_norms(X) for X in X_list]
    d2 = [squared_distances(X, X[seed_idx], xx) for X, xx in zip(X_list, norms)]
    return cross_modal_labels(
        X_list, seed_idx, seed_labels, sq_distances=d2, sq_norms=norms, exact_distances=False
    )


# ---------------------------------------------------------------------------------------------
# brute force
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dims", [(5, 3), (4, 6, 2)], ids=["M2", "M3"])
@pytest.mark.parametrize(
    "kind", ["gaussian", "integer_ties", "duplicated_rows", "large_offset", "dyadic_offset"]
)
def test_cross_modal_labels_equals_brute_force(dims, kind):
    rng = np.random.default_rng(abs(hash((dims, kind))) % 2**32)
    n, k = 120, 3
    if kind == "gaussian":
        X_list, seed_idx, seed_labels = _random_case(rng, n, dims, k, 12)
    elif kind == "integer_ties":
        # few distinct values: many exact ties between seeds and between modalities
        X_list, seed_idx, seed_labels = _random_case(rng, n, dims, k, 15, integer=True)
    elif kind == "large_offset":
        # |x|^2 >> distances: the matrix-product expansion loses digits, the exact re-check must not
        X_list, seed_idx, seed_labels = _random_case(rng, n, dims, k, 10, offset=1e4)
        X_list = [X + 1e-3 * rng.normal(size=X.shape) for X in X_list]
    elif kind == "dyadic_offset":
        # exact ties (integer multiples of 2**-8) on top of a many-bit offset per column: differences and
        # exact distances are exact, but |x|^2 - 2 x.s + |s|^2 rounds, so ties must be re-checked exactly
        X_list, seed_idx, seed_labels = _random_case(rng, n, dims, k, 15, integer=True)
        X_list = [X * 2.0**-8 + rng.uniform(1100, 2000, size=X.shape[1]) for X in X_list]
    else:
        base, seed_idx, seed_labels = _random_case(rng, n // 4, dims, k, 8)
        X_list = [np.vstack([X, X, X, X]) for X in base]  # every row four times
        # seeds that are exact duplicates of each other, with different labels
        seed_idx = np.concatenate([seed_idx, seed_idx[:4] + n // 4])
        seed_labels = np.concatenate([seed_labels, (seed_labels[:4] + 1) % k])
    ref = reference_labels(X_list, seed_idx, seed_labels)
    result = cross_modal_labels(X_list, seed_idx, seed_labels)
    assert_matches_reference(result, ref)
    # the evaluation's fast path gives the same labels (distances to rounding)
    fast = _fast_path(X_list, seed_idx, seed_labels)
    np.testing.assert_array_equal(fast.labels, ref["labels"])
    np.testing.assert_array_equal(fast.nearest_seed, ref["nearest_seed"])
    np.testing.assert_array_equal(fast.final_labels, ref["final_labels"])
    np.testing.assert_array_equal(fast.decided_by, ref["decided_by"])
    np.testing.assert_array_equal(fast.disagree, ref["disagree"])
    scale = max(float(np.abs(X).max()) for X in X_list)
    np.testing.assert_allclose(fast.distances, ref["distances"], rtol=1e-6, atol=1e-6 * scale)
    if kind in ("integer_ties", "duplicated_rows", "dyadic_offset"):
        # make sure the data really exercise both tie rules
        assert np.any(ref["disagree"])
        assert _has_seed_ties(X_list, seed_idx)


def _has_seed_ties(X_list, seed_idx):
    for X in X_list:
        D = np.linalg.norm(X[:, None, :] - X[seed_idx][None, :, :], axis=2)
        best = D.min(axis=1, keepdims=True)
        if np.any((D == best).sum(axis=1) > 1):
            return True
    return False


def test_explicit_tie_rules():
    """Hand-made case: ties between seeds -> first listed seed; ties between modalities -> first modality."""
    X0 = np.array([[0.0], [2.0], [1.0], [10.0], [3.0]])
    X1 = np.array([[0.0], [4.0], [5.0], [10.0], [1.0]])
    seeds = np.array([1, 0])  # item 1 (label 1) is listed before item 0 (label 0)
    labels = np.array([1, 0])
    res = cross_modal_labels([X0, X1], seeds, labels)
    # item 2 in modality 0: distance 1 to both seeds -> first listed seed (item 1, label 1)
    assert res.nearest_seed[0, 2] == 0 and res.labels[0, 2] == 1
    # item 2 in modality 1: nearer to item 1 (distance 1) -> label 1; agree -> decided_by -1
    assert res.decided_by[2] == -1 and res.final_labels[2] == 1
    # item 4: modality 0 says seed item 1 (label 1, distance 1), modality 1 says seed item 0
    # (label 0, distance 1): a tie between modalities -> modality 0 wins
    assert res.labels[:, 4].tolist() == [1, 0]
    assert res.distances[:, 4].tolist() == [1.0, 1.0]
    assert res.decided_by[4] == 0 and res.final_labels[4] == 1 and res.disagree[4]
    # swapping the modalities swaps the winner
    res2 = cross_modal_labels([X1, X0], seeds, labels)
    assert res2.decided_by[4] == 0 and res2.final_labels[4] == 0


def test_seeds_keep_own_label_even_with_identical_features():
    X = np.zeros((4, 2))  # every item identical
    res = cross_modal_labels([X, X.copy()], np.array([2, 0]), np.array([1, 0]))
    assert res.labels[:, 2].tolist() == [1, 1] and res.labels[:, 0].tolist() == [0, 0]
    assert res.nearest_seed[:, 0].tolist() == [1, 1]
    # non-seeds: a tie of all seeds -> the first listed seed (item 2, label 1)
    assert res.final_labels.tolist() == [0, 1, 1, 1]
    assert np.all(res.distances == 0.0)


def test_nearest_seed_single_and_errors():
    X = np.arange(10, dtype=float).reshape(5, 2)
    idx, dist = nearest_seed(X, X[[3]])
    assert idx.tolist() == [0] * 5
    np.testing.assert_allclose(dist, np.linalg.norm(X - X[3], axis=1))
    with pytest.raises(CMCSLError):
        nearest_seed(X, np.empty((0, 2)))


@pytest.mark.parametrize("n", [1, 15, 16, 17, 39])
def test_distances_to_is_the_plain_norm_across_block_edges(n, monkeypatch):
    monkeypatch.setattr(labeling, "BLOCK_BYTES", 8 * 5 * 16)  # 16 rows of 5 values per block
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, 5))
    S = rng.standard_normal((4, 5))
    idx = rng.integers(0, 4, n)
    got = distances_to(X, S, idx)
    diff = X - S[idx]
    np.testing.assert_array_equal(got, np.sqrt(np.einsum("ij,ij->i", diff, diff)))  # the unblocked formula, bit for bit
    np.testing.assert_allclose(got, np.linalg.norm(diff, axis=1), rtol=1e-14)


@pytest.mark.parametrize("rows_per_block", [1, 3, 64])
def test_nearest_seed_in_row_blocks_equals_one_matrix(rows_per_block, monkeypatch):
    rng = np.random.default_rng(rows_per_block)
    X = rng.integers(-3, 4, (200, 3)).astype(float)  # small integers: many exact ties across block edges
    S = X[rng.choice(200, 7, replace=False)]
    whole = nearest_seed(X, S, d2=squared_distances(X, S))  # the caller's one matrix
    monkeypatch.setattr(labeling, "BLOCK_BYTES", 8 * S.shape[0] * rows_per_block)
    blocked = nearest_seed(X, S)
    np.testing.assert_array_equal(blocked[0], whole[0])
    np.testing.assert_array_equal(blocked[1], whole[1])
    brute = ((X[:, None, :] - S[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(blocked[0], np.argmin(brute, axis=1))  # exact ties: the lowest position


def test_cross_modal_labels_input_errors():
    X = np.zeros((5, 2))
    with pytest.raises(CMCSLError):
        cross_modal_labels([], np.array([0]), np.array([0]))
    with pytest.raises(CMCSLError):
        cross_modal_labels([X, X], np.array([0, 1]), np.array([0]))
    with pytest.raises(CMCSLError):
        cross_modal_labels([X, np.zeros((4, 2))], np.array([0]), np.array([0]))
    with pytest.raises(CMCSLError):
        cross_modal_labels([X, X], np.array([1, 1]), np.array([0, 1]))
    with pytest.raises(CMCSLError):
        cross_modal_labels([X, X], np.array([5]), np.array([0]))
    with pytest.raises(CMCSLError):
        cross_modal_labels([X, X], np.array([-1]), np.array([0]))


def test_seed_X_labels_new_items_without_own_rule():
    rng = np.random.default_rng(3)
    X_list, seed_idx, seed_labels = _random_case(rng, 40, (3, 2), 2, 6)
    seeds_X = [X[seed_idx] for X in X_list]
    new = [rng.normal(size=(15, X.shape[1])) for X in X_list]
    res = cross_modal_labels(new, seed_idx, seed_labels, seed_X=seeds_X)
    # brute force: append the seeds to the new items, label, and drop the seed rows again
    joined = [np.vstack([N, S]) for N, S in zip(new, seeds_X)]
    ref = reference_labels(joined, np.arange(15, 15 + seed_idx.size), seed_labels)
    np.testing.assert_array_equal(res.final_labels, ref["final_labels"][:15])
    np.testing.assert_array_equal(res.labels, ref["labels"][:, :15])
    np.testing.assert_allclose(res.distances, ref["distances"][:, :15], atol=1e-9)


def test_propagate_uses_preprocessed_features_and_true_seed_labels():
    fs = synthetic_features(seed=5)
    seeds = [0, 7, 30, 88]
    res = propagate(fs, seeds, "l2std")
    X_list = preprocess_features(fs.X, "l2std")
    ref = reference_labels(X_list, seeds, fs.y[seeds])
    assert_matches_reference(res, ref)
    assert res.modality_names == fs.modality_names
    assert res.is_seed.sum() == 4 and res.is_seed[seeds].all()
    np.testing.assert_array_equal(res.uni_labels("text"), res.labels[1])
    with pytest.raises(SeedError):
        propagate(fs, [0, 0], "l2std")
    with pytest.raises(CMCSLError):
        propagate(fs, [0, 1], "nope")


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------


@st.composite
def labeling_cases(draw, integer=True):
    m_count = draw(st.integers(2, 3))
    n = draw(st.integers(3, 25))
    dims = [draw(st.integers(1, 4)) for _ in range(m_count)]
    k = draw(st.integers(2, 4))
    n_seeds = draw(st.integers(1, n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return _random_case(rng, n, dims, k, n_seeds, integer=integer)


@FAST
@given(labeling_cases())
def test_property_brute_force_on_small_integer_data(case):
    X_list, seed_idx, seed_labels = case
    ref = reference_labels(X_list, seed_idx, seed_labels)
    assert_matches_reference(cross_modal_labels(X_list, seed_idx, seed_labels), ref)
    fast = _fast_path(X_list, seed_idx, seed_labels)
    np.testing.assert_array_equal(fast.final_labels, ref["final_labels"])
    np.testing.assert_array_equal(fast.decided_by, ref["decided_by"])


@FAST
@given(labeling_cases())
def test_property_agreement_is_kept_and_seeds_keep_their_label(case):
    X_list, seed_idx, seed_labels = case
    res = cross_modal_labels(X_list, seed_idx, seed_labels)
    agree = np.all(res.labels == res.labels[0], axis=0)
    np.testing.assert_array_equal(res.final_labels[agree], res.labels[0, agree])
    assert np.all(res.decided_by[agree] == -1)
    np.testing.assert_array_equal(res.disagree, ~agree)
    # where they disagree, the kept label is one modality's, and that modality is nearest
    dis = np.flatnonzero(~agree)
    np.testing.assert_array_equal(res.final_labels[dis], res.labels[res.decided_by[dis], dis])
    assert np.all(res.distances[res.decided_by[dis], dis] == res.distances[:, dis].min(axis=0))
    # seeds
    for m in range(len(X_list)):
        np.testing.assert_array_equal(res.labels[m, seed_idx], seed_labels)
        np.testing.assert_array_equal(res.nearest_seed[m, seed_idx], np.arange(seed_idx.size))
    np.testing.assert_array_equal(res.final_labels[seed_idx], seed_labels)
    assert np.all(res.decided_by[seed_idx] == -1)
    assert np.all(res.distances[:, seed_idx] == 0.0)


@FAST
@given(labeling_cases(integer=False), st.integers(0, 2**32 - 1))
def test_property_result_does_not_depend_on_item_or_seed_order(case, perm_seed):
    X_list, seed_idx, seed_labels = case  # continuous data: no exact ties
    rng = np.random.default_rng(perm_seed)
    n = X_list[0].shape[0]
    perm = rng.permutation(n)  # new row j holds old row perm[j]
    inv = np.argsort(perm)  # old row i is now at inv[i]
    sperm = rng.permutation(seed_idx.size)  # new seed position q holds old seed sperm[q]
    sinv = np.argsort(sperm)
    res = cross_modal_labels(X_list, seed_idx, seed_labels)
    res2 = cross_modal_labels([X[perm] for X in X_list], inv[seed_idx][sperm], seed_labels[sperm])
    np.testing.assert_array_equal(res2.labels[:, inv], res.labels)
    np.testing.assert_array_equal(res2.final_labels[inv], res.final_labels)
    np.testing.assert_array_equal(res2.decided_by[inv], res.decided_by)
    np.testing.assert_array_equal(res2.disagree[inv], res.disagree)
    np.testing.assert_allclose(res2.distances[:, inv], res.distances, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(res2.nearest_seed[:, inv], sinv[res.nearest_seed])
