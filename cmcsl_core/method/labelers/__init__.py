"""Labelers: one interface for every way of labelling items from a few seeds (see :mod:`.base`).

=================  ==============================================================================
``cmcsl``          the paper's rule (default): nearest seed per modality, the nearer modality wins
``cmcsl-scaled``   the same on distances divided by each modality's median nearest-seed distance
``ls``             label spreading per modality on a kNN graph; the more confident modality wins
``cm-ls``          cross-modal label spreading: per-modality distributions averaged
``ls-cmn``         ``ls`` with equal mass per class and class mass normalisation
``cm-ls-cmn``      ``cm-ls`` with equal mass per class and class mass normalisation
``self-training``  scikit-learn's SelfTrainingClassifier (GaussianNB) per modality, averaged
``co-training``    Blum & Mitchell: the modalities label their most confident items for each other
``auto``           chooses among them by leave-one-out over the labelled items
=================  ==============================================================================
"""

from cmcsl_core.method.labelers.auto import AutoLabeler, Selection
from cmcsl_core.method.labelers.base import BaseLabeler
from cmcsl_core.method.labelers.nearest import CMCSLLabeler, ScaledCMCSLLabeler
from cmcsl_core.method.labelers.registry import (
    DEFAULT_LABELER,
    LABELER_INFO,
    LABELER_NAMES,
    LABELERS,
    LabelerInfo,
    check_labeler,
    labeler_method,
    make_labeler,
    method_labeler,
)
from cmcsl_core.method.labelers.spreading import (
    BalancedCrossModalSpreadingLabeler,
    BalancedSpreadingLabeler,
    CrossModalSpreadingLabeler,
    LabelSpreadingLabeler,
)
from cmcsl_core.method.labelers.training import CoTrainingLabeler, SelfTrainingLabeler

__all__ = [
    "AutoLabeler",
    "BalancedCrossModalSpreadingLabeler",
    "BalancedSpreadingLabeler",
    "BaseLabeler",
    "CMCSLLabeler",
    "CoTrainingLabeler",
    "CrossModalSpreadingLabeler",
    "DEFAULT_LABELER",
    "LABELERS",
    "LABELER_INFO",
    "LABELER_NAMES",
    "LabelSpreadingLabeler",
    "LabelerInfo",
    "ScaledCMCSLLabeler",
    "SelfTrainingLabeler",
    "Selection",
    "check_labeler",
    "labeler_method",
    "make_labeler",
    "method_labeler",
]
