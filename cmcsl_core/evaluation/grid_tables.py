"""The paper's tables from a grid's results: mean BAC with F-test indices, and average ranks.

``comparison_table``
    One row per subset, one column per method: the mean BAC over all b_class values
    and folds, and the 1-based indices (in column order) of the methods it is
    significantly better than by the combined 5x2 CV F-test
    (:func:`~cmcsl_core.evaluation.stats.f_test_5x2`, level 0.05) on the 10 paired
    fold scores (each fold's mean over b_class). For paper subsets the published mean
    (same classifier, preprocessing, modality, over the same b_class values) is given beside ours as ``paper <method>``.
``rank_table``
    Per group of subsets (``binary``: 2 classes, ``multiclass``: more), every method's
    average rank over the subsets (1 = best) and the two-sided Wilcoxon signed-rank
    p-value of the best-ranked method against it.

Both are written as CSV, Markdown and LaTeX by :func:`write_tables`.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Callable, Sequence

import numpy as np

from cmcsl_core.errors import CMCSLError
from cmcsl_core.fileio import write_atomically
from cmcsl_core.types import PathLike

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = ["comparison_table", "rank_table", "subset_group", "to_markdown", "to_latex", "write_tables"]


GROUPS: tuple[str, ...] = ("binary", "multiclass", "custom")
"""Subset groups of the rank table, in display order."""


def subset_group(subset: str) -> str:
    """``binary`` or ``multiclass`` by the subset's number of genres (``custom`` if unknown)."""
    from cmcsl_core.datasets.subsets import resolve_subset

    try:
        return "binary" if len(resolve_subset(subset).genres) == 2 else "multiclass"
    except CMCSLError:
        return "custom"


def _cells(frame: "pandas.DataFrame", classifier: str, preprocessing: str, modality: str) -> "pandas.DataFrame":
    sel = frame[
        (frame["classifier"] == classifier)
        & (frame["preprocessing"] == preprocessing)
        & (frame["modality"] == modality)
    ]
    if sel.empty:
        raise CMCSLError(f"no results for {classifier}, {preprocessing}, {modality}")
    return sel


def comparison_table(
    frame: "pandas.DataFrame",
    classifier: str,
    preprocessing: str,
    modality: str,
    methods: Sequence[str] | None = None,
    alpha: float = 0.05,
    published: bool = True,
) -> "pandas.DataFrame":
    """Mean BAC per subset and method with the F-test's "better than" indices (see the module docstring).

    Returns
    -------
    DataFrame
        Columns ``subset``, then per method ``<method>`` (mean), ``<method> better than``
        (e.g. ``"1,3"`` or ``"-"``), and ``paper <method>`` where the paper has the setting.
    """
    import pandas as pd

    from cmcsl_core.evaluation.stats import f_test_5x2

    sel = _cells(frame, classifier, preprocessing, modality)
    methods = list(methods) if methods is not None else list(dict.fromkeys(sel["method"]))
    rows = []
    for subset, block in sel.groupby("subset", sort=False):
        fold_means = block.groupby(["method", "fold"])["bac"].mean().unstack("method")
        row: dict[str, object] = {"subset": subset}
        for i, a in enumerate(methods):
            if a not in fold_means:
                row[a], row[f"{a} better than"] = np.nan, ""
                continue
            beats = []
            for j, b in enumerate(methods):
                if j == i or b not in fold_means:
                    continue
                x, y = fold_means[a].to_numpy(), fold_means[b].to_numpy()
                if x.size % 2 == 0 and x.mean() > y.mean() and f_test_5x2(x, y).p_value < alpha:
                    beats.append(str(j + 1))
            row[a] = float(block.loc[block["method"] == a, "bac"].mean())
            row[f"{a} better than"] = ",".join(beats) or "-"
        if published:
            from cmcsl_core.datasets.published import published_curve, published_setting_exists

            for a in methods:
                if published_setting_exists(str(subset), modality, a, classifier, preprocessing):
                    curve = published_curve(str(subset), modality, a, classifier, preprocessing)
                    ours = curve["b_class"].isin(block["b_class"].unique())
                    row[f"paper {a}"] = float(curve.loc[ours, "mean"].mean())
        rows.append(row)
    out = pd.DataFrame(rows)
    order = ["subset"] + [c for a in methods for c in (a, f"{a} better than", f"paper {a}") if c in out.columns]
    return out[order]


def rank_table(
    frame: "pandas.DataFrame", classifier: str, preprocessing: str, modality: str, methods: Sequence[str] | None = None
) -> "pandas.DataFrame":
    """Average ranks per subset group and Wilcoxon p-values of the best-ranked method against each other."""
    import pandas as pd

    from cmcsl_core.evaluation.stats import average_ranks, wilcoxon_test

    sel = _cells(frame, classifier, preprocessing, modality)
    methods = list(methods) if methods is not None else list(dict.fromkeys(sel["method"]))
    means = sel.groupby(["subset", "method"])["bac"].mean().unstack("method")[methods]
    groups = means.index.map(subset_group)
    rows = []
    for group in sorted(set(groups), key=GROUPS.index):
        table = means[groups == group]
        ranks = average_ranks(table)
        best = str(ranks.idxmin())
        for m in methods:
            p = wilcoxon_test(table[best].to_numpy(), table[m].to_numpy()).p_value if m != best else np.nan
            rows.append((group, len(table), m, float(ranks[m]), best, p))
    return pd.DataFrame(rows, columns=["group", "n_subsets", "method", "average_rank", "best", "wilcoxon_p_vs_best"])


def _fmt(v: object) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if np.isnan(v) else f"{v:.3f}"
    return str(v)


def to_markdown(table: "pandas.DataFrame") -> str:
    """A GitHub-flavoured Markdown table (floats to 3 decimals)."""
    head = "| " + " | ".join(map(str, table.columns)) + " |"
    sep = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([head, sep, *body]) + "\n"


def _tex(text: str) -> str:
    return text.replace("\\", "\\textbackslash{}").replace("_", "\\_").replace("&", "\\&").replace("%", "\\%")


def to_latex(table: "pandas.DataFrame", caption: str = "") -> str:
    """A ``tabular`` (booktabs) with floats to 3 decimals."""
    cols = "l" * len(table.columns)
    lines = [
        "\\begin{table}[t]",
        "\\centering",
        *([f"\\caption{{{_tex(caption)}}}"] if caption else []),
        f"\\begin{{tabular}}{{{cols}}}",
        "\\toprule",
        " & ".join(_tex(str(c)) for c in table.columns) + " \\\\",
        "\\midrule",
        *(" & ".join(_tex(_fmt(v)) for v in row) + " \\\\" for row in table.itertuples(index=False)),
        "\\bottomrule",
        "\\end{tabular}",
        "\\end{table}",
    ]
    return "\n".join(lines) + "\n"


def _writer(data: bytes) -> Callable[[IO[bytes]], object]:
    return lambda fh: fh.write(data)


def write_tables(frame: "pandas.DataFrame", directory: PathLike) -> list[Path]:
    """Write both tables for every (classifier, preprocessing, modality) of ``frame`` into ``directory``.

    Files are ``comparison_<classifier>_<preprocessing>_<modality>.{csv,md,tex}`` and
    ``ranks_<...>.{csv,md,tex}``. Returns the written paths.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    cells = frame[["classifier", "preprocessing", "modality"]].drop_duplicates().itertuples(index=False)
    for classifier, preprocessing, modality in cells:
        stem = f"{classifier}_{preprocessing}_{modality}"
        caption = f"Mean BAC ({classifier}, {preprocessing}, {modality})"
        tables = {"comparison": comparison_table(frame, classifier, preprocessing, modality)}
        if frame["subset"].nunique() > 1:
            tables["ranks"] = rank_table(frame, classifier, preprocessing, modality)
        for name, table in tables.items():
            for ext, text in (
                ("csv", table.to_csv(index=False, float_format="%.6f")),
                ("md", to_markdown(table)),
                ("tex", to_latex(table, f"{caption}: {name}")),
            ):
                path = d / f"{name}_{stem}.{ext}"
                write_atomically(path, _writer(text.encode()))
                written.append(path)
    return written
