"""The CMCSL paper's published results, for overlays and comparisons.

``data/published_results.csv`` summarises the authors' per-fold balanced accuracy
(regenerate it with ``python data/make_published_results.py --paper ../shared/paper``).
One row per setting: ``experiment`` (``comparison``, ``preprocessing``,
``base_classifiers``), ``subset``, ``modality`` (visual, text, fused), ``method``
(FULL, PRE, UNI, CMCSL, EF, LF), ``classifier`` (gnb, lr, cart), ``preprocessing``
(raw, l2, std, l2std, minmax), ``b_class`` (1..20, or missing when the scores do
not depend on b: FULL, EF, LF), ``mean`` and ``std`` (``ddof=0``) over ``n_folds``
folds of 5 x 2 CV.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Optional

from cmcsl_core.constants import B_VALUES
from cmcsl_core.datasets.subsets import DATA_DIR
from cmcsl_core.errors import CMCSLError

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "PUBLISHED_CSV",
    "B_VALUES",
    "load_published",
    "published_curve",
    "published_table",
    "published_setting_exists",
]

PUBLISHED_CSV = DATA_DIR / "published_results.csv"

EXPERIMENT_PREFERENCE = ("comparison", "preprocessing", "base_classifiers")
"""Which experiment answers when several hold the same setting (they agree)."""


@lru_cache(maxsize=1)
def _load() -> "pandas.DataFrame":
    import pandas as pd

    if not PUBLISHED_CSV.is_file():
        raise CMCSLError(f"the published results {PUBLISHED_CSV} are missing; reinstall cmcsl-studio")
    frame = pd.read_csv(PUBLISHED_CSV, dtype={"b_class": "Int64"}, keep_default_na=False, na_values={"b_class": [""]})
    return frame


def load_published() -> "pandas.DataFrame":
    """All published results (a copy of the cached table; safe to modify)."""
    return _load().copy()


@lru_cache(maxsize=1)
def _groups() -> dict[tuple[str, str, str, str, str], "pandas.DataFrame"]:
    """Rows per (SUBSET, modality, METHOD, classifier, preprocessing), built once."""
    keys = ["subset", "modality", "method", "classifier", "preprocessing"]
    frame = _load()
    return {
        (str(k[0]).upper(), *(str(v) for v in k[1:])): rows  # type: ignore[misc]
        for k, rows in frame.groupby(keys, sort=False)
    }


def _select(
    subset: str, modality: str, method: str, classifier: str, preprocessing: str, experiment: Optional[str]
) -> "pandas.DataFrame":
    key = (
        subset.strip().upper(),
        modality.strip().lower(),
        method.strip().upper(),
        classifier.strip().lower(),
        preprocessing.strip().lower(),
    )
    rows = _groups().get(key)
    if rows is None:
        return _load().iloc[:0]
    if experiment is not None:
        return rows[rows["experiment"] == experiment]
    for exp in EXPERIMENT_PREFERENCE:
        if (rows["experiment"] == exp).any():
            return rows[rows["experiment"] == exp]
    return rows


def published_setting_exists(
    subset: str, modality: str, method: str, classifier: str = "gnb", preprocessing: str = "l2std"
) -> bool:
    """True if the paper published this setting (e.g. False for custom subsets)."""
    return not _select(subset, modality, method, classifier, preprocessing, None).empty


def published_curve(
    subset: str,
    modality: str,
    method: str,
    classifier: str = "gnb",
    preprocessing: str = "l2std",
    experiment: Optional[str] = None,
) -> "pandas.DataFrame":
    """The paper's BAC-vs-b_class curve of one setting.

    Parameters
    ----------
    subset : str
        Paper subset name (case-insensitive), e.g. ``"HR"``.
    modality : str
        ``"visual"``, ``"text"`` or ``"fused"`` (EF, LF).
    method : str
        FULL, PRE, UNI, CMCSL, EF or LF.
    classifier : str
        gnb, lr or cart (lr/cart only in the comparison and base-classifier experiments).
    preprocessing : str
        raw, l2, std, l2std or minmax (all but l2std only with gnb).
    experiment : str, optional
        Restrict to one experiment; by default the comparison experiment answers first.

    Returns
    -------
    pandas.DataFrame
        Columns ``b_class`` (1..20), ``mean``, ``std``; methods that do not depend
        on b (FULL, EF, LF) are repeated as a flat line.

    Raises
    ------
    CMCSLError
        If the paper has no such setting (the message says which values exist).
    """
    import pandas as pd

    rows = _select(subset, modality, method, classifier, preprocessing, experiment)
    if rows.empty:
        frame = _load()
        raise CMCSLError(
            f"no published result for subset {subset}, {modality}, {method}, {classifier}, {preprocessing}; "
            f"subsets: {', '.join(frame['subset'].unique())}; methods: {', '.join(frame['method'].unique())}"
        )
    if rows["b_class"].isna().all():
        row = rows.iloc[0]
        return pd.DataFrame({"b_class": list(B_VALUES), "mean": float(row["mean"]), "std": float(row["std"])})
    out = rows.dropna(subset=["b_class"])[["b_class", "mean", "std"]].astype({"b_class": int})
    return out.sort_values("b_class").reset_index(drop=True)


def published_table(
    classifier: str = "gnb",
    preprocessing: str = "l2std",
    methods: tuple[str, ...] = ("FULL", "PRE", "UNI", "CMCSL"),
    modalities: tuple[str, ...] = ("visual", "text"),
) -> "pandas.DataFrame":
    """Mean BAC over b_class and folds per subset, like the paper's Tables III/V/VII.

    Returns
    -------
    pandas.DataFrame
        Index: subset (paper order); columns: a (modality, method) MultiIndex.
        With the defaults this is Table V (GNB, L2STD).
    """
    import pandas as pd

    frame = _load()
    subsets = list(dict.fromkeys(frame["subset"]))
    rows = frame[
        (frame["classifier"] == classifier.lower())
        & (frame["preprocessing"] == preprocessing.lower())
        & frame["method"].isin(methods)
        & frame["modality"].isin(modalities)
    ].copy()
    rank = {e: i for i, e in enumerate(EXPERIMENT_PREFERENCE)}
    rows["rank"] = rows["experiment"].map(rank).fillna(len(rank))
    keys = ["subset", "modality", "method"]
    rows = rows[rows["rank"] == rows.groupby(keys)["rank"].transform("min")]
    means = rows.groupby(keys)["mean"].mean()
    columns = pd.MultiIndex.from_product([list(modalities), list(methods)], names=["modality", "method"])
    table = pd.DataFrame(index=pd.Index(subsets, name="subset"), columns=columns, dtype=float)
    for (subset, modality, method), value in means.items():
        table.loc[subset, (modality, method)] = value
    return table
