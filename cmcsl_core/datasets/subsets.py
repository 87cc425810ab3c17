"""The MM-IMDb subsets of the CMCSL paper (Table I) and the rule that builds them.

A *subset* is an ordered list of genres. A movie belongs to it when **exactly
one** of the subset's genres is among the movie's genres; its label is that
genre's position in the list (0 .. K-1). Movies with none or with two or more of
the subset's genres are left out.

The 20 paper subsets ship in ``data/subsets.csv`` (a copy of Table I); users can
also define their own subset by listing genres, e.g. ``"Horror,Romance"``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from cmcsl_core.errors import CMCSLError

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "Subset",
    "MMIMDB_GENRES",
    "DATA_DIR",
    "SUBSETS_CSV",
    "load_subsets",
    "resolve_subset",
    "assign_labels",
    "labels_from_indicator",
    "demo_counts",
    "subsets_table",
]

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
"""The repository's ``data/`` folder (shipped small data files)."""

SUBSETS_CSV = DATA_DIR / "subsets.csv"
"""Table I of the paper: subset, kind, genres, class_counts, total."""

MMIMDB_GENRES: tuple[str, ...] = (
    "Action", "Adult", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Documentary",
    "Drama", "Family", "Fantasy", "Film-Noir", "History", "Horror", "Music", "Musical", "Mystery",
    "News", "Reality-TV", "Romance", "Sci-Fi", "Short", "Sport", "Talk-Show", "Thriller", "War",
    "Western",
)
"""The 27 genres of MM-IMDb (Arevalo's ready-made hdf5 keeps 23 of them)."""

_CANONICAL = {g.lower(): g for g in MMIMDB_GENRES}
_SEPARATORS = re.compile(r"[,;+]")


@dataclass(frozen=True)
class Subset:
    """An ordered list of genres defining a classification task.

    Parameters
    ----------
    name : str
        ``"HR"`` for a paper subset, ``"custom:Horror+Romance"`` for a user's own.
    genres : tuple of str
        The K >= 2 genres; genre ``k`` is class label ``k``.
    class_counts : tuple of int or None
        Movies per class in the full MM-IMDb (Table I); None for custom subsets.
    total : int or None
        Sum of ``class_counts``; None for custom subsets.
    kind : str
        ``"binary"`` or ``"multiclass"`` (paper subsets) or ``"custom"``.
    """

    name: str
    genres: tuple[str, ...]
    class_counts: tuple[int, ...] | None = None
    total: int | None = None
    kind: str = "custom"

    @property
    def n_classes(self) -> int:
        """Number of classes K."""
        return len(self.genres)

    @property
    def is_paper(self) -> bool:
        """True for one of the 20 subsets of the paper."""
        return self.kind != "custom"


@lru_cache(maxsize=1)
def _load_subsets_cached() -> tuple[Subset, ...]:
    if not SUBSETS_CSV.is_file():
        raise CMCSLError(f"the subsets table {SUBSETS_CSV} is missing; reinstall cmcsl-studio")
    out = []
    with open(SUBSETS_CSV, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            genres = tuple(g.strip() for g in row["genres"].split(";"))
            counts = tuple(int(c) for c in row["class_counts"].split(";"))
            total = int(row["total"])
            if len(genres) != len(counts) or sum(counts) != total:
                raise CMCSLError(f"{SUBSETS_CSV}: row {row['subset']} is inconsistent (genres/counts/total)")
            out.append(Subset(row["subset"].strip(), genres, counts, total, row["kind"].strip()))
    return tuple(out)


def load_subsets() -> dict[str, Subset]:
    """The 20 paper subsets from ``data/subsets.csv``, in the table's order.

    Returns
    -------
    dict of str to Subset
        Keyed by the subset's name (``"HR"``, ``"DS"``, ...).
    """
    return {s.name: s for s in _load_subsets_cached()}


def _canonical_genre(name: str) -> str:
    key = name.strip().lower()
    if key not in _CANONICAL:
        raise CMCSLError(f"unknown genre {name.strip()!r}; MM-IMDb genres are {', '.join(MMIMDB_GENRES)}")
    return _CANONICAL[key]


def resolve_subset(spec: "str | Subset") -> Subset:
    """Turn a subset name or a list of genres into a :class:`Subset`.

    Parameters
    ----------
    spec : str or Subset
        A paper subset name (case-insensitive, e.g. ``"hr"``), a list of at least two
        genres separated by ``,``, ``;`` or ``+`` (e.g. ``"Horror,Romance"``;
        optionally prefixed ``custom:``), or a Subset (returned unchanged).

    Returns
    -------
    Subset
        A paper subset, or ``Subset("custom:Horror+Romance", ("Horror", "Romance"))``.

    Raises
    ------
    CMCSLError
        Unknown subset name (the message lists the paper subsets), unknown genre,
        repeated genre or fewer than two genres.
    """
    if isinstance(spec, Subset):
        return spec
    if not isinstance(spec, str):
        raise CMCSLError(f"a subset is a name like HR or genres like Horror,Romance; got {spec!r}")
    text = spec.strip()
    paper = load_subsets()
    by_upper = {name.upper(): s for name, s in paper.items()}
    if text.upper() in by_upper:
        return by_upper[text.upper()]
    if text.lower().startswith("custom:"):
        text = text[len("custom:") :]
    parts = [p for p in (p.strip() for p in _SEPARATORS.split(text)) if p]
    if len(parts) < 2:
        raise CMCSLError(
            f"unknown subset {spec!r}; choose one of {', '.join(paper)} "
            "or list at least two genres, e.g. Horror,Romance"
        )
    genres = tuple(_canonical_genre(p) for p in parts)
    repeated = sorted({g for g in genres if genres.count(g) > 1})
    if repeated:
        raise CMCSLError(f"genre {repeated[0]} is listed twice in subset {spec!r}")
    return Subset("custom:" + "+".join(genres), genres)


def labels_from_indicator(indicator: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply the exactly-one rule to an N x K membership matrix.

    Parameters
    ----------
    indicator : array of shape (N, K)
        Nonzero where movie ``i`` has the subset's genre ``k``.

    Returns
    -------
    rows : int64 array
        Indices (increasing) of the movies with exactly one of the K genres.
    labels : int64 array
        For each such movie, the position ``k`` of its genre.
    """
    member = np.asarray(indicator) != 0
    if member.ndim != 2:
        raise ValueError(f"indicator must be 2-D, got shape {member.shape}")
    rows = np.flatnonzero(member.sum(axis=1) == 1).astype(np.int64)
    labels = np.argmax(member[rows], axis=1).astype(np.int64) if rows.size else np.zeros(0, np.int64)
    return rows, labels


def assign_labels(genre_lists: Sequence[Sequence[str]], subset: "str | Subset") -> tuple[np.ndarray, np.ndarray]:
    """Select the movies of ``subset`` and label them (the exactly-one rule).

    Parameters
    ----------
    genre_lists : sequence of sequence of str
        Each movie's genres (matched case-insensitively, surrounding spaces ignored).
    subset : str or Subset
        Anything :func:`resolve_subset` accepts.

    Returns
    -------
    rows, labels : int64 arrays
        Indices of the movies that have exactly one of the subset's genres, and that
        genre's position in ``subset.genres``.
    """
    sub = resolve_subset(subset)
    column = {g.lower(): k for k, g in enumerate(sub.genres)}
    indicator = np.zeros((len(genre_lists), sub.n_classes), dtype=bool)
    for i, genres in enumerate(genre_lists):
        for g in genres:
            k = column.get(str(g).strip().lower())
            if k is not None:
                indicator[i, k] = True
    return labels_from_indicator(indicator)


def demo_counts(subset: "str | Subset") -> tuple[int, ...]:
    """Movies per class in the paper's experiments: 80% of Table I, ``int(round(0.8 * count))``.

    Raises
    ------
    CMCSLError
        For a custom subset (its counts are unknown until a data file is read).
    """
    sub = resolve_subset(subset)
    if sub.class_counts is None:
        raise CMCSLError(
            f"subset {sub.name} is not one of the paper's subsets, so its size is unknown; "
            f"use one of {', '.join(load_subsets())}"
        )
    return tuple(int(round(0.8 * c)) for c in sub.class_counts)


def subsets_table() -> "pandas.DataFrame":
    """The paper subsets as a table (for ``python -m cmcsl_core subsets`` and the app).

    Returns
    -------
    pandas.DataFrame
        Columns ``subset, kind, n_classes, genres, class_counts, total, demo_total``;
        ``genres`` and ``class_counts`` are ``", "``-joined strings in label order,
        ``demo_total`` is the 80% kept for the experiments.
    """
    import pandas as pd

    rows = [
        {
            "subset": s.name,
            "kind": s.kind,
            "n_classes": s.n_classes,
            "genres": ", ".join(s.genres),
            "class_counts": ", ".join(str(c) for c in s.class_counts or ()),
            "total": s.total,
            "demo_total": sum(demo_counts(s)),
        }
        for s in load_subsets().values()
    ]
    return pd.DataFrame(rows)
