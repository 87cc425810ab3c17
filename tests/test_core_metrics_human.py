"""CMCSL's modality disagreements vs the annotators' own (``disagreement_agreement``), the CLI's line,
and the app's colour modes for data with human labels per modality.

Every score is checked against a brute-force count over the items, and against scikit-learn's
binary precision/recall/F1.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from helpers_core import synthetic_features
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_recall_fscore_support

from cmcsl_core.cli import main as cli_main
from cmcsl_core.datasets.features import FeatureSet, load_features, save_features
from cmcsl_core.evaluation.metrics import (
    DisagreementAgreement,
    disagreement_agreement,
    human_disagreement,
    human_label_pair,
)
from cmcsl_core.method.labeling import propagate
from cmcsl_core.method.seeds import draw_seeds


def with_human_labels(fs: FeatureSet, seed: int, unknown: float = 0.1, noise: float = 0.4) -> FeatureSet:
    """``fs`` plus per-modality human labels: the true label, flipped at random, ``-1`` at random."""
    rng = np.random.default_rng(seed)
    human = {}
    for name in fs.modality_names:
        lab = np.where(rng.random(fs.n_items) < noise, rng.integers(0, fs.n_classes, fs.n_items), fs.y)
        human[name] = np.where(rng.random(fs.n_items) < unknown, -1, lab).astype(np.int64)
    return dataclasses.replace(fs, modality_labels=human)


def brute_force(result, a, b) -> dict[str, float]:
    """Count item by item, the obvious way."""
    tp = fp = fn = n = flagged = relevant = 0
    for i in range(result.n_items):
        if a[i] < 0 or b[i] < 0 or result.is_seed[i]:
            continue
        n += 1
        f = bool(result.disagree[i])
        r = int(a[i]) != int(b[i])
        flagged += f
        relevant += r
        tp += f and r
        fp += f and not r
        fn += r and not f
    return {"n": n, "flagged": flagged, "relevant": relevant, "tp": tp, "fp": fp, "fn": fn}


def labeled(seed: int, sizes=(40, 30, 35)) -> tuple[FeatureSet, object]:
    fs = with_human_labels(synthetic_features(sizes, dims=(5, 3), separation=0.8, seed=seed), seed)
    seeds = draw_seeds(fs.y, 3, seed)
    return fs, propagate(fs, seeds)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), unknown=st.floats(0.0, 0.5), noise=st.floats(0.0, 1.0))
def test_scores_equal_a_brute_force_count_and_sklearn(seed: int, unknown: float, noise: float) -> None:
    fs = with_human_labels(
        synthetic_features((30, 25, 20), dims=(4, 3), separation=0.7, seed=seed), seed, unknown, noise
    )
    result = propagate(fs, draw_seeds(fs.y, 2, seed))
    a, b = fs.modality_labels["visual"], fs.modality_labels["text"]
    got = disagreement_agreement(result, a, b)
    want = brute_force(result, a, b)
    assert (got.n_items, got.n_cmcsl, got.n_human, got.n_both) == (
        want["n"],
        want["flagged"],
        want["relevant"],
        want["tp"],
    )
    prec = want["tp"] / (want["tp"] + want["fp"]) if want["flagged"] else math.nan
    rec = want["tp"] / (want["tp"] + want["fn"]) if want["relevant"] else math.nan
    assert got.precision == pytest.approx(prec, nan_ok=True)
    assert got.recall == pytest.approx(rec, nan_ok=True)
    assert got.cmcsl_rate == pytest.approx(want["flagged"] / want["n"] if want["n"] else math.nan, nan_ok=True)
    assert got.human_rate == pytest.approx(want["relevant"] / want["n"] if want["n"] else math.nan, nan_ok=True)
    if want["flagged"] and want["relevant"]:
        keep = (a >= 0) & (b >= 0) & ~result.is_seed
        p, r, f, _ = precision_recall_fscore_support(
            (a != b)[keep], result.disagree[keep], average="binary", zero_division=0
        )
        assert (got.precision, got.recall, got.f1) == pytest.approx((p, r, f))


def test_known_small_case_by_hand() -> None:
    fs, result = labeled(3)
    n = fs.n_items
    # annotators disagree exactly where CMCSL does on the first half, never on the second half
    a = np.zeros(n, dtype=np.int64)
    b = np.where(result.disagree & (np.arange(n) < n // 2), 1, 0)
    got = disagreement_agreement(result, a, b)
    flagged = result.disagree & ~result.is_seed
    assert got.n_both == got.n_human == int(flagged[: n // 2].sum())
    assert got.precision == pytest.approx(flagged[: n // 2].sum() / flagged.sum())
    assert got.recall == 1.0
    assert got.lift == pytest.approx(got.precision / got.human_rate)


def test_seeds_and_unknown_labels_are_left_out() -> None:
    fs, result = labeled(5)
    a, b = fs.modality_labels["visual"].copy(), fs.modality_labels["text"].copy()
    a[:10] = -1
    got = disagreement_agreement(result, a, b)
    assert got.n_items == int(np.sum((a >= 0) & (b >= 0) & ~result.is_seed))
    assert not np.any(result.disagree[result.is_seed])  # a seed is its own nearest seed in every modality


def test_undefined_scores_are_nan_not_an_error() -> None:
    fs, result = labeled(1)
    same = np.zeros(fs.n_items, dtype=np.int64)
    got = disagreement_agreement(result, same, same)  # annotators never disagree
    assert got.n_human == 0 and math.isnan(got.recall) and math.isnan(got.f1)
    assert got.n_cmcsl > 0 and got.precision == 0.0 and got.n_both == 0
    with pytest.raises(ValueError, match="human labels per modality"):
        disagreement_agreement(result, same[:-1], same)


def test_human_disagreement_uses_the_first_two_labelled_modalities() -> None:
    fs, result = labeled(2)
    assert human_label_pair(fs) == ("visual", "text")
    got = human_disagreement(fs, result)
    assert got == disagreement_agreement(result, fs.modality_labels["visual"], fs.modality_labels["text"])
    bare = dataclasses.replace(fs, modality_labels=None)
    assert human_label_pair(bare) is None and human_disagreement(bare, result) is None
    one = dataclasses.replace(fs, modality_labels={"text": fs.modality_labels["text"]})
    assert human_disagreement(one, result) is None


def test_cli_label_prints_the_same_scores(tmp_path, capsys) -> None:
    fs, _ = labeled(7)
    path = save_features(fs, tmp_path / "human.npz")
    assert (
        cli_main(["label", "--features", str(path), "--b-class", "3", "--seed", "7", "--out", str(tmp_path / "l.csv")])
        == 0
    )
    out = capsys.readouterr().out
    back = load_features(path)
    want = human_disagreement(back, propagate(back, draw_seeds(back.y, 3, 7)))
    assert isinstance(want, DisagreementAgreement)
    assert f"vs the human labels (labels_visual != labels_text): {want.describe()}" in out
    assert f"precision {want.precision:.4f}, recall {want.recall:.4f}" in out


def test_cli_label_without_human_labels_prints_no_such_line(tmp_path, capsys) -> None:
    fs = synthetic_features((20, 20), dims=(3, 3), seed=1)
    path = save_features(fs, tmp_path / "plain.npz")
    assert cli_main(["label", "--features", str(path), "--b-class", "2", "--out", str(tmp_path / "l.csv")]) == 0
    assert "human labels" not in capsys.readouterr().out


def test_colour_modes_for_human_labels() -> None:
    from cmcsl_studio_ui.figures import COLOR_MODES, HUMAN_COLOR_MODES, color_modes, coloring

    fs, result = labeled(4)
    assert set(color_modes(fs)) == set(COLOR_MODES) | set(HUMAN_COLOR_MODES)
    assert set(color_modes(dataclasses.replace(fs, modality_labels=None))) == set(COLOR_MODES)
    a, b = fs.modality_labels["visual"], fs.modality_labels["text"]
    col = coloring("human_disagree", fs, result, 0)
    for i in range(fs.n_items):
        want = 2 if a[i] < 0 or b[i] < 0 else int(a[i] != b[i])
        assert col.codes[i] == want
    assert len(col.names) == len(col.colors) == 3
    for m, name in enumerate(fs.modality_names):
        own = coloring("human", fs, result, m)
        lab = fs.modality_labels[name]
        assert np.array_equal(own.codes, np.where(lab < 0, fs.n_classes, lab))
        assert len(own.names) == len(own.colors) == fs.n_classes + 1
