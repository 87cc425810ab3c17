"""Late fusion: hand-computed DRA/MLA weights, the rules, and weights that never see test labels."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.metrics import f1_score

from cmcsl_core.errors import CMCSLError
from cmcsl_core.evaluation.fusion import (
    FusionWeights,
    detection_rates,
    dra_weights,
    fuse,
    macro_f1,
    mla_weights,
    validation_split,
    weighted_f1,
)
from cmcsl_core.evaluation.fusion_study import (
    FusionStudyConfig,
    fusion_splits,
    parse_split,
    run_fusion_study,
    stratified_three_way,
)
from tests.helpers_core import synthetic_features

# 6 validation items, 3 classes; modality 0 predicts [0, 0, 1, 1, 1, 2], modality 1 predicts [0, 1, 1, 2, 2, 2]
Y_VAL = np.array([0, 0, 1, 1, 2, 2])
PRED = [np.array([0, 0, 1, 1, 1, 2]), np.array([0, 1, 1, 2, 2, 2])]


def _onehot(pred, k=3, p=0.8):
    P = np.full((pred.size, k), (1 - p) / (k - 1))
    P[np.arange(pred.size), pred] = p
    return P


def test_dra_weights_by_hand():
    probas = [_onehot(p) for p in PRED]
    # recall per class: modality 0: class0 2/2, class1 2/2, class2 1/2; modality 1: 1/2, 1/2, 2/2
    dr = detection_rates(Y_VAL, probas, 3)
    assert np.allclose(dr, [[1.0, 1.0, 0.5], [0.5, 0.5, 1.0]])
    w = dra_weights(Y_VAL, probas, 3)
    # 1 - DR = [0, 0, .5] -> [0, 0, 1]; [.5, .5, 0] -> [.5, .5, 0]
    assert np.allclose(w.weights, [[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
    # alpha = class share (1/3 each): [1/3, 1/3, 5/6] / (3/2); [5/6, 5/6, 1/3] / 2
    wp = dra_weights(Y_VAL, probas, 3, alpha="prior")
    assert np.allclose(wp.weights, [[2 / 9, 2 / 9, 5 / 9], [5 / 12, 5 / 12, 1 / 6]])
    fused = fuse(probas, w)
    expected = probas[0] * [0.0, 0.0, 1.0] + probas[1] * [0.5, 0.5, 0.0]
    assert np.allclose(fused, expected)


def test_mla_weights_by_hand():
    probas = [_onehot(p) for p in PRED]
    w = mla_weights(Y_VAL, probas, 3)  # accuracies 5/6 and 4/6
    assert np.allclose(w.weights, [5 / 9, 4 / 9])
    assert np.allclose(fuse(probas, w), 5 / 9 * probas[0] + 4 / 9 * probas[1])
    f = mla_weights(Y_VAL, probas, 3, metric="f1")
    f1s = [f1_score(Y_VAL, p, average="macro") for p in PRED]
    assert np.allclose(f.weights, np.array(f1s) / sum(f1s))


def test_mean_max_and_f1_against_sklearn():
    rng = np.random.default_rng(0)
    probas = [rng.dirichlet(np.ones(4), size=30) for _ in range(3)]
    assert np.allclose(fuse(probas, FusionWeights("MEAN")), np.mean(probas, axis=0))
    assert np.allclose(fuse(probas, FusionWeights("MAX")), np.max(probas, axis=0))
    yt, yp = rng.integers(0, 4, 50), rng.integers(0, 4, 50)
    assert macro_f1(yt, yp, 4) == pytest.approx(f1_score(yt, yp, average="macro"))
    assert weighted_f1(yt, yp, 4) == pytest.approx(f1_score(yt, yp, average="weighted"))
    with pytest.raises(CMCSLError):
        fuse(probas, FusionWeights("DRA"))


def test_validation_split_is_stratified_and_disjoint():
    y = np.repeat([0, 1, 2], [50, 20, 5])
    fit, val = validation_split(y, (1, 2))
    assert np.intersect1d(fit, val).size == 0 and fit.size + val.size == y.size
    assert np.bincount(y[val]).tolist() == [10, 4, 1]


def test_three_way_split_and_parse():
    assert parse_split("8:1:1") == pytest.approx((0.8, 0.1, 0.1))
    with pytest.raises(CMCSLError):
        parse_split("8:2")
    y = np.repeat([0, 1], [100, 40])
    tr, va, te = stratified_three_way(y, (0.8, 0.1, 0.1), 0)
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(140))
    assert np.bincount(y[te]).tolist() == [10, 4]


@pytest.mark.parametrize("classifier", ["gnb", "lr"])
def test_weights_and_predictions_never_see_test_labels(classifier):
    fs = synthetic_features((60, 50, 40), (6, 4), separation=0.6, seed=1)
    config = FusionStudyConfig(repeats=2, classifier=classifier)
    splits = fusion_splits(fs, config)
    for split in splits:  # one repeat at a time: a test item of one repeat trains in another
        clean = run_fusion_study(fs, config, splits=[split])
        y = fs.y.copy()
        te = split[2]
        y[te] = (fs.y[te] + 1) % fs.n_classes  # every test label wrong
        dirty = run_fusion_study(dataclasses.replace(fs, y=y), config, splits=[split])
        wa, wb, pa, pb = clean.weights[0], dirty.weights[0], clean.predictions[0], dirty.predictions[0]
        for rule in wa:
            for x, z in ((wa[rule].weights, wb[rule].weights), (wa[rule].scores, wb[rule].scores)):
                assert (x is None and z is None) or np.array_equal(x, z)
        for model in pa:
            assert np.array_equal(pa[model], pb[model])
        # the poison did reach the scores (so the comparison above is not vacuous)
        assert clean.frame["accuracy"].mean() > 0.5 > dirty.frame["accuracy"].mean()


def test_poisoning_validation_labels_changes_weights():
    """The counterpart: the weights do depend on the validation labels (the test above can fail)."""
    fs = synthetic_features((60, 50, 40), (6, 4), separation=0.6, seed=1)
    config = FusionStudyConfig(repeats=1, classifier="gnb")
    splits = fusion_splits(fs, config)
    y = fs.y.copy()
    va = splits[0][1]
    y[va] = (fs.y[va] + 1) % fs.n_classes
    a = run_fusion_study(fs, config, splits=splits).weights[0]
    b = run_fusion_study(dataclasses.replace(fs, y=y), config, splits=splits).weights[0]
    assert not np.array_equal(a["DRA"].weights, b["DRA"].weights)
    assert not np.array_equal(a["MLA"].weights, b["MLA"].weights)


FUSION_METHODS = ("LF", "LF-MEAN", "LF-MAX", "LF-DRA", "LF-MLA", "CMCSL-MEAN", "CMCSL-MAX", "CMCSL-DRA", "CMCSL-MLA")


def test_curve_fusion_methods_rows():
    from cmcsl_core.constants import FUSED
    from cmcsl_core.evaluation.curve import run_curve

    fs = synthetic_features((40, 30, 35), (5, 4), separation=0.8, seed=2)
    result = run_curve(fs, methods=FUSION_METHODS, b_values=(1, 3), repeats=1)
    f = result.frame
    assert set(f["method"]) == set(FUSION_METHODS) and set(f["modality"]) == {FUSED}
    assert len(f) == len(FUSION_METHODS) * 2 * 2  # methods x b x folds
    lf = f[f["method"].str.startswith("LF")].pivot_table(index=["method", "fold"], columns="b_class", values="bac")
    assert np.allclose(lf[1], lf[3])  # true-label fusion does not depend on b
    by = f.set_index(["method", "b_class", "fold"])["bac"]
    assert np.allclose(by.loc["LF"], by.loc["LF-MEAN"])  # LF has always been the mean rule
    assert "CMCSL" not in set(f["method"])  # CMCSL-* need CMCSL's labels but do not add its rows


@pytest.mark.parametrize("classifier", ["gnb", "lr"])
def test_curve_fusion_never_sees_test_labels(monkeypatch, classifier):
    """Poison the test fold's labels: every fused prediction stays the same (only the scores change)."""
    from cmcsl_core.evaluation import folds
    from cmcsl_core.evaluation.config import CurveConfig
    from cmcsl_core.evaluation.splits import cv_splits

    fs = synthetic_features((40, 30, 35), (5, 4), separation=0.8, seed=3)
    config = CurveConfig(methods=FUSION_METHODS[1:], classifier=classifier, b_values=(2, 4), repeats=1).validated()
    train, test = cv_splits(fs.y, 1)[0]
    seen: list[np.ndarray] = []
    monkeypatch.setattr(folds.Fold, "score", lambda self, pred: seen.append(np.array(pred)) or 0.0)

    def predictions(data):
        seen.clear()
        folds.evaluate_fold(data, 0, train, test, config)
        return list(seen)

    clean = predictions(fs)
    y = fs.y.copy()
    y[test] = (y[test] + 1) % fs.n_classes
    dirty = predictions(dataclasses.replace(fs, y=y))
    assert len(clean) == len(dirty) == 4 + 4 * 2
    for a, b in zip(clean, dirty):
        assert np.array_equal(a, b)


@pytest.mark.parametrize(
    "config",
    [
        FusionStudyConfig(),
        FusionStudyConfig(split=(7, 1, 2), repeats=3, classifier="gnb", preprocessing="std", random_state=7,
                          alpha="prior", mla_metric="f1", f1_average="macro"),
        FusionStudyConfig(split=(0.6, 0.2, 0.2), repeats=1, classifier="cart"),
    ],
)
def test_fusion_config_command_round_trips_through_the_cli(config: FusionStudyConfig) -> None:
    """The line ``command()`` renders parses back (through the real CLI parser) into the same config."""
    import shlex

    from cmcsl_core.cli import build_parser
    from cmcsl_core.evaluation.fusion_study import parse_split

    line = config.command("my features.npz", "out dir/fusion.csv")
    argv = shlex.split(line)
    assert argv[:4] == ["python", "-m", "cmcsl_core", "fusion"]
    args = build_parser().parse_args(argv[3:])
    assert (args.features, args.out) == ("my features.npz", "out dir/fusion.csv")
    parsed = FusionStudyConfig(
        split=parse_split(args.split), repeats=args.repeats, classifier=args.classifier,
        preprocessing=args.preprocessing, random_state=args.seed, alpha=args.alpha,
        mla_metric=args.mla_metric, f1_average=args.f1,
    ).validated()
    assert parsed == config.validated()


def test_fusion_command_refuses_class_weights_it_cannot_express() -> None:
    with pytest.raises(CMCSLError, match="class_weights"):
        FusionStudyConfig(class_weights="pseudo").command("f.npz")
