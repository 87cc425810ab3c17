"""Statistics the paper reports: the combined 5x2 CV F-test, Wilcoxon, average ranks.

* :func:`f_test_5x2` compares two methods on one dataset from their 10 paired fold
  scores (Alpaydin, 1999, "Combined 5x2 cv F test for comparing supervised
  classification learning algorithms").
* :func:`wilcoxon_test` compares two methods across datasets (or across b_class
  values) by the Wilcoxon signed-rank test on paired mean scores.
* :func:`average_ranks` ranks methods per dataset (1 = best) and averages.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Sequence

import numpy as np
import pandas as pd

from cmcsl_core.errors import CMCSLError
from cmcsl_core.evaluation.fusion import FUSION_RULES

__all__ = [
    "TestResult",
    "f_test_5x2",
    "wilcoxon_test",
    "average_ranks",
    "curve_statistics",
    "wilcoxon_over_b",
    "average_ranks_over_b",
    "default_pairs",
]


@dataclass(frozen=True)
class TestResult:
    """A test statistic and its p-value."""

    statistic: float
    p_value: float


def f_test_5x2(a: Sequence[float], b: Sequence[float]) -> TestResult:
    """Combined 5x2 CV F-test between two methods' paired fold scores.

    Parameters
    ----------
    a, b : sequences of 2 * r floats
        Scores per fold in the order of ``RepeatedStratifiedKFold(n_splits=2)``:
        repeat 0 fold 0, repeat 0 fold 1, repeat 1 fold 0, ... (r = 5 in the paper).

    Returns
    -------
    TestResult
        ``F = sum_ij p_ij^2 / (2 sum_i s_i^2)``, F-distributed with (2r, r) degrees of
        freedom under the null hypothesis. Identical scores give F = 0, p = 1.
    """
    from scipy.stats import f as f_dist

    p = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if p.ndim != 1 or p.size % 2 or p.size == 0:
        raise CMCSLError(f"the 5x2 CV F-test needs an even number of paired fold scores, got {p.size}")
    p = p.reshape(-1, 2)
    r = p.shape[0]
    s2 = ((p - p.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    num = float((p**2).sum())
    den = float(2.0 * s2.sum())
    if num == 0.0:
        return TestResult(0.0, 1.0)
    if den == 0.0:
        return TestResult(float("inf"), 0.0)
    stat = num / den
    return TestResult(stat, float(f_dist.sf(stat, 2 * r, r)))


def wilcoxon_test(a: Sequence[float], b: Sequence[float]) -> TestResult:
    """Wilcoxon signed-rank test on paired scores (two-sided); all-equal pairs give p = 1."""
    from scipy.stats import wilcoxon

    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.size == 0:
        raise CMCSLError("the Wilcoxon test needs two equally long, non-empty score lists")
    if np.all(x == y):
        return TestResult(0.0, 1.0)
    res = wilcoxon(x, y)
    return TestResult(float(res.statistic), float(res.pvalue))


def average_ranks(table: pd.DataFrame) -> pd.Series:
    """Average rank of every column (method) over the rows (datasets); 1 = highest score.

    Ties share the average of their ranks.
    """
    from scipy.stats import rankdata

    ranks = np.vstack([rankdata(-row) for row in table.to_numpy(dtype=np.float64)])
    return pd.Series(ranks.mean(axis=0), index=table.columns, name="average rank")


def default_pairs(methods: Sequence[str]) -> list[tuple[str, str]]:
    """Method pairs worth testing, the proposed method first.

    * the per-modality methods and EF/LF: every pair, in the order CMCSL, UNI, PRE, FULL, EF, LF
      (so CMCSL against each of the others first);
    * each CMCSL fusion against the late fusion by the same rule (``CMCSL-MLA`` vs ``LF-MLA``, ...),
      in the order MLA, DRA, MEAN, MAX;
    * within each family (``CMCSL-*``, ``LF-*``) every pair of rules, MLA first.

    Only pairs of methods in ``methods`` are returned.
    """
    present = set(methods)
    order = [m for m in ["CMCSL", "UNI", "PRE", "FULL", "EF", "LF"] if m in present]
    pairs = list(combinations(order, 2))
    rules = [r for r in ("MLA", "DRA", "MEAN", "MAX") if r in FUSION_RULES]
    pairs += [(f"CMCSL-{r}", f"LF-{r}") for r in rules if f"CMCSL-{r}" in present and f"LF-{r}" in present]
    for family in ("CMCSL", "LF"):
        pairs += list(combinations([f"{family}-{r}" for r in rules if f"{family}-{r}" in present], 2))
    return pairs


def _fold_scores(frame: pd.DataFrame, modality: str) -> pd.DataFrame:
    sel = frame[frame["modality"] == modality]
    if sel.empty:
        raise CMCSLError(f"no scores for modality {modality!r}")
    return sel.pivot_table(index=["b_class", "fold"], columns="method", values="bac").sort_index()


def curve_statistics(
    frame: pd.DataFrame, modality: str, pairs: Sequence[tuple[str, str]] | None = None, alpha: float = 0.05
) -> pd.DataFrame:
    """5x2 CV F-test per b_class and method pair for one modality of a curve frame.

    Returns
    -------
    DataFrame
        Columns ``b_class, a, b, mean_a, mean_b, F, p_value, verdict`` where verdict
        is ``"a better"``, ``"b better"`` or ``"no difference"`` at level ``alpha``.
    """
    scores = _fold_scores(frame, modality)
    pairs = list(pairs) if pairs is not None else default_pairs(list(scores.columns))
    rows = []
    for b_class, block in scores.groupby(level="b_class"):
        for a, b in pairs:
            if a not in block or b not in block:
                continue
            res = f_test_5x2(block[a].to_numpy(), block[b].to_numpy())
            ma, mb = float(block[a].mean()), float(block[b].mean())
            verdict = "no difference"
            if res.p_value < alpha:
                verdict = f"{a} better" if ma > mb else f"{b} better"
            rows.append((int(b_class), a, b, ma, mb, res.statistic, res.p_value, verdict))
    return pd.DataFrame(rows, columns=["b_class", "a", "b", "mean_a", "mean_b", "F", "p_value", "verdict"])


def wilcoxon_over_b(frame: pd.DataFrame, modality: str, pairs: Sequence[tuple[str, str]] | None = None) -> pd.DataFrame:
    """Wilcoxon signed-rank test per method pair over the b_class values (fold means)."""
    means = _fold_scores(frame, modality).groupby(level="b_class").mean()
    pairs = list(pairs) if pairs is not None else default_pairs(list(means.columns))
    rows = []
    for a, b in pairs:
        if a not in means or b not in means:
            continue
        res = wilcoxon_test(means[a].to_numpy(), means[b].to_numpy())
        rows.append((a, b, float(means[a].mean()), float(means[b].mean()), res.statistic, res.p_value))
    return pd.DataFrame(rows, columns=["a", "b", "mean_a", "mean_b", "W", "p_value"])


def average_ranks_over_b(frame: pd.DataFrame, modality: str) -> pd.Series:
    """Average rank of each method over the b_class values (fold means; 1 = best)."""
    means = _fold_scores(frame, modality).groupby(level="b_class").mean()
    return average_ranks(means)
