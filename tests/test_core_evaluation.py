"""cmcsl_core.evaluation.curve.run_curve: shape, reproducibility, a plain scikit-learn reference, leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers_core import sklearn_preprocessor, synthetic_features, weights_from
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, pairwise_distances
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

import cmcsl_core.evaluation.folds as evaluation
from cmcsl_core.errors import CMCSLError
from cmcsl_core.evaluation.config import CurveConfig
from cmcsl_core.evaluation.curve import METHODS, check_methods, cv_splits, run_curve
from cmcsl_core.method.preprocessing import l2_normalize
from cmcsl_core.method.seeds import seed_order

FS = synthetic_features(class_sizes=(50, 30, 40), dims=(6, 4), seed=1)
ALL = ("FULL", "PRE", "UNI", "CMCSL", "EF", "LF")

CLASSIFIERS = {
    "gnb": GaussianNB(),
    "lr": LogisticRegression(random_state=1410, max_iter=5000),
    "cart": DecisionTreeClassifier(random_state=1410),
}


def reference_fold(fs, fold_id, b, b_max, repeats, random_state, preprocessing, classifier, class_weights):
    """Slow but plain: every BAC of one fold and one b_class, with scikit-learn throughout."""
    train, test = cv_splits(fs.y, repeats, random_state)[fold_id]
    k = fs.n_classes
    y_tr, y_te = fs.y[train], fs.y[test]
    Xtr, Xte = [], []
    for X in fs.X:
        scaler = sklearn_preprocessor(preprocessing).fit(X[train])
        Xtr.append(scaler.transform(X[train]))
        Xte.append(scaler.transform(X[test]))

    def weights(labels):
        if class_weights == "none":
            return np.ones(labels.size)
        w = weights_from(labels, labels if class_weights == "pseudo" else y_tr, k)
        return w if w.sum() > 0 else np.ones(labels.size)

    def fit(X, labels):
        return clone(CLASSIFIERS[classifier]).fit(X, labels, sample_weight=weights(labels))

    def proba(clf, X):
        out = np.zeros((X.shape[0], k))
        out[:, clf.classes_] = clf.predict_proba(X)
        return out

    def bac(pred):
        return balanced_accuracy_score(y_te, pred)

    order = seed_order(y_tr, b_max, (random_state, fold_id), n_classes=k)
    seeds = np.sort(order[:, :b].ravel())
    seed_labels = y_tr[seeds]
    out = {}
    uni, dist = [], []
    for m, name in enumerate(fs.modality_names):
        out[("FULL", name)] = bac(fit(Xtr[m], y_tr).predict(Xte[m]))
        out[("PRE", name)] = bac(fit(Xtr[m][seeds], seed_labels).predict(Xte[m]))
        D = pairwise_distances(Xtr[m], Xtr[m][seeds])
        near = np.argmin(D, axis=1)
        lab, d = seed_labels[near], D[np.arange(D.shape[0]), near]
        lab[seeds], d[seeds] = seed_labels, 0.0
        uni.append(lab)
        dist.append(d)
        out[("UNI", name)] = bac(fit(Xtr[m], lab).predict(Xte[m]))
    uni, dist = np.array(uni), np.array(dist)
    cross = uni[np.argmin(dist, axis=0), np.arange(uni.shape[1])]
    for m, name in enumerate(fs.modality_names):
        out[("CMCSL", name)] = bac(fit(Xtr[m], cross).predict(Xte[m]))
    ef = fit(np.hstack(Xtr), y_tr)
    out[("EF", "fused")] = bac(np.argmax(proba(ef, np.hstack(Xte)), axis=1))
    support = np.mean([proba(fit(a, y_tr), t) for a, t in zip(Xtr, Xte)], axis=0)
    out[("LF", "fused")] = bac(np.argmax(support, axis=1))
    return out


def _check_against_reference(frame, fs, folds, b_values, repeats, rs, prep, clf, cw, methods=ALL):
    checked = 0
    for fold_id in folds:
        for b in b_values:
            ref = reference_fold(fs, fold_id, b, max(b_values), repeats, rs, prep, clf, cw)
            for (method, modality), value in ref.items():
                if method not in methods:
                    continue
                sel = frame[
                    (frame.method == method)
                    & (frame.modality == modality)
                    & (frame.b_class == b)
                    & (frame.fold == fold_id)
                ]
                assert len(sel) == 1, (method, modality, b, fold_id)
                assert sel.bac.iloc[0] == pytest.approx(value, abs=1e-12), (method, modality, b, fold_id)
                checked += 1
    return checked


@pytest.fixture(scope="module")
def full_curve():
    return run_curve(FS, methods=ALL, b_values=[1, 3, 5], repeats=5, random_state=1410)


def test_frame_shape_and_columns(full_curve):
    frame = full_curve.frame
    assert list(frame.columns) == ["method", "modality", "b_class", "fold", "bac"]
    n_b, n_folds = 3, 10
    # per-modality methods: 4 x 2 modalities; fused: EF, LF
    assert len(frame) == (4 * 2 + 2) * n_b * n_folds
    assert list(frame.method.unique()) == [m for m in METHODS if m in ALL]  # display order
    counts = frame.groupby(["method", "modality"]).size()
    for method in ("FULL", "PRE", "UNI", "CMCSL"):
        for modality in ("visual", "text"):
            assert counts[(method, modality)] == n_b * n_folds
    assert counts[("EF", "fused")] == counts[("LF", "fused")] == n_b * n_folds
    assert set(frame[frame.method.isin(["EF", "LF"])].modality) == {"fused"}
    assert sorted(frame.fold.unique()) == list(range(10))
    assert sorted(frame.b_class.unique()) == [1, 3, 5]
    assert frame.bac.between(0, 1).all()
    # FULL, EF and LF do not depend on b: the same value repeated for every b_class
    for method in ("FULL", "EF", "LF"):
        wide = frame[frame.method == method].pivot_table(index=["modality", "fold"], columns="b_class", values="bac")
        assert np.all(wide.to_numpy() == wide.to_numpy()[:, :1])
    # seeded methods do depend on b somewhere
    pre = frame[frame.method == "PRE"].pivot_table(index=["modality", "fold"], columns="b_class", values="bac")
    assert not np.all(pre.to_numpy() == pre.to_numpy()[:, :1])
    # helpers on the result
    assert list(full_curve.overall().columns) == list(ALL)
    assert list(full_curve.summary().columns) == ["method", "modality", "b_class", "mean", "std"]
    assert full_curve.config.methods == ALL


def test_reproducible(full_curve):
    again = run_curve(FS, methods=ALL, b_values=[1, 3, 5], repeats=5, random_state=1410)
    pd.testing.assert_frame_equal(again.frame, full_curve.frame)
    other = run_curve(FS, methods=("PRE",), b_values=[1, 3, 5], repeats=5, random_state=7)
    mine = full_curve.frame[full_curve.frame.method == "PRE"].reset_index(drop=True)
    assert not np.array_equal(other.frame.bac.to_numpy(), mine.bac.to_numpy())


def test_matches_plain_sklearn_reference(full_curve):
    n = _check_against_reference(full_curve.frame, FS, [0, 3, 8], [1, 3, 5], 5, 1410, "l2std", "gnb", "pseudo")
    assert n == 3 * 3 * (4 * 2 + 2)


@pytest.mark.parametrize("class_weights", ["oracle", "none"])
@pytest.mark.parametrize("preprocessing", ["std", "minmax"])
def test_class_weights_and_preprocessing_variants_match_reference(class_weights, preprocessing):
    fs = synthetic_features(class_sizes=(40, 16, 30), dims=(5, 3), seed=4)  # imbalanced: weights matter
    res = run_curve(fs, methods=ALL, preprocessing=preprocessing, b_values=[2, 4], repeats=2,
                    random_state=3, class_weights=class_weights)
    _check_against_reference(res.frame, fs, [0, 3], [2, 4], 2, 3, preprocessing, "gnb", class_weights)


def test_class_weight_schemes_differ():
    fs = synthetic_features(class_sizes=(60, 12, 30), dims=(5, 3), seed=4)
    frames = {
        cw: run_curve(fs, methods=("FULL", "PRE", "CMCSL"), b_values=[2], repeats=2, class_weights=cw).frame
        for cw in ("pseudo", "oracle", "none")
    }
    assert not frames["oracle"].bac.equals(frames["none"].bac)
    assert not frames["oracle"].bac.equals(frames["pseudo"].bac)


@pytest.mark.parametrize("classifier", ["lr", "cart"])
def test_lr_and_cart_match_reference(classifier):
    fs = synthetic_features(class_sizes=(24, 20), dims=(3, 2), seed=2)
    res = run_curve(fs, methods=ALL, classifier=classifier, preprocessing="raw", b_values=[2], repeats=1)
    assert len(res.frame) == (4 * 2 + 2) * 2
    _check_against_reference(res.frame, fs, [0, 1], [2], 1, 1410, "raw", classifier, "pseudo")


def test_n_jobs_2_equals_n_jobs_1():
    kwargs = dict(methods=("FULL", "PRE", "CMCSL", "LF"), b_values=[1, 2], repeats=2)
    one = run_curve(FS, n_jobs=1, **kwargs)
    two = run_curve(FS, n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(one.frame, two.frame)


def test_progress_reaches_total():
    calls = []
    run_curve(FS, methods=("UNI",), b_values=[1, 2, 4], repeats=2, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 12) and calls[-1] == (12, 12)
    assert all(t == 12 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


@pytest.mark.parametrize("preprocessing", ["std", "minmax", "l2std"])
def test_preprocessing_is_fitted_on_training_rows_only(monkeypatch, preprocessing):
    """Spy on fit_preprocessor: every fit sees exactly one training fold's rows, never a test row."""
    fs = synthetic_features(class_sizes=(30, 30), dims=(4, 3), seed=6)
    # a marker column: the item index, so the rows a fit sees can be identified
    X = tuple(np.hstack([x, np.arange(fs.n_items)[:, None] + 1.0]) for x in fs.X)
    fs = type(fs)(modality_names=fs.modality_names, X=X, y=fs.y, class_names=fs.class_names)
    # l2 is row-wise (done once before the folds); the fitted column step must see training rows only
    rows_in = [l2_normalize(x) if preprocessing == "l2std" else x for x in X]
    seen = []
    real = evaluation.fit_preprocessor

    def spy(Xfit, name):
        seen.append(np.array(Xfit, copy=True))
        return real(Xfit, name)

    monkeypatch.setattr(evaluation, "fit_preprocessor", spy)
    run_curve(
        fs, methods=ALL, preprocessing=preprocessing, b_values=[1], repeats=2, random_state=5, n_jobs=1
    )  # in order
    splits = cv_splits(fs.y, 2, 5)
    assert len(seen) == len(splits) * fs.n_modalities
    for i, fitted_on in enumerate(seen):
        train, test = splits[i // fs.n_modalities]
        m = i % fs.n_modalities
        np.testing.assert_array_equal(fitted_on, rows_in[m][train])
        if preprocessing != "l2std":
            markers = set(fitted_on[:, -1].astype(int) - 1)
            assert markers == set(train) and not markers & set(test)


def test_impossible_b_class():
    fs = synthetic_features(class_sizes=(40, 9), seed=3)  # a training fold holds 4 or 5 of class 1
    with pytest.raises(CMCSLError, match=r"b_class=6 is impossible: class 'class 1' has only 4 item\(s\)"):
        run_curve(fs, b_values=[1, 6], repeats=2)
    # FULL/EF/LF need no seeds: any b is fine for them
    res = run_curve(fs, methods=("FULL", "EF"), b_values=[30], repeats=1)
    assert set(res.frame.b_class) == {30}


def test_bad_arguments():
    with pytest.raises(CMCSLError, match="unknown method 'FOO'"):
        run_curve(FS, methods="PRE,FOO")
    with pytest.raises(CMCSLError, match="no method"):
        run_curve(FS, methods="")
    with pytest.raises(CMCSLError, match="unknown classifier"):
        run_curve(FS, classifier="svm")
    with pytest.raises(CMCSLError, match="unknown preprocessing"):
        run_curve(FS, preprocessing="pca")
    with pytest.raises(CMCSLError, match="unknown class weights"):
        run_curve(FS, class_weights="balanced")
    with pytest.raises(CMCSLError, match="b_class values"):
        run_curve(FS, b_values=[0, 1])
    with pytest.raises(CMCSLError, match="b_class values"):
        run_curve(FS, b_values=[])
    with pytest.raises(CMCSLError, match="repeats"):
        run_curve(FS, repeats=0)
    with pytest.raises(CMCSLError, match="jobs"):
        run_curve(FS, n_jobs=0)
    tiny = synthetic_features(class_sizes=(10, 1, 5), seed=0)
    with pytest.raises(CMCSLError, match="at least 2 items"):
        run_curve(tiny, b_values=[1])


def test_check_methods_order_and_aliases():
    assert check_methods("cmcsl, pre,UNI") == ("PRE", "UNI", "CMCSL")
    assert check_methods(["LF", "FULL", "LF"]) == ("FULL", "LF")


def test_to_csv_round_trip(tmp_path, full_curve):
    path = full_curve.to_csv(tmp_path / "curve.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == ["method", "modality", "b_class", "fold", "bac"]
    np.testing.assert_allclose(back.bac, full_curve.frame.bac, atol=1e-6)
    assert path.read_bytes() == full_curve.csv_bytes()


def test_summary_and_overall_equal_plain_loops(full_curve):
    frame = full_curve.frame
    summary = full_curve.summary()
    overall = full_curve.overall()
    for method in ALL:
        for modality in frame[frame.method == method].modality.unique():
            rows = frame[(frame.method == method) & (frame.modality == modality)]
            assert overall.loc[modality, method] == pytest.approx(float(np.mean(rows.bac.to_numpy())), abs=1e-12)
            for b in (1, 3, 5):
                scores = rows[rows.b_class == b].bac.to_numpy()
                got = summary[(summary.method == method) & (summary.modality == modality) & (summary.b_class == b)]
                assert len(got) == 1 and len(scores) == 10
                assert got["mean"].iloc[0] == pytest.approx(scores.mean(), abs=1e-12)
                assert got["std"].iloc[0] == pytest.approx(scores.std(ddof=1), abs=1e-12)
    assert list(overall.columns) == list(ALL)  # display order
    assert np.isnan(overall.loc["fused", "PRE"]) and np.isnan(overall.loc["visual", "EF"])


def test_config_and_keyword_forms_agree():
    config = CurveConfig(methods=("PRE", "CMCSL"), b_values=(2, 1), repeats=2, random_state=9)
    by_config = run_curve(FS, config)
    by_fields = run_curve(FS, methods="cmcsl,pre", b_values=range(1, 3), repeats=2, random_state=9)
    pd.testing.assert_frame_equal(by_config.frame, by_fields.frame)
    assert by_config.config == by_fields.config == config.validated()
    assert by_config.config.b_values == (1, 2)


def test_default_pairs_know_the_fusion_methods() -> None:
    """CMCSL first among the per-modality methods; each CMCSL fusion against the late fusion by the same rule."""
    from cmcsl_core.evaluation.stats import default_pairs

    assert default_pairs(["PRE", "UNI", "CMCSL"]) == [("CMCSL", "UNI"), ("CMCSL", "PRE"), ("UNI", "PRE")]
    fused = ["EF", "LF", "LF-MEAN", "LF-MLA", "LF-DRA", "CMCSL-MLA", "CMCSL-DRA", "CMCSL-MAX"]
    pairs = default_pairs(fused)
    assert pairs[:3] == [("EF", "LF"), ("CMCSL-MLA", "LF-MLA"), ("CMCSL-DRA", "LF-DRA")]
    assert ("CMCSL-MAX", "LF-MAX") not in pairs  # LF-MAX was not computed
    assert ("CMCSL-MLA", "CMCSL-DRA") in pairs and ("LF-MLA", "LF-DRA") in pairs
    assert all(a in fused and b in fused and a != b for a, b in pairs)
    assert len(pairs) == len(set(pairs))
