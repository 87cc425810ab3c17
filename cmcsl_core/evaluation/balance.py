"""Who decides the disagreements: does one modality win (almost) all of them, and why.

CMCSL resolves a disagreement by comparing the item's Euclidean distance to its nearest seed
in each modality. Those distances live in different spaces: after standardisation every
feature has unit variance, so a typical distance grows like the square root of the number of
features (about 1.8 times larger in a 1,280-d image space than in a 384-d text space). The
modality with fewer (or less spread) features then lies "nearer" almost always, whatever the
item looks like. :func:`disagreement_balance` measures this on a run, so the app can say so.

>>> import numpy as np
>>> from cmcsl_core.method.labeling import cross_modal_labels
>>> rng = np.random.default_rng(0)
>>> y = np.repeat([0, 1], 100)
>>> X = [rng.normal(size=(200, 64)) + 3 * y[:, None], rng.normal(size=(200, 4)) + 0.5 * y[:, None]]
>>> result = cross_modal_labels(X, [0, 1, 100, 101], y[[0, 1, 100, 101]], modality_names=("wide", "narrow"))
>>> b = disagreement_balance(result, dims=(64, 4))
>>> b.dominant, b.share > 0.95
('narrow', True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from cmcsl_core.method.labeling import LabelingResult

__all__ = ["DOMINANCE", "DisagreementBalance", "disagreement_balance"]

DOMINANCE = 0.95
"""Share of the disagreements one modality must decide to count as deciding (almost) all of them."""


@dataclass(frozen=True)
class DisagreementBalance:
    """How the disagreements of one run were decided.

    Attributes
    ----------
    n_disagreements : int
        Items whose modalities propose different labels.
    wins : dict
        Per modality, the disagreements it decided.
    dominant : str or None
        The modality that decided at least ``threshold`` of them (None: no such modality, or
        fewer disagreements than ``min_items``).
    share : float
        The largest share of disagreements one modality decided (NaN without disagreements).
    median_distance : dict
        Per modality, the median distance of the disagreeing items to their nearest seed.
    dims : dict
        Per modality, its number of features.
    """

    n_disagreements: int
    wins: dict[str, int]
    dominant: str | None
    share: float
    median_distance: dict[str, float]
    dims: dict[str, int]

    def distance_ratio(self) -> float:
        """Largest over smallest median distance (how much farther the losing spaces' seeds lie)."""
        values = [v for v in self.median_distance.values() if np.isfinite(v) and v > 0]
        return max(values) / min(values) if len(values) >= 2 else float("nan")


def disagreement_balance(
    result: LabelingResult, dims: Sequence[int], threshold: float = DOMINANCE, min_items: int = 20
) -> DisagreementBalance:
    """Count who decided the disagreements of ``result`` and the distances they were decided by.

    Parameters
    ----------
    result : LabelingResult
    dims : sequence of int
        The number of features of each modality (``X.shape[1]``), for the explanation.
    threshold : float
        Share of disagreements that makes a modality dominant.
    min_items : int
        Fewer disagreements than this never make a modality dominant.
    """
    names = tuple(result.modality_names)
    dis = np.asarray(result.disagree, dtype=bool)
    n = int(dis.sum())
    counts = np.bincount(np.asarray(result.decided_by)[dis], minlength=len(names)) if n else np.zeros(len(names), int)
    wins = {name: int(c) for name, c in zip(names, counts)}
    share = float(counts.max() / n) if n else float("nan")
    dominant = names[int(np.argmax(counts))] if n >= min_items and share >= threshold else None
    distances = np.asarray(result.distances)
    median = {name: float(np.median(distances[m, dis])) if n else float("nan") for m, name in enumerate(names)}
    return DisagreementBalance(n, wins, dominant, share, median, {name: int(d) for name, d in zip(names, dims)})
