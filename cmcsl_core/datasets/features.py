"""Feature sets and feature files under one name: what most code imports.

* :mod:`cmcsl_core.datasets.feature_set` -- :class:`FeatureSet`, the in-memory data set, and
  its invariants;
* :mod:`cmcsl_core.datasets.feature_file` -- the ``.npz`` feature file (the one interchange
  format of cmcsl-studio; its keys are documented there): :func:`load_features`,
  :func:`save_features`.
"""

from __future__ import annotations

from cmcsl_core.datasets.feature_file import load_features, save_features
from cmcsl_core.datasets.feature_set import OPTIONAL_TEXT_KEYS, RESERVED_KEYS, FeatureSet, make_feature_set

__all__ = [
    "FeatureSet",
    "load_features",
    "save_features",
    "make_feature_set",
    "OPTIONAL_TEXT_KEYS",
    "RESERVED_KEYS",
]
