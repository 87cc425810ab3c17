"""The paper's protocol constants, in one place (import them; never repeat the literals).

The CMCSL paper evaluates with 5 x 2 repeated stratified cross-validation seeded by
``random_state=1410``, for ``b_class = 1..20`` seed items per class, comparing PRE, UNI and
CMCSL; fused methods (EF, LF, ...) report their rows under the modality name ``fused``.
"""

from __future__ import annotations

RANDOM_STATE: int = 1410
"""Seeds the CV splits, the seed draws of the curves and the sklearn base classifiers."""

B_MIN: int = 1
B_MAX: int = 20
B_VALUES: tuple[int, ...] = tuple(range(B_MIN, B_MAX + 1))
"""b_class values of the paper's curves (1..20)."""

REPEATS: int = 5
"""Repetitions of 2-fold stratified CV (5 x 2 CV)."""

DEFAULT_METHODS: tuple[str, ...] = ("PRE", "UNI", "CMCSL")
"""Methods a curve computes unless told otherwise."""

DEFAULT_PREPROCESSING: str = "l2std"
"""The paper's best preprocessing (L2 then standardisation)."""

DEFAULT_CLASSIFIER: str = "gnb"
DEFAULT_CLASS_WEIGHTS: str = "pseudo"

FUSED: str = "fused"
"""The ``modality`` value of rows produced by fused methods (EF, LF, ...)."""

LABELS: str = "labels"
"""The ``modality`` value of a curve's label-quality rows: BAC of a labeler's own labels on the
training fold's non-seed items (``curve --label-quality``)."""

UMAP_SEED: int = 42
"""random_state of the 2-d UMAP views (so a view is reproducible and cacheable)."""

LABEL_SEED: int = 0
"""Default random seed of ``label --b-class`` (and the app's seed picker)."""

CLI: str = "python -m cmcsl_core"
"""How the command lines that requests render begin (the ``cmcsl`` console script is the same)."""
