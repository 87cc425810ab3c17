"""The "How CMCSL works" page for another labeler than the paper's: what its steps 2 and 4 say (pure, no Streamlit).

Steps 1 (seeds) and 3 (disagreements) are the same for every labeler; step 2 (each
modality on its own) and step 4 (how a disagreement is resolved) are the labeler's own,
worded from the registry (:data:`cmcsl_core.method.labelers.LABELER_INFO`) with the
current numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from cmcsl_core.evaluation.metrics import LabelingSummary
from cmcsl_core.method.labelers.registry import LABELER_INFO
from cmcsl_core.method.labeling import LabelingResult

from .text import md

__all__ = ["LabelerSteps", "labeler_steps"]


@dataclass(frozen=True)
class LabelerSteps:
    """What the page says for a labeler other than ``cmcsl``."""

    caption: str
    """One line under the title: which labeler the steps follow (and, for auto, its choice)."""
    per_modality: str
    """Step 2."""
    resolution: str
    """Step 4."""


def labeler_steps(result: LabelingResult, summary: LabelingSummary, names: Sequence[str]) -> LabelerSteps | None:
    """The texts of steps 2 and 4 for ``result``'s labeler; None for ``cmcsl`` (the page's own texts)."""
    if result.labeler == "cmcsl" and result.selection is None:
        return None
    info = LABELER_INFO[result.labeler]
    name = result.labeler.upper()
    caption = f"These steps follow the labeler chosen in the sidebar: **{info.title}** ({info.summary})"
    if result.selection is not None:
        caption += f" {result.selection.describe()}."
    own = ", ".join(f"{md(n)} {summary.uni_accuracy[n]:.1%}" for n in names)
    wins = ", ".join(f"{md(n)} {summary.wins[n]:,}" for n in names)
    return LabelerSteps(
        caption,
        f"{info.per_modality} Accuracy of each modality's own labels: {own}.",
        f"{info.resolution} Colors now show the {name} label. Accuracy: {name} {summary.cmcsl_accuracy:.1%} vs "
        f"each modality alone {own}. Disagreements decided by: {wins}.",
    )
