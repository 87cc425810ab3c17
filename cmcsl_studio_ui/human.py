"""The annotators' own disagreements (data with a human label per modality, e.g. MVSA-Single).

:func:`human_disagreement_block` reports how well CMCSL's modality disagreements match the
items whose image and text annotators disagree; the numbers come from
:func:`cmcsl_core.evaluation.metrics.human_disagreement`, the same function the CLI's
``label`` command prints.
"""

from __future__ import annotations

import math

import streamlit as st

from cmcsl_core.evaluation.metrics import DisagreementAgreement, human_disagreement, human_label_pair
from cmcsl_core.method.labeling import LabelingResult

from .loading import Dataset
from .text import md

__all__ = ["human_disagreement_block", "fmt_score"]


def fmt_score(value: float) -> str:
    """A score in [0, 1] as shown (``"n/a"`` when undefined)."""
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def human_disagreement_block(data: Dataset, result: LabelingResult) -> DisagreementAgreement | None:
    """Draw the human-disagreement metrics (nothing when the data has no per-modality human labels).

    Returns the numbers drawn (None when nothing is drawn).
    """
    fs = data.fs
    pair = human_label_pair(fs)
    score = human_disagreement(fs, result)
    if pair is None or score is None:
        return None
    a, b = md(pair[0]), md(pair[1])
    with st.container(border=True, key="human_disagreement"):
        st.markdown(
            f"**Do CMCSL's disagreements match the annotators'?** Each {a} and each {b} was labeled by its own "
            f"annotators. Of {score.n_items:,} items (seeds left out), they gave the {a} and the {b} different "
            f"labels on {score.n_human:,}. Read CMCSL's *modalities disagree* as a prediction of those."
        )
        cols = st.columns(5)
        cols[0].metric(
            f"Annotators: {a} ≠ {b}",
            f"{score.human_rate:.1%}",
            help=f"{score.n_human:,} of {score.n_items:,} items: labels_{a} differs from labels_{b}.",
        )
        cols[1].metric(
            "CMCSL: UNI labels differ",
            f"{score.cmcsl_rate:.1%}",
            help=f"{score.n_cmcsl:,} of {score.n_items:,} items: the nearest-seed labels of the modalities differ.",
        )
        cols[2].metric(
            "Precision",
            fmt_score(score.precision),
            help=f"{score.n_both:,} of the {score.n_cmcsl:,} items CMCSL flags are annotator disagreements. "
            f"Chance level (flagging at random) is the annotators' rate, {score.human_rate:.3f}.",
        )
        cols[3].metric(
            "Recall",
            fmt_score(score.recall),
            help=f"{score.n_both:,} of the {score.n_human:,} annotator disagreements are flagged by CMCSL.",
        )
        cols[4].metric("F1", fmt_score(score.f1), help="Harmonic mean of precision and recall.")
        lift = "" if math.isnan(score.lift) else f" ({score.lift:.2f}× chance)"
        st.caption(
            f"Precision {fmt_score(score.precision)}{lift}. Color the points by *Annotators disagree* to compare "
            "them with the ringed CMCSL disagreements. The CLI's `label` command prints the same numbers."
        )
    return score
