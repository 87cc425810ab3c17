"""The notice shown when one modality decides (almost) every disagreement, and why.

:func:`dominance_text` is pure (tested without Streamlit); :func:`dominance_notice` draws it
on the Clusters and How pages. On the built-in tweets at the defaults the text decides
3,211 of 3,211 disagreements: the rule compares raw distances to the nearest seed, and
standardised features make distances grow with the number of features (1,280 image vs 384
text), so the text is "nearer" whatever the item shows.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.evaluation.balance import DisagreementBalance, disagreement_balance
from cmcsl_core.method.labeling import LabelingResult

__all__ = ["RULE_COMPARES", "dominance_text", "dominance_notice"]

RULE_COMPARES = (
    "For each disagreement the rule compares one number per modality: the Euclidean distance from the item "
    "to its nearest seed, measured in that modality's own preprocessed feature space, and keeps the label "
    "of the modality with the smaller distance. The distances are not rescaled across modalities, so a "
    "space with more (or more spread-out) features has longer distances for every item."
)
"""What CMCSL's resolution step really compares (the How page's step 4)."""


def dominance_text(balance: DisagreementBalance, preprocessing: str) -> str | None:
    """Markdown saying which modality decides (almost) every disagreement and why; None when none does."""
    if balance.dominant is None:
        return None
    winner = balance.dominant
    losers = [n for n in balance.wins if n != winner]
    n, won = balance.n_disagreements, balance.wins[winner]
    share = "every one" if won == n else f"{won / n:.1%}"
    dims = ", ".join(f"{name} {balance.dims[name]:,}-d" for name in balance.dims)
    med = ", ".join(f"{name} {balance.median_distance[name]:.3g}" for name in balance.median_distance)
    ratio = balance.distance_ratio()
    standardised = "std" in preprocessing.lower()
    why = (
        "after standardisation every feature has unit variance, so distances grow with the square root of "
        "the number of features"
        if standardised
        else "the modalities' distances have different scales"
    )
    others = ", ".join(f"{name} {balance.wins[name]:,}" for name in losers)
    return (
        f"**{winner} decides {share} of the {n:,} disagreements** ({winner} {won:,}, {others}). "
        f"The rule compares each item's distance to its nearest seed across modalities, but these distances are "
        f"not comparable: {why} ({dims}). Median distance to the nearest seed on the disagreements: {med}"
        + (f" ({ratio:.1f}x)" if np.isfinite(ratio) else "")
        + f". So {winner} is nearer almost always, whatever the item shows, and CMCSL's labels here are "
        f"essentially {winner}'s own nearest-seed labels. Preprocessing that puts every item on the same scale "
        "(L2: unit length in every modality) makes the comparison fairer; the Review page lets people decide "
        "the contested items."
    )


def dominance_notice(fs: FeatureSet, result: LabelingResult, preprocessing: str) -> DisagreementBalance:
    """Draw the notice when one modality decides (almost) every disagreement; return the balance.

    Only for the paper's rule (labeler ``cmcsl``, also when ``auto`` chose it): the notice explains
    its raw distance comparison, which the other labelers do not make.
    """
    balance = disagreement_balance(result, [x.shape[1] for x in fs.X])
    text = dominance_text(balance, preprocessing) if result.labeler == "cmcsl" else None
    if text is not None:
        st.warning(text, icon=":material/balance:")
    return balance
