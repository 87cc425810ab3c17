"""The registry of labelers: names, classes, one-line summaries and the steps the app explains.

Every surface takes a labeler by name from here: ``label --labeler NAME``, the curve
methods (the name in capitals, e.g. ``CM-LS``), the estimator, the app's *Labeler*
select and the Clusters, Review and How pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.labelers.auto import AutoLabeler
from cmcsl_core.method.labelers.base import BaseLabeler
from cmcsl_core.method.labelers.nearest import CMCSLLabeler, ScaledCMCSLLabeler
from cmcsl_core.method.labelers.spreading import (
    BalancedCrossModalSpreadingLabeler,
    BalancedSpreadingLabeler,
    CrossModalSpreadingLabeler,
    LabelSpreadingLabeler,
)
from cmcsl_core.method.labelers.training import CoTrainingLabeler, SelfTrainingLabeler

__all__ = [
    "LABELERS",
    "LABELER_NAMES",
    "DEFAULT_LABELER",
    "LabelerInfo",
    "LABELER_INFO",
    "check_labeler",
    "make_labeler",
    "labeler_method",
    "method_labeler",
]

LABELERS: dict[str, type[BaseLabeler]] = {
    cls.name: cls
    for cls in (
        CMCSLLabeler,
        ScaledCMCSLLabeler,
        LabelSpreadingLabeler,
        CrossModalSpreadingLabeler,
        BalancedSpreadingLabeler,
        BalancedCrossModalSpreadingLabeler,
        SelfTrainingLabeler,
        CoTrainingLabeler,
        AutoLabeler,
    )
}
"""Name -> labeler class, in display order."""

LABELER_NAMES: tuple[str, ...] = tuple(LABELERS)

DEFAULT_LABELER = "cmcsl"
"""The paper's rule, used unless another labeler is named."""


@dataclass(frozen=True)
class LabelerInfo:
    """How a labeler is named and explained.

    Attributes
    ----------
    name : str
        Registry name (``cm-ls``).
    title : str
        Display name (``Cross-modal label spreading``).
    summary : str
        One sentence: what it does.
    per_modality : str
        Step 2 of the app's walk-through: how each modality labels on its own.
    resolution : str
        Step 4: how the final label is chosen where the modalities disagree.
    """

    name: str
    title: str
    summary: str
    per_modality: str
    resolution: str


_NEAREST = (
    "**In each modality separately**, every item takes the label of its **nearest seed** (Euclidean distance "
    "on the preprocessed features): one cluster per seed."
)
_SPREAD = (
    "**In each modality separately**, the seeds' labels **spread over a graph** that links every item to its "
    "10 nearest neighbours (either way): each step an item takes 99 % of its neighbours' class mix and keeps "
    "1 % of its own label (Zhou et al. 2004, 30 steps; scikit-learn's LabelSpreading). Every item ends with a "
    "class distribution; its most probable class is the modality's label."
)
_SPREAD_CMN = (
    "**In each modality separately**, the seeds' labels **spread over a graph** that links every item to its "
    "10 nearest neighbours (either way), as in label spreading, with two corrections: every class starts with "
    "the **same total mass** (a class with more labelled items does not flood the graph), and each class's "
    "share is divided by its **total over all items** (class mass normalisation, Zhu et al. 2003), so that "
    "the most probable class is what is local to the item, not the global class mix."
)

LABELER_INFO: dict[str, LabelerInfo] = {
    "cmcsl": LabelerInfo(
        "cmcsl",
        "CMCSL (the paper's rule)",
        "Nearest seed per modality; where the modalities disagree, the modality in which the item lies nearer "
        "its seed wins.",
        _NEAREST,
        "The modality in which the item lies **closer to its nearest seed** wins (raw Euclidean distances).",
    ),
    "cmcsl-scaled": LabelerInfo(
        "cmcsl-scaled",
        "CMCSL, scaled distances",
        "CMCSL comparing each modality's distance divided by its median nearest-seed distance, so that no "
        "modality wins by the scale of its space.",
        _NEAREST,
        "The modality in which the item is closer to its seed **relative to that modality's typical distance** "
        "(its median nearest-seed distance) wins.",
    ),
    "ls": LabelerInfo(
        "ls",
        "Label spreading",
        "Label spreading over each modality's 10-nearest-neighbour graph; the modality whose class distribution "
        "peaks higher wins.",
        _SPREAD,
        "The modality whose class distribution is **more peaked** (its most probable class more probable) wins.",
    ),
    "cm-ls": LabelerInfo(
        "cm-ls",
        "Cross-modal label spreading",
        "Label spreading per modality; the class distributions are averaged across modalities and the most "
        "probable class of the average wins.",
        _SPREAD,
        "The modalities' class distributions are **averaged**; the average's most probable class is the label "
        "(the deciding modality is the one that favoured it more).",
    ),
    "ls-cmn": LabelerInfo(
        "ls-cmn",
        "Label spreading, class-balanced",
        "Label spreading with equal mass per class and class mass normalisation; the modality whose class "
        "distribution peaks higher wins.",
        _SPREAD_CMN,
        "The modality whose class distribution is **more peaked** (its most probable class more probable) wins.",
    ),
    "cm-ls-cmn": LabelerInfo(
        "cm-ls-cmn",
        "Cross-modal label spreading, class-balanced",
        "Cross-modal label spreading with equal mass per class and class mass normalisation: the class "
        "distributions are averaged across modalities.",
        _SPREAD_CMN,
        "The modalities' class distributions are **averaged**; the average's most probable class is the label "
        "(the deciding modality is the one that favoured it more).",
    ),
    "self-training": LabelerInfo(
        "self-training",
        "Self-training",
        "Per modality, a naive Bayes classifier labels the items it is sure of (probability > 0.75) and is "
        "retrained, up to 10 rounds; the modalities' probabilities are averaged.",
        "**In each modality separately**, a Gaussian naive Bayes trained on the seeds labels every item it is "
        "more than 75 % sure of, is retrained with them, and so on (10 rounds at most); the last classifier "
        "labels the rest.",
        "The modalities' class probabilities are **averaged**; the most probable class is the label.",
    ),
    "co-training": LabelerInfo(
        "co-training",
        "Co-training",
        "One naive Bayes per modality; every round each labels its most confident items for the other "
        "(Blum & Mitchell 1998).",
        "**The modalities teach each other**: one Gaussian naive Bayes per modality, trained on a shared "
        "labelled set; each round each adds the 1 % of items it is most sure of, with its label, to that set "
        "(20 rounds). Each modality's label is its own classifier's prediction.",
        "An item co-training labelled keeps that label; the others take the class of the modalities' "
        "**averaged** probabilities.",
    ),
    "auto": LabelerInfo(
        "auto",
        "Auto (choose from the labelled items)",
        "Hides each labelled item in turn, scores class-balanced CM-LS and CMCSL on them (leave-one-out) and uses "
        "the better (CM-LS on a tie); falls back to CMCSL with fewer than 2 labelled items in a class.",
        "As the chosen labeler does (see its estimate above).",
        "As the chosen labeler does.",
    ),
}


def check_labeler(name: str) -> str:
    """Canonical labeler name (any case; ``_`` for ``-``; curve method spellings such as ``CM-LS``), or CMCSLError."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in LABELERS:
        raise CMCSLError(f"unknown labeler {name!r}; choose one of {', '.join(LABELER_NAMES)}")
    return key


def make_labeler(name: str, **params: Any) -> BaseLabeler:
    """A fresh labeler by name (``params`` go to its constructor)."""
    return LABELERS[check_labeler(name)](**params)


def labeler_method(name: str) -> str:
    """The curve method of a labeler: its name in capitals (``cm-ls`` -> ``CM-LS``)."""
    return check_labeler(name).upper()


def method_labeler(method: str) -> str:
    """The labeler of a curve method (``CM-LS`` -> ``cm-ls``)."""
    return check_labeler(method)
