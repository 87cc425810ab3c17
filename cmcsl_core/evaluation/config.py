"""What a BAC curve computes: the method names and :class:`CurveConfig`.

:class:`CurveConfig` is the one request type of a curve: the CLI's ``curve`` parses
into it, :func:`cmcsl_core.evaluation.curve.run_curve` runs it, the app shows it,
and :meth:`CurveConfig.command` renders the equivalent command line.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Iterable

from cmcsl_core.constants import (
    B_VALUES,
    CLI,
    DEFAULT_CLASS_WEIGHTS,
    DEFAULT_CLASSIFIER,
    DEFAULT_METHODS,
    DEFAULT_PREPROCESSING,
    RANDOM_STATE,
    REPEATS,
)
from cmcsl_core.errors import CMCSLError
from cmcsl_core.evaluation.fusion import FUSION_RULES
from cmcsl_core.evaluation.model_selection import C_GRID, c_text, check_c_grid
from cmcsl_core.method.labelers.registry import DEFAULT_LABELER, LABELER_NAMES
from cmcsl_core.method.preprocessing import check_preprocessing
from cmcsl_core.models.classifiers import check_class_weights, check_classifier

__all__ = [
    "METHODS",
    "SEEDED_METHODS",
    "LABELER_METHODS",
    "LF_METHODS",
    "CMCSL_FUSION_METHODS",
    "check_methods",
    "CurveConfig",
]

LF_METHODS: tuple[str, ...] = tuple(f"LF-{rule}" for rule in FUSION_RULES)
"""Late fusion (:mod:`~cmcsl_core.evaluation.fusion`) of classifiers trained on true labels (modality ``fused``)."""

CMCSL_FUSION_METHODS: tuple[str, ...] = tuple(f"CMCSL-{rule}" for rule in FUSION_RULES)
"""Late fusion of classifiers trained on CMCSL pseudo-labels (modality ``fused``; depend on ``b_class``)."""

LABELER_METHODS: tuple[str, ...] = tuple(n.upper() for n in LABELER_NAMES if n != DEFAULT_LABELER)
"""The labelers beyond the paper's rule as curve methods (``CM-LS``, ...): per modality, a classifier trained
on the labeler's final labels, like ``CMCSL`` (which is the ``cmcsl`` labeler)."""

METHODS: tuple[str, ...] = (
    "FULL", "PRE", "UNI", "CMCSL", *LABELER_METHODS, "EF", "LF", *LF_METHODS, *CMCSL_FUSION_METHODS
)
"""All methods, in display order."""

SEEDED_METHODS: tuple[str, ...] = ("PRE", "UNI", "CMCSL", *LABELER_METHODS)
"""Per-modality methods that train on seeds (and so depend on ``b_class``)."""

def check_methods(methods: Iterable[str] | str) -> tuple[str, ...]:
    """Canonical, de-duplicated method names in :data:`METHODS` order.

    Parameters
    ----------
    methods : iterable of str, or str
        Method names (any case); a string is split at commas and spaces.

    Returns
    -------
    tuple of str

    Raises
    ------
    CMCSLError
        No method, or an unknown one.
    """
    if isinstance(methods, str):
        methods = [m for m in methods.replace(" ", ",").split(",") if m]
    wanted = [str(m).strip().upper() for m in methods]
    if not wanted:
        raise CMCSLError(f"no method given; choose from {', '.join(METHODS)}")
    unknown = [m for m in wanted if m not in METHODS]
    if unknown:
        raise CMCSLError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    return tuple(m for m in METHODS if m in wanted)


@dataclass(frozen=True)
class CurveConfig:
    """Everything that determines a BAC curve (besides the data).

    The CLI's ``curve`` flags map one to one onto these fields.

    Parameters
    ----------
    methods : tuple of str, default=("PRE", "UNI", "CMCSL")
        Any of :data:`METHODS`.
    classifier : {"gnb", "lr", "cart"}, default="gnb"
        Base classifier.
    preprocessing : {"raw", "l2", "std", "minmax", "l2std"}, default="l2std"
        Fitted on each training fold, applied to its test fold.
    b_values : tuple of int, default=(1, ..., 20)
        Seeds per class to evaluate.
    repeats : int, default=5
        Repetitions of 2-fold stratified CV.
    random_state : int, default=1410
        Seeds the CV split and the seed draws.
    class_weights : {"pseudo", "oracle", "none"}, default="pseudo"
        Sample-weight scheme (see :data:`cmcsl_core.models.classifiers.CLASS_WEIGHTS`).
    n_jobs : int, default=-1
        Folds computed side by side in threads; -1 uses all cores, 1 runs them one
        after the other. Does not change the result.
    label_quality : bool, default=False
        Also score the labels themselves: for ``CMCSL`` and every labeler method, the
        BAC of its labels on the training fold's non-seed items (modality ``labels``).
    c_grid : tuple of float, default=C_GRID
        With ``classifier="lr"``, the ``C`` values the DRA/MLA methods choose from on
        their validation split (:mod:`~cmcsl_core.evaluation.model_selection`).

    Examples
    --------
    >>> config = CurveConfig(methods=("cmcsl", "pre"), b_values=(3, 1, 2)).validated()
    >>> config.methods, config.b_values
    (('PRE', 'CMCSL'), (1, 2, 3))
    >>> print(config.command("my features.npz"))  # doctest: +NORMALIZE_WHITESPACE
    python -m cmcsl_core curve --features 'my features.npz' --methods PRE,CMCSL --classifier gnb
    --preprocessing l2std --b-min 1 --b-max 3 --repeats 5 --seed 1410 --class-weights pseudo --out curve.csv
    """

    methods: tuple[str, ...] = DEFAULT_METHODS
    classifier: str = DEFAULT_CLASSIFIER
    preprocessing: str = DEFAULT_PREPROCESSING
    b_values: tuple[int, ...] = B_VALUES
    repeats: int = REPEATS
    random_state: int = RANDOM_STATE
    class_weights: str = DEFAULT_CLASS_WEIGHTS
    n_jobs: int = -1
    label_quality: bool = False
    c_grid: tuple[float, ...] = C_GRID

    def validated(self) -> "CurveConfig":
        """A copy with canonical names and sorted, unique ``b_values``.

        Raises
        ------
        CMCSLError
            For an unknown name, ``b_class < 1``, ``repeats < 1`` or ``n_jobs`` 0 or < -1.
        """
        try:
            b_values = tuple(int(b) for b in self.b_values)
            repeats, random_state, n_jobs = int(self.repeats), int(self.random_state), int(self.n_jobs)
        except (TypeError, ValueError) as exc:
            raise CMCSLError(f"b_values, repeats, random_state and n_jobs must be whole numbers ({exc})") from None
        if not b_values or min(b_values) < 1:
            raise CMCSLError("b_class values must be whole numbers >= 1")
        if repeats < 1:
            raise CMCSLError(f"repeats must be at least 1, got {self.repeats}")
        if n_jobs == 0 or n_jobs < -1:
            raise CMCSLError(f"n_jobs (--jobs) must be a positive number or -1 (all cores), got {self.n_jobs}")
        return CurveConfig(
            methods=check_methods(self.methods),
            classifier=check_classifier(self.classifier),
            preprocessing=check_preprocessing(self.preprocessing),
            b_values=tuple(sorted(set(b_values))),
            repeats=repeats,
            random_state=random_state,
            class_weights=check_class_weights(self.class_weights),
            n_jobs=n_jobs,
            label_quality=bool(self.label_quality),
            c_grid=check_c_grid(self.c_grid),
        )

    @classmethod
    def paper(cls, methods: Iterable[str] = ("FULL", "PRE", "UNI", "CMCSL")) -> "CurveConfig":
        """The CMCSL paper's protocol: GNB, L2STD, b_class 1..20, 5 x 2 CV seeded 1410.

        It uses the authors' oracle class weights.

        ``methods`` picks the curves (the paper's Table V compares FULL, PRE, UNI and CMCSL).
        """
        return cls(methods=tuple(methods), classifier="gnb", preprocessing="l2std", class_weights="oracle")

    @property
    def seeded(self) -> bool:
        """True when some method trains on seeds (so ``b_values`` matter)."""
        return any(m in SEEDED_METHODS or m in CMCSL_FUSION_METHODS for m in self.methods)

    def command(self, features: str, out: str = "curve.csv") -> str:
        """The equivalent ``python -m cmcsl_core curve ...`` line, paths shell-quoted.

        ``b_values`` that form a range are written as ``--b-min``/``--b-max``, others as
        ``--b-values``. Parsing the line with the CLI gives back this (validated) config.
        """
        c = self.validated()
        b = c.b_values
        if b == tuple(range(b[0], b[-1] + 1)):
            b_args = ["--b-min", str(b[0]), "--b-max", str(b[-1])]
        else:
            b_args = ["--b-values", ",".join(map(str, b))]
        args = [
            "curve",
            "--features", str(features),
            "--methods", ",".join(c.methods),
            "--classifier", c.classifier,
            "--preprocessing", c.preprocessing,
            *b_args,
            "--repeats", str(c.repeats),
            "--seed", str(c.random_state),
            "--class-weights", c.class_weights,
            *(["--jobs", str(c.n_jobs)] if c.n_jobs != -1 else []),
            *(["--label-quality"] if c.label_quality else []),
            *(["--c-grid", ",".join(c_text(v) for v in c.c_grid)] if c.c_grid != C_GRID else []),
            "--out", str(out),
        ]
        return f"{CLI} {shlex.join(args)}"
