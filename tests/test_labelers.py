"""The labelers (cmcsl_core.method.labelers): exactness against scikit-learn and brute force, and the rules all keep."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from helpers_core import reference_labels, synthetic_features
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import NearestNeighbors
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from sklearn.utils._param_validation import InvalidParameterError

from cmcsl_core.errors import CMCSLError
from cmcsl_core.method import graph as graph_module
from cmcsl_core.method.estimator import CrossModalSelfLabeling
from cmcsl_core.method.graph import FeatureGraphs, approximate_knn, exact_knn, knn_graph, spreading_matrix
from cmcsl_core.method.labelers import (
    LABELER_INFO,
    LABELER_NAMES,
    AutoLabeler,
    BaseLabeler,
    check_labeler,
    labeler_method,
    make_labeler,
)
from cmcsl_core.method.labelers.nearest import median_scale
from cmcsl_core.method.labelers.spreading import balanced_one_hot
from cmcsl_core.method.labeling import cross_modal_labels
from cmcsl_core.method.preprocessing import preprocess_features
from cmcsl_core.method.seeds import draw_seeds
from cmcsl_core.method.spreading import class_mass_normalise, one_hot, spread, spread_many

# scikit-learn warns when its 30 spreading steps do not converge; that truncation is what we compare with
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def data():
    fs = synthetic_features((70, 50, 60), (6, 4), separation=1.0, seed=4)
    X = preprocess_features(fs.X, "l2std")
    seeds = draw_seeds(fs.y, 3, 0)
    return fs, X, seeds


def brute_knn(X: np.ndarray, k: int) -> np.ndarray:
    d = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)
    return np.stack([np.lexsort((np.arange(len(X)), row))[:k] for row in d])


# ------------------------------------------------------------------------------------------ graphs


def test_exact_knn_is_brute_force(data):
    _, X, _ = data
    for A in X:
        g = exact_knn(A, 10)
        np.testing.assert_array_equal(g.indices, brute_knn(A, 10))
        ref = np.sqrt(((A[:, None, :] - A[g.indices]) ** 2).sum(axis=2))
        np.testing.assert_allclose(g.distances, ref, rtol=1e-9, atol=1e-12)


def test_exact_knn_breaks_ties_by_index():
    X = np.array([[0.0], [1.0], [1.0], [1.0], [5.0]])  # items 1, 2, 3 coincide
    g = exact_knn(X, 2)
    assert g.indices[1].tolist() == [2, 3] and g.indices[0].tolist() == [1, 2]


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 420),
    d=st.integers(1, 6),
    k=st.integers(1, 12),
    offset=st.sampled_from([0.0, 1e3]),
    scale=st.sampled_from([1.0, 2.0**-100, 2.0**83, 1e-30, 1e25]),
    seed=st.integers(0, 2**16),
)
@example(n=3, d=4, k=1, offset=0.0, scale=1e-30, seed=58)  # a tie that rounding breaks one way or the other
@example(n=3, d=4, k=1, offset=0.0, scale=2.0**-100, seed=58)  # the same tie, exact: the lower index
def test_exact_knn_is_brute_force_with_ties_and_offsets(n, d, k, offset, scale, seed):
    """Small integer grids (many exact ties) far from the origin (float32 loses the distances there):
    both searches (the row's own k-th value for few items, group minima above ~300) are exact.

    Scaled by a power of two (2**-100 and 2**83: float32 under/overflows unscaled) every distance is
    computed exactly, so the ties are real and the lists equal brute force's, ties to the lower index.
    Scaled by 1e-30 or 1e25 the coordinates are rounded, and two distances equal on the grid differ
    by an ulp depending on the order the squares are summed in (brute force's and the re-ranking's
    differ): there the distances equal brute force's k smallest, and every neighbour is one of
    them up to that rounding."""
    rng = np.random.default_rng(seed)
    X = (rng.integers(0, 4, size=(n, d)).astype(np.float64) + offset) * scale
    g = exact_knn(X, k)
    kk = min(k, n - 1)
    ref = np.sqrt(((X[:, None, :] - X[g.indices]) ** 2).sum(axis=2))
    np.testing.assert_allclose(g.distances, ref, rtol=1e-12, atol=1e-300)
    if np.log2(scale).is_integer():
        np.testing.assert_array_equal(g.indices, brute_knn(X, kk))
    else:
        full = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))
        np.fill_diagonal(full, np.inf)
        kth = np.sort(full, axis=1)[:, :kk]
        np.testing.assert_allclose(g.distances, kth, rtol=1e-12, atol=1e-300)
        assert all(len(set(row)) == kk and i not in row for i, row in enumerate(g.indices.tolist()))


def test_exact_knn_rejects_nan():
    with pytest.raises(CMCSLError, match="NaN"):
        exact_knn(np.array([[0.0], [np.nan], [1.0]]), 1)


def test_symmetric_adjacency_and_spreading_matrix(data):
    _, X, _ = data
    g = exact_knn(X[0], 5)
    W = g.adjacency().toarray()
    A = np.zeros_like(W)
    A[np.repeat(np.arange(g.n_items), 5), g.indices.ravel()] = 1
    np.testing.assert_array_equal(W, np.maximum(A, A.T))
    assert np.all(np.diag(W) == 0)
    d = W.sum(axis=0)
    np.testing.assert_allclose(g.spreading().toarray(), W / np.sqrt(np.outer(d, d)), atol=1e-15)


@pytest.mark.slow  # numba compiles pynndescent on first use (~30 s without its cache)
def test_approximate_knn_finds_most_neighbours():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 8))
    approx = approximate_knn(X, 10)
    exact = brute_knn(X, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx.indices, exact)])
    assert recall > 0.9 and approx.method == "pynndescent"
    assert not np.any(approx.indices == np.arange(600)[:, None])  # never itself


def test_knn_graph_switches_to_pynndescent_above_the_threshold_and_caches(monkeypatch):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 5))
    assert knn_graph(X, 7, exact_max_items=299, cache=False).method == "pynndescent"
    first = knn_graph(X, 7)
    assert first.method == "exact"
    monkeypatch.setattr(graph_module, "exact_knn", lambda *a, **k: pytest.fail("rebuilt instead of read from disk"))
    again = knn_graph(X, 7)
    np.testing.assert_array_equal(again.indices, first.indices)


def test_feature_graphs_build_each_graph_once(data, monkeypatch):
    _, X, _ = data
    calls = []
    real = graph_module.knn_graph
    monkeypatch.setattr(graph_module, "knn_graph", lambda *a, **k: calls.append(1) or real(*a, **k))
    graphs = FeatureGraphs(X, cache=False)
    for _ in range(3):
        graphs.spreading(0)
        graphs.spreading(1)
    assert len(calls) == 2


def test_feature_graphs_build_side_by_side_once(data, monkeypatch):
    """build() from several threads at once: each modality's graph is built exactly once, all threads see it."""
    import threading

    _, X, _ = data
    calls = []
    real = graph_module.knn_graph
    monkeypatch.setattr(graph_module, "knn_graph", lambda *a, **k: calls.append(1) or real(*a, **k))
    graphs = FeatureGraphs(X, cache=False)
    threads = [threading.Thread(target=graphs.build) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 2
    np.testing.assert_array_equal(graphs.graph(1).indices, exact_knn(X[1], 10).indices)


# ------------------------------------------------------------------------------------------ spreading = scikit-learn


def test_spreading_equals_sklearn_label_spreading_on_the_same_graph(data):
    """Our symmetric kNN graph handed to LabelSpreading (its callable-kernel hook): the same distributions."""
    fs, X, seeds = data
    g = exact_knn(X[0], 10)
    W = g.adjacency()
    y = np.full(fs.n_items, -1)
    y[seeds] = fs.y[seeds]
    model = LabelSpreading(kernel=lambda a, b: W, alpha=0.99, max_iter=30, tol=1e-3).fit(X[0], y)
    F = spread(g.spreading(), one_hot(fs.n_items, seeds, fs.y[seeds], fs.n_classes))
    np.testing.assert_allclose(F, model.label_distributions_, atol=1e-12)
    np.testing.assert_array_equal(np.argmax(F, axis=1), model.transduction_)


@pytest.mark.parametrize("alpha, max_iter", [(0.99, 30), (0.2, 1000), (0.8, 5)])
def test_spreading_equals_sklearn_with_its_own_knn_kernel(data, alpha, max_iter):
    """scikit-learn's own kNN graph (directed, self included) normalised by spreading_matrix: identical."""
    fs, X, seeds = data
    y = np.full(fs.n_items, -1)
    y[seeds] = fs.y[seeds]
    model = LabelSpreading(kernel="knn", n_neighbors=10, alpha=alpha, max_iter=max_iter).fit(X[1], y)
    A = NearestNeighbors(n_neighbors=10).fit(X[1]).kneighbors_graph(X[1], 10, mode="connectivity")
    F = spread(spreading_matrix(A), one_hot(fs.n_items, seeds, fs.y[seeds], fs.n_classes), alpha, max_iter)
    np.testing.assert_allclose(F, model.label_distributions_, atol=1e-12)


def test_spread_many_equals_separate_runs():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 3))
    S = exact_knn(X, 6).spreading()
    Ys = [one_hot(200, rng.choice(200, s, replace=False), rng.integers(0, 3, s), 3) for s in (3, 10, 40)]
    for tol in (1e-3, 1e-1, 5.0):  # blocks stop at different steps
        for a, b in zip(spread_many(S, Ys, tol=tol), [spread(S, Y, tol=tol) for Y in Ys]):
            np.testing.assert_array_equal(a, b)


def test_compiled_and_numpy_spreading_agree(monkeypatch):
    from cmcsl_core.method import spreading

    rng = np.random.default_rng(3)
    S = exact_knn(rng.normal(size=(150, 4)), 5).spreading()
    Ys = [one_hot(150, rng.choice(150, s, replace=False), rng.integers(0, 4, s), 4) for s in (4, 30)]
    monkeypatch.setattr(spreading, "_worth_compiling", lambda *a: True)
    assert spreading._compiled_step() is not None  # numba comes with umap-learn
    compiled = spread_many(S, Ys, tol=0.05)
    monkeypatch.setattr(spreading, "_compiled_step", lambda: None)
    for a, b in zip(compiled, spread_many(S, Ys, tol=0.05)):
        np.testing.assert_allclose(a, b, atol=1e-13)


@pytest.mark.parametrize("unbalanced", [False, True])
def test_ls_and_cm_ls_are_sklearns_label_spreading_by_default(data, unbalanced):
    """The default ls / cm-ls: scikit-learn's distributions and labels on the same graph, seeds balanced or not."""
    fs, X, seeds = data
    if unbalanced:  # one class with three times the labelled items (human labels do this)
        seeds = np.concatenate([seeds, np.flatnonzero(fs.y == 0)[seeds.size : seeds.size + 6]])
    graphs = FeatureGraphs(X, cache=False)
    ls = make_labeler("ls").label(graphs, seeds, fs.y[seeds], fs.n_classes, fs.modality_names)
    cm = make_labeler("cm-ls").label(graphs, seeds, fs.y[seeds], fs.n_classes, fs.modality_names)
    y = np.full(fs.n_items, -1)
    y[seeds] = fs.y[seeds]
    unlabelled = y < 0
    dists = []
    for m in range(2):
        W = graphs.graph(m).adjacency()
        model = LabelSpreading(kernel=lambda a, b, W=W: W, alpha=0.99).fit(X[m], y)
        assert (model.label_distributions_.sum(axis=1) > 0).all()  # every item reached: no fallback involved
        dists.append(model.label_distributions_)
        for r in (ls, cm):
            np.testing.assert_allclose(r.class_scores[m], model.label_distributions_, atol=1e-12)
            np.testing.assert_array_equal(r.labels[m][unlabelled], model.transduction_[unlabelled])
    np.testing.assert_array_equal(cm.final_labels[unlabelled], np.argmax(np.mean(dists, axis=0), axis=1)[unlabelled])


def test_ls_cmn_is_class_balanced_and_class_mass_normalised(data):
    """ls-cmn / cm-ls-cmn: with balanced seeds, scikit-learn's distributions class-mass normalised."""
    fs, X, seeds = data
    graphs = FeatureGraphs(X, cache=False)
    y = np.full(fs.n_items, -1)
    y[seeds] = fs.y[seeds]
    for name in ("ls-cmn", "cm-ls-cmn"):
        r = make_labeler(name).label(graphs, seeds, fs.y[seeds], fs.n_classes, fs.modality_names)
        for m in range(2):
            W = graphs.graph(m).adjacency()
            model = LabelSpreading(kernel=lambda a, b, W=W: W, alpha=0.99).fit(X[m], y)
            np.testing.assert_allclose(r.class_scores[m], class_mass_normalise(model.label_distributions_), atol=1e-12)
    plain = make_labeler("cm-ls").label(graphs, seeds, fs.y[seeds], fs.n_classes)
    assert not np.array_equal(plain.final_labels, r.final_labels)  # the correction changes labels here
    # unbalanced labelled items: the balanced start is the one-hot start weighted mean(n) / n_c per class
    extra = np.concatenate([seeds, np.flatnonzero(fs.y == 0)[seeds.size : seeds.size + 6]])
    labeler = make_labeler("ls-cmn")
    Y = labeler.start(fs.n_items, extra, fs.y[extra], fs.n_classes)
    np.testing.assert_allclose(Y, balanced_one_hot(fs.n_items, extra, fs.y[extra], fs.n_classes))
    assert not np.array_equal(Y, make_labeler("ls").start(fs.n_items, extra, fs.y[extra], fs.n_classes))


def test_class_mass_normalisation():
    F = np.array([[0.6, 0.4], [0.7, 0.3], [0.5, 0.5]])  # every item leans to class 0, item 2 least
    G = class_mass_normalise(F)
    np.testing.assert_allclose(G.sum(axis=1), 1.0)
    assert np.argmax(F, axis=1).tolist() == [0, 0, 0] and np.argmax(G, axis=1).tolist() == [0, 0, 1]


def test_unbalanced_labels_inject_equal_mass_per_class():
    Y = balanced_one_hot(6, np.array([0, 1, 2, 3]), np.array([0, 0, 0, 1]), 2)
    np.testing.assert_allclose(Y[:4].sum(axis=0), [2.0, 2.0])  # 3 items of class 0 and 1 of class 1
    np.testing.assert_array_equal(
        balanced_one_hot(4, np.array([0, 1]), np.array([0, 1]), 2), one_hot(4, [0, 1], [0, 1], 2)
    )


# ------------------------------------------------------------------------------------------ nearest-seed labelers


def test_cmcsl_labeler_is_cross_modal_labels(data):
    fs, X, seeds = data
    result = make_labeler("cmcsl").label(FeatureGraphs(X, cache=False), seeds, fs.y[seeds], fs.n_classes)
    ref = reference_labels(X, seeds, fs.y[seeds])
    np.testing.assert_array_equal(result.final_labels, ref["final_labels"])
    np.testing.assert_array_equal(result.decided_by, ref["decided_by"])
    np.testing.assert_allclose(result.distances, ref["distances"], atol=1e-9)
    # class scores: minus the distance to each class's nearest seed; their argmax is the UNI label
    np.testing.assert_array_equal(np.argmax(result.class_scores, axis=2), result.labels)
    brute = np.stack([[np.min(np.linalg.norm(A[:, None] - A[seeds][fs.y[seeds] == c][None], axis=2), axis=1)
                       for c in range(fs.n_classes)] for A in X]).transpose(0, 2, 1)
    np.testing.assert_allclose(-result.class_scores, brute, atol=1e-6)
    fused = np.sort(brute.min(axis=0), axis=1)
    np.testing.assert_allclose(result.confidence, fused[:, 1] - fused[:, 0], atol=1e-6)


def test_cmcsl_scaled_decides_on_median_scaled_distances(data):
    fs, X, seeds = data
    result = make_labeler("cmcsl-scaled").label(FeatureGraphs(X, cache=False), seeds, fs.y[seeds], fs.n_classes)
    ref = reference_labels(X, seeds, fs.y[seeds])
    non_seed = np.ones(fs.n_items, dtype=bool)
    non_seed[seeds] = False
    scale = np.median(ref["distances"][:, non_seed], axis=1)
    np.testing.assert_allclose(median_scale(ref["distances"], ~non_seed), scale)
    winner = np.argmin(ref["distances"] / scale[:, None], axis=0)
    np.testing.assert_array_equal(result.final_labels, ref["labels"][winner, np.arange(fs.n_items)])
    assert np.any(result.final_labels != ref["final_labels"])  # the scaling changes decisions here


# ------------------------------------------------------------------------------------------ classifier baselines


def test_self_training_is_sklearns_per_modality(data):
    fs, X, seeds = data
    result = make_labeler("self-training").label(FeatureGraphs(X, cache=False), seeds, fs.y[seeds], fs.n_classes)
    y = np.full(fs.n_items, -1)
    y[seeds] = fs.y[seeds]
    for m in range(2):
        model = SelfTrainingClassifier(GaussianNB(), threshold=0.75, max_iter=10).fit(X[m], y)
        assigned = model.transduction_ >= 0
        np.testing.assert_array_equal(result.labels[m][assigned], model.transduction_[assigned])
        rest = ~assigned
        if rest.any():
            np.testing.assert_array_equal(result.labels[m][rest], model.predict(X[m][rest]))
        np.testing.assert_allclose(result.class_scores[m], model.predict_proba(X[m]), atol=1e-12)


def test_co_training_views_label_for_each_other(data):
    fs, X, seeds = data
    graphs = FeatureGraphs(X, cache=False)
    none = make_labeler("co-training", max_rounds=0).label(graphs, seeds, fs.y[seeds], fs.n_classes)
    # no round: each view's GaussianNB on the seeds, probabilities averaged
    probs = [GaussianNB().fit(A[seeds], fs.y[seeds]).predict_proba(A) for A in X]
    expected = np.argmax(np.mean(probs, axis=0), axis=1)
    expected[seeds] = fs.y[seeds]
    np.testing.assert_array_equal(none.final_labels, expected)
    many = make_labeler("co-training", k=5, max_rounds=4).label(graphs, seeds, fs.y[seeds], fs.n_classes)
    assert not np.array_equal(many.final_labels, none.final_labels)


# ------------------------------------------------------------------------------------------ every labeler's rules


@pytest.mark.parametrize("name", LABELER_NAMES)
def test_every_labeler_keeps_the_common_rules(data, name):
    fs, X, seeds = data
    r = make_labeler(name).label(FeatureGraphs(X, cache=False), seeds, fs.y[seeds], fs.n_classes, fs.modality_names)
    n, k = fs.n_items, fs.n_classes
    assert r.labels.shape == (2, n) and r.class_scores.shape == (2, n, k) and r.confidence.shape == (n,)
    np.testing.assert_array_equal(r.final_labels[seeds], fs.y[seeds])
    np.testing.assert_array_equal(r.labels[:, seeds], np.broadcast_to(fs.y[seeds], (2, seeds.size)))
    np.testing.assert_array_equal(r.disagree, r.labels[0] != r.labels[1])
    assert np.all(r.decided_by[~r.disagree] == -1) and np.all(np.isin(r.decided_by[r.disagree], [0, 1]))
    assert np.all(r.confidence >= 0)
    # the nearest seed shown behind a proposal carries the proposed class
    np.testing.assert_array_equal(fs.y[seeds][r.nearest_seed], r.labels)
    assert r.labeler == (name if name != "auto" else r.selection.chosen)
    assert (r.final_labels != fs.y).mean() < 0.5  # better than chance on these blobs


@pytest.mark.parametrize("name", ["cmcsl", "ls", "cm-ls"])
def test_fast_leave_one_out_equals_the_plain_loop(data, name):
    fs, X, seeds = data
    graphs = FeatureGraphs(X, cache=False)
    labeler = make_labeler(name)
    held = np.arange(seeds.size)
    fast = labeler.held_out_labels(graphs, seeds, fs.y[seeds], fs.n_classes, held)
    plain = BaseLabeler.held_out_labels(labeler, graphs, seeds, fs.y[seeds], fs.n_classes, held)
    np.testing.assert_array_equal(fast, plain)


@pytest.mark.parametrize("name", ["ls", "cm-ls", "cmcsl-scaled"])
def test_final_labels_of_many_seed_sets_at_once(data, name):
    fs, X, _ = data
    graphs = FeatureGraphs(X, cache=False)
    sets = [(s, fs.y[s]) for s in (draw_seeds(fs.y, b, 3) for b in (1, 2, 5))]
    labeler = make_labeler(name)
    for got, (s, lab) in zip(labeler.final_labels_many(graphs, sets, fs.n_classes), sets):
        np.testing.assert_array_equal(got, labeler.label(graphs, s, lab, fs.n_classes).final_labels)


# ------------------------------------------------------------------------------------------ auto


def test_auto_falls_back_to_cmcsl_with_one_seed_per_class(data):
    fs, X, _ = data
    seeds = draw_seeds(fs.y, 1, 0)
    r = make_labeler("auto").label(FeatureGraphs(X, cache=False), seeds, fs.y[seeds], fs.n_classes)
    assert r.selection.chosen == "cmcsl" and r.labeler == "cmcsl" and "too little" in r.selection.reason
    assert all(np.isnan(v) for v in r.selection.estimates.values())


def test_auto_picks_spreading_where_the_classes_are_manifolds():
    """Two half-moons per modality: label spreading follows them, the nearest seed cuts across."""
    from sklearn.datasets import make_moons

    X1, y = make_moons(400, noise=0.08, random_state=0)
    X2raw, y2 = make_moons(400, noise=0.08, random_state=1)
    X2 = np.empty_like(X2raw)
    for c in (0, 1):
        X2[y == c] = X2raw[y2 == c]
    seeds = draw_seeds(y, 2, 0)
    graphs = FeatureGraphs([X1, X2], cache=False)
    auto = make_labeler("auto").label(graphs, seeds, y[seeds], 2)
    sel = auto.selection
    assert sel.chosen == "cm-ls-cmn" and auto.labeler == sel.chosen, sel.describe()
    assert sel.estimates[sel.chosen] > sel.estimates["cmcsl"] and sel.n_held_out == 4
    cmcsl = make_labeler("cmcsl").label(graphs, seeds, y[seeds], 2)
    assert np.mean(auto.final_labels == y) > np.mean(cmcsl.final_labels == y) + 0.03


def test_auto_rejects_itself_as_a_candidate(data):
    fs, X, seeds = data
    with pytest.raises(CMCSLError, match="other than auto"):
        AutoLabeler(candidates=("auto",)).select(FeatureGraphs(X, cache=False), seeds, fs.y[seeds], fs.n_classes)


# ------------------------------------------------------------------------------------------ registry and estimator


def test_registry_names():
    assert LABELER_NAMES[0] == "cmcsl" and set(LABELER_INFO) == set(LABELER_NAMES)
    assert check_labeler("CM_LS") == "cm-ls" and labeler_method("cm-ls") == "CM-LS"
    with pytest.raises(CMCSLError, match="unknown labeler 'knn'; choose one of cmcsl"):
        check_labeler("knn")


def test_labelers_are_scikit_learn_estimators(data):
    fs, X, seeds = data
    y = np.full(fs.n_items, -1)
    y[seeds] = fs.y[seeds]
    model = make_labeler("cm-ls", alpha=0.9)
    assert model.get_params() == {"n_neighbors": 10, "alpha": 0.9, "max_iter": 30, "tol": 1e-3, "class_mass": False,
                                  "balanced": False}
    assert make_labeler("cm-ls-cmn").get_params()["class_mass"] is True
    twin = clone(model).fit(X, y)
    np.testing.assert_array_equal(twin.transduction_, model.fit(X, y).transduction_)
    with pytest.raises(CMCSLError, match="alpha"):
        make_labeler("ls", alpha=1.5).fit(X, y)


@pytest.mark.parametrize("name", ["cm-ls", "cmcsl-scaled", "self-training"])
def test_estimator_takes_any_labeler(data, name):
    fs, _, seeds = data
    y = np.full(fs.n_items, -1)
    y[seeds] = fs.y[seeds]
    model = CrossModalSelfLabeling(labeler=name).fit(list(fs.X), y)
    direct = make_labeler(name).label(
        FeatureGraphs(preprocess_features(fs.X, "l2std"), cache=False), seeds, fs.y[seeds], fs.n_classes
    )
    np.testing.assert_array_equal(model.transduction_, direct.final_labels)
    pred = model.predict(list(fs.X))
    assert np.mean(pred == model.transduction_) > 0.8  # new items from the fit, here the same items
    np.testing.assert_allclose(model.predict_proba(list(fs.X)).sum(axis=1), 1.0)
    with pytest.raises(InvalidParameterError, match="'labeler' parameter"):
        CrossModalSelfLabeling(labeler="knn").fit(list(fs.X), y)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["cmcsl-scaled", "ls", "cm-ls"]))
def test_rules_hold_on_random_small_data(seed, name):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(12, 40))
    X = [rng.normal(size=(n, int(rng.integers(1, 5)))) for _ in range(2)]
    y = rng.integers(0, 3, n)
    seeds = rng.choice(n, size=int(rng.integers(1, 6)), replace=False)
    r = make_labeler(name).label(FeatureGraphs(X, k=4, cache=False), np.sort(seeds), y[np.sort(seeds)], 3)
    np.testing.assert_array_equal(r.final_labels[np.sort(seeds)], y[np.sort(seeds)])
    assert set(np.unique(r.final_labels)) <= set(np.unique(y[seeds]))  # never a class without a seed
    assert np.all(np.isfinite(r.class_scores[r.class_scores > -np.inf]))


def test_cross_modal_labels_unchanged_by_the_labelers(data):
    """The paper's function and the labeler agree to the bit on what both report."""
    fs, X, seeds = data
    a = cross_modal_labels(X, seeds, fs.y[seeds])
    b = make_labeler("cmcsl").label(FeatureGraphs(X, cache=False), seeds, fs.y[seeds], fs.n_classes)
    for field in ("labels", "distances", "nearest_seed", "final_labels", "decided_by", "disagree"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert sp.issparse(FeatureGraphs(X, cache=False).spreading(0))
