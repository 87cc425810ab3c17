"""cmcsl_core.evaluation.stats: 5x2 CV F-test by hand, Wilcoxon vs SciPy, average ranks, curve statistics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cmcsl_core.errors import CMCSLError
from cmcsl_core.evaluation.stats import (
    average_ranks,
    average_ranks_over_b,
    curve_statistics,
    default_pairs,
    f_test_5x2,
    wilcoxon_over_b,
    wilcoxon_test,
)


def alpaydin(a, b):
    """Alpaydin (1999) by hand: F = sum_i sum_j p_ij^2 / (2 sum_i s_i^2), F(10, 5) under H0."""
    num, den = 0.0, 0.0
    for i in range(5):
        p1 = a[2 * i] - b[2 * i]
        p2 = a[2 * i + 1] - b[2 * i + 1]
        mean = (p1 + p2) / 2
        den += (p1 - mean) ** 2 + (p2 - mean) ** 2
        num += p1 * p1 + p2 * p2
    f = num / (2 * den)
    return f, 1.0 - sps.f.cdf(f, 10, 5)


@pytest.mark.parametrize("seed", range(5))
def test_f_test_5x2_equals_hand_computation(seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.6, 0.8, size=10)
    b = a - rng.normal(0.02 * seed, 0.02, size=10)
    res = f_test_5x2(a, b)
    f, p = alpaydin(a, b)
    assert res.statistic == pytest.approx(f, rel=1e-12)
    assert res.p_value == pytest.approx(p, rel=1e-9, abs=1e-15)
    assert 0.0 <= res.p_value <= 1.0
    # symmetric in its arguments
    assert f_test_5x2(b, a).statistic == pytest.approx(f, rel=1e-12)


def test_f_test_known_value():
    a = [0.9, 0.8] * 5
    b = [0.8, 0.8] * 5
    # p_i = (0.1, 0), s_i^2 = 0.005, num = 5 * 0.01 = 0.05, den = 2 * 5 * 0.005 = 0.05 -> F = 1
    res = f_test_5x2(a, b)
    assert res.statistic == pytest.approx(1.0)
    assert res.p_value == pytest.approx(sps.f.sf(1.0, 10, 5))


def test_f_test_edge_cases():
    same = [0.7, 0.71, 0.69, 0.72, 0.7, 0.7, 0.68, 0.73, 0.7, 0.71]
    res = f_test_5x2(same, same)
    assert (res.statistic, res.p_value) == (0.0, 1.0)
    # constant non-zero differences within every repeat: s_i^2 = 0 -> infinitely significant
    res = f_test_5x2([0.8] * 10, [0.7] * 10)
    assert math.isinf(res.statistic) and res.p_value == 0.0
    with pytest.raises(CMCSLError, match="even number"):
        f_test_5x2([0.1, 0.2, 0.3], [0.1, 0.2, 0.3])
    with pytest.raises(CMCSLError):
        f_test_5x2([], [])
    # other repeat counts: F(2r, r)
    rng = np.random.default_rng(1)
    a, b = rng.random(6), rng.random(6)
    res = f_test_5x2(a, b)
    p = (a - b).reshape(3, 2)
    s2 = ((p - p.mean(axis=1, keepdims=True)) ** 2).sum()
    f = (p**2).sum() / (2 * s2)
    assert res.statistic == pytest.approx(f) and res.p_value == pytest.approx(sps.f.sf(f, 6, 3))


@pytest.mark.parametrize("seed", range(4))
def test_wilcoxon_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    a = rng.random(20)
    b = a + rng.normal(0.05 * seed, 0.1, size=20)
    res = wilcoxon_test(a, b)
    ref = sps.wilcoxon(a, b)
    assert res.statistic == pytest.approx(float(ref.statistic))
    assert res.p_value == pytest.approx(float(ref.pvalue))


def test_wilcoxon_edge_cases():
    res = wilcoxon_test([0.5, 0.6], [0.5, 0.6])
    assert (res.statistic, res.p_value) == (0.0, 1.0)
    with pytest.raises(CMCSLError):
        wilcoxon_test([0.1, 0.2], [0.1])
    with pytest.raises(CMCSLError):
        wilcoxon_test([], [])


def test_average_ranks_with_ties():
    table = pd.DataFrame(
        {"A": [0.9, 0.5, 0.7], "B": [0.8, 0.5, 0.9], "C": [0.8, 0.6, 0.1]},
        index=["d1", "d2", "d3"],
    )
    # d1: A 1, B 2.5, C 2.5; d2: A 2.5, B 2.5, C 1; d3: A 2, B 1, C 3
    ranks = average_ranks(table)
    assert list(ranks.index) == ["A", "B", "C"]
    np.testing.assert_allclose(ranks.to_numpy(), [(1 + 2.5 + 2) / 3, (2.5 + 2.5 + 1) / 3, (2.5 + 1 + 3) / 3])
    assert ranks.sum() == pytest.approx(6.0)  # 1 + 2 + 3 per row


def _frame(means: dict[str, float], b_values=(1, 2, 3), seed=0, noise=0.01):
    rng = np.random.default_rng(seed)
    rows = []
    for method, mean in means.items():
        for b in b_values:
            for fold in range(10):
                rows.append((method, "visual", b, fold, mean + rng.normal(0, noise)))
                rows.append((method, "text", b, fold, 0.5 + rng.normal(0, noise)))
    return pd.DataFrame(rows, columns=["method", "modality", "b_class", "fold", "bac"])


def test_curve_statistics_shape_and_verdicts():
    frame = _frame({"PRE": 0.60, "UNI": 0.601, "CMCSL": 0.80})
    table = curve_statistics(frame, "visual")
    assert list(table.columns) == ["b_class", "a", "b", "mean_a", "mean_b", "F", "p_value", "verdict"]
    assert len(table) == 3 * 3  # 3 b values x 3 pairs
    assert default_pairs(["PRE", "UNI", "CMCSL"]) == [("CMCSL", "UNI"), ("CMCSL", "PRE"), ("UNI", "PRE")]
    assert set(table.verdict) <= {"CMCSL better", "UNI better", "PRE better", "no difference"}
    cm = table[table.a == "CMCSL"]
    assert (cm.verdict == "CMCSL better").all()
    assert (cm.p_value < 0.05).all()
    # reversed pair order: the better one is still named
    rev = curve_statistics(frame, "visual", pairs=[("PRE", "CMCSL")])
    assert len(rev) == 3 and (rev.verdict == "CMCSL better").all()
    # equal methods: no difference
    text = curve_statistics(frame, "text", pairs=[("PRE", "UNI")])
    assert (text.verdict == "no difference").all()
    # the statistics are those of f_test_5x2 on the 10 folds
    block = frame[(frame.modality == "visual") & (frame.b_class == 2)]
    a = block[block.method == "CMCSL"].sort_values("fold").bac.to_numpy()
    b = block[block.method == "PRE"].sort_values("fold").bac.to_numpy()
    row = table[(table.b_class == 2) & (table.a == "CMCSL") & (table.b == "PRE")].iloc[0]
    assert row.F == pytest.approx(f_test_5x2(a, b).statistic)
    assert row.mean_a == pytest.approx(a.mean()) and row.mean_b == pytest.approx(b.mean())
    # unknown pairs are skipped, unknown modality is an error
    assert curve_statistics(frame, "visual", pairs=[("EF", "PRE")]).empty
    with pytest.raises(CMCSLError, match="no scores for modality 'audio'"):
        curve_statistics(frame, "audio")


def test_wilcoxon_and_ranks_over_b():
    frame = _frame({"PRE": 0.6, "CMCSL": 0.8}, b_values=tuple(range(1, 11)))
    w = wilcoxon_over_b(frame, "visual")
    assert list(w.columns) == ["a", "b", "mean_a", "mean_b", "W", "p_value"]
    assert len(w) == 1 and w.iloc[0].p_value < 0.01
    ranks = average_ranks_over_b(frame, "visual")
    assert ranks["CMCSL"] == 1.0 and ranks["PRE"] == 2.0
