"""Base classifiers trained on (pseudo-)labels, in one import: GNB, LR and CART.

The names, class weights and scikit-learn factory live in :mod:`cmcsl_core.models.base`,
the batched Gaussian naive Bayes in :mod:`cmcsl_core.models.gnb`; this module gathers
them for callers that want "the classifiers".
"""

from __future__ import annotations

from cmcsl_core.models.base import (
    CLASS_WEIGHTS,
    CLASSIFIERS,
    check_class_weights,
    check_classifier,
    class_weight_vector,
    make_sklearn_classifier,
)
from cmcsl_core.models.gnb import GNBBatch, GNBModel, GNBTask

__all__ = [
    "CLASSIFIERS",
    "CLASS_WEIGHTS",
    "check_classifier",
    "check_class_weights",
    "class_weight_vector",
    "make_sklearn_classifier",
    "GNBModel",
    "GNBTask",
    "GNBBatch",
]
