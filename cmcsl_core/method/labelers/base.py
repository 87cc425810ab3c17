"""What every labeler is: a scikit-learn style estimator that labels items from seeds, per modality and across.

A labeler's :meth:`BaseLabeler.label` takes the preprocessed modalities (a
:class:`~cmcsl_core.method.graph.FeatureGraphs`, which also keeps their kNN graphs), the
labelled items (seeds, plus human labels when there are any) and returns a
:class:`~cmcsl_core.method.labeling.LabelingResult`: per-modality labels and class
scores, the final labels, ``decided_by``, a per-item confidence. Its :meth:`BaseLabeler.fit`
is the scikit-learn form of the same call (``X`` a list of arrays, ``y`` with ``-1`` for
unlabelled items), like :mod:`sklearn.semi_supervised`.

Rules every labeler keeps (so the pages, tables and queues read any result alike):

* a labelled item keeps its own label, in every modality and finally;
* ``decided_by`` is ``-1`` where the modalities' labels agree, else the modality whose
  label was kept (for the probabilistic labelers: whose own distribution favoured the
  final label more; ties to the first modality);
* ``nearest_seed`` and ``distances`` name the nearest labelled item of the class each
  modality proposes (:func:`with_seed_evidence`).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Sequence

import numpy as np

from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.graph import FeatureGraphs
from cmcsl_core.method.labeling import LabelingResult, distances_to, nearest_seed_per_class

__all__ = [
    "BaseLabeler",
    "EstimatorParams",
    "check_labelled",
    "margin",
    "fuse_distributions",
    "probabilistic_result",
    "with_seed_evidence",
    "with_fallback",
    "normalise_rows",
]


def check_labelled(
    seed_idx: np.ndarray, seed_labels: np.ndarray, n_items: int, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Labelled items and labels as int arrays; CMCSLError for a bad set."""
    idx = np.asarray(seed_idx, dtype=np.int64)
    lab = np.asarray(seed_labels, dtype=np.int64)
    if idx.ndim != 1 or idx.shape != lab.shape:
        raise CMCSLError("seed_idx and seed_labels must be 1-D and of equal length")
    if idx.size == 0:
        raise CMCSLError("at least one seed is needed")
    if np.unique(idx).size != idx.size or idx.min() < 0 or idx.max() >= n_items:
        raise CMCSLError("seed indices must be distinct and refer to existing items")
    if lab.min() < 0 or lab.max() >= n_classes:
        raise CMCSLError(f"seed labels must lie in 0..{n_classes - 1}")
    return idx, lab


def normalise_rows(P: np.ndarray) -> np.ndarray:
    """Rows divided by their sums (a zero row stays zero)."""
    s = P.sum(axis=-1, keepdims=True)
    return P / np.where(s > 0, s, 1.0)


def margin(scores: np.ndarray) -> np.ndarray:
    """Best minus second-best score per row (``inf`` with one finite class, 0 with none)."""
    if scores.shape[-1] < 2:
        return np.full(scores.shape[:-1], np.inf)
    top = -np.partition(-scores, 1, axis=-1)[..., :2]
    with np.errstate(invalid="ignore"):
        out = top[..., 0] - top[..., 1]
    out = np.where(np.isneginf(top[..., 1]) & np.isfinite(top[..., 0]), np.inf, out)
    return np.where(np.isnan(out), 0.0, out)


def with_seed_evidence(
    graphs: FeatureGraphs,
    seed_idx: np.ndarray,
    seed_labels: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per modality and item: the nearest labelled item of the proposed class and its (exact) distance.

    Returns ``nearest`` (positions in ``seed_idx``) and ``distances``, both (M, N); a seed
    points at itself with distance 0.
    """
    m_count, n = labels.shape
    nearest = np.empty((m_count, n), dtype=np.int64)
    distances = np.empty((m_count, n), dtype=np.float64)
    rows = np.arange(n)
    for m, X in enumerate(graphs.X):
        S = np.asarray(X[seed_idx], dtype=np.float64)
        idx, _ = nearest_seed_per_class(X, S, seed_labels, n_classes)
        pos = idx[rows, labels[m]]
        pos = np.where(pos >= 0, pos, 0)  # a proposed class always has a seed; guard anyway
        pos[seed_idx] = np.arange(seed_idx.size)
        nearest[m] = pos
        distances[m] = distances_to(np.asarray(X, dtype=np.float64), S, pos)
        distances[m, seed_idx] = 0.0
    return nearest, distances


def fuse_distributions(P: np.ndarray, rule: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Final labels, ``decided_by`` (before the agreement mask) and confidence from (M, N, K) distributions.

    ``rule="mean"``: the argmax of the modalities' average; the confidence is the
    average's best-minus-second margin. ``rule="max"``: the modality whose own best class
    is most probable decides (CMCSL's "more confident modality wins", with the
    distribution's peak as confidence); the confidence is that modality's margin.
    """
    m_count, n, _ = P.shape
    rows = np.arange(n)
    if rule == "mean":
        avg = P.mean(axis=0)
        final = np.argmax(avg, axis=1)
        decided = np.argmax(P[:, rows, final], axis=0)  # first modality wins ties
        return final, decided, margin(avg)
    if rule == "max":
        peak = P.max(axis=2)
        decided = np.argmax(peak, axis=0)
        final = np.argmax(P[decided, rows], axis=1)
        return final, decided, margin(P[decided, rows])
    raise CMCSLError(f"unknown fusion rule {rule!r}")


def with_fallback(P: np.ndarray, fallback: np.ndarray | None) -> np.ndarray:
    """``P`` (M, N, K) row-normalised, all-zero rows replaced by the one-hot of ``fallback[m, i]`` (if given)."""
    P = normalise_rows(np.asarray(P, dtype=np.float64))
    if fallback is not None:
        for m in range(P.shape[0]):
            empty = P[m].sum(axis=1) == 0
            if empty.any():
                P[m, empty, fallback[m, empty]] = 1.0
    return P


def probabilistic_result(
    name: str,
    graphs: FeatureGraphs,
    seed_idx: np.ndarray,
    seed_labels: np.ndarray,
    n_classes: int,
    P: np.ndarray,
    rule: str,
    modality_names: Sequence[str] | None = None,
    fallback: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    final: np.ndarray | None = None,
) -> LabelingResult:
    """The :class:`LabelingResult` of per-modality class distributions ``P`` (M, N, K).

    Rows of ``P`` that are all zero (an item the method never reached in that modality)
    take ``fallback[m]`` (e.g. the nearest seed's label) as a one-hot distribution.
    ``labels`` (M, N) and ``final`` (N,, -1 where ``rule`` decides) override what the
    distributions say, for labelers that commit to labels along the way (self- and
    co-training). Labelled items keep their own label everywhere.
    """
    P = with_fallback(P, fallback)
    m_count, n, k = P.shape
    labels = np.argmax(P, axis=2) if labels is None else np.array(labels, dtype=np.int64)
    labels[:, seed_idx] = seed_labels[None, :]
    fused, decided, confidence = fuse_distributions(P, rule)
    if final is not None:
        committed = np.asarray(final) >= 0
        fused = np.where(committed, final, fused)
        decided = np.where(committed, np.argmax(P[:, np.arange(n), fused], axis=0), decided)
    final = fused
    final[seed_idx] = seed_labels
    disagree = np.any(labels != labels[:1], axis=0)
    decided_by = np.where(disagree, decided, -1)
    nearest, distances = with_seed_evidence(graphs, seed_idx, seed_labels, labels, n_classes)
    names = tuple(modality_names) if modality_names is not None else tuple(f"m{i}" for i in range(m_count))
    return LabelingResult(
        modality_names=names,
        seed_idx=seed_idx,
        seed_labels=seed_labels,
        labels=labels.astype(np.int64),
        distances=distances,
        nearest_seed=nearest,
        final_labels=final.astype(np.int64),
        decided_by=decided_by.astype(np.int64),
        disagree=disagree,
        labeler=name,
        class_scores=P,
        confidence=confidence,
    )


class EstimatorParams:
    """scikit-learn's parameter protocol (``get_params``, ``set_params``, the repr), without importing scikit-learn.

    The same contract as :class:`sklearn.base.BaseEstimator`: the parameters are the
    ``__init__`` arguments, stored untouched under their own names, so
    :func:`sklearn.base.clone` and grid searches work on a labeler. Importing scikit-learn
    costs more than a whole labeling of a few thousand items (1.3 CPU-s here), and the
    ``label`` command and the app's labelers need nothing else from it.
    """

    @classmethod
    def _get_param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        if any(p.kind == p.VAR_POSITIONAL for p in params):
            raise CMCSLError(f"{cls.__name__} must take its parameters by name (no *args), as scikit-learn requires")
        return sorted(p.name for p in params if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The parameters by name (``deep``: also those of parameters that are estimators, as ``name__param``)."""
        out: dict[str, Any] = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params: Any) -> "EstimatorParams":
        """Set parameters by name; CMCSLError for an unknown one. Returns self."""
        valid = self._get_param_names()
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise CMCSLError(f"invalid parameter {name!r} for {type(self).__name__}; valid: {', '.join(valid)}")
            if sub:
                getattr(self, name).set_params(**{sub: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values() if p.name != "self"
        }
        changed = [f"{k}={v!r}" for k, v in self.get_params(deep=False).items() if not _same(v, defaults.get(k))]
        return f"{type(self).__name__}({', '.join(changed)})"


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # noqa: BLE001 - arrays and the like: shown
        return False


class BaseLabeler(EstimatorParams, ABC):
    """A labeler: labels every item from a few labelled ones, per modality and across modalities.

    Subclasses set :attr:`name` and implement :meth:`label`; :meth:`fit` and
    :meth:`held_out_labels` come with it. Parameters are stored untouched by
    ``__init__`` (scikit-learn's convention, :class:`EstimatorParams`) and checked by :meth:`label`.

    Attributes (after :meth:`fit`)
    ------------------------------
    classes_ : ndarray of shape (n_classes,)
        Labels seen among the labelled items, sorted.
    transduction_ : ndarray of shape (n_samples,)
        Final label of every item.
    labels_per_modality_ : ndarray of shape (n_modalities, n_samples)
    class_scores_ : ndarray of shape (n_modalities, n_samples, n_classes)
    confidence_ : ndarray of shape (n_samples,)
    decided_by_ : ndarray of shape (n_samples,)
    labeling_ : LabelingResult
        Everything, labels encoded as positions in ``classes_``.
    """

    name: ClassVar[str] = ""

    @abstractmethod
    def label(
        self,
        graphs: FeatureGraphs,
        seed_idx: np.ndarray,
        seed_labels: np.ndarray,
        n_classes: int,
        modality_names: Sequence[str] | None = None,
    ) -> LabelingResult:
        """Label every item of ``graphs`` from the labelled items ``seed_idx`` (classes ``seed_labels``).

        Parameters
        ----------
        graphs : FeatureGraphs
            The preprocessed modalities (and their cached kNN graphs).
        seed_idx : ndarray of shape (S,)
            Distinct item indices of the labelled items (seeds and human labels).
        seed_labels : ndarray of shape (S,)
            Their classes, ``0 .. n_classes - 1``.
        n_classes : int
            K (classes without a labelled item are never proposed).
        modality_names : sequence of str, optional
            Names carried into the result.

        Returns
        -------
        LabelingResult
        """

    def held_out_labels(
        self,
        graphs: FeatureGraphs,
        seed_idx: np.ndarray,
        seed_labels: np.ndarray,
        n_classes: int,
        held_out: np.ndarray,
    ) -> np.ndarray:
        """The final label each held-out labelled item gets when its own label is hidden.

        ``held_out`` are positions in ``seed_idx``; one run per item (labelers with a
        faster way override this). Used by :class:`~cmcsl_core.method.labelers.auto.AutoLabeler`.
        """
        out = np.empty(len(held_out), dtype=np.int64)
        for j, pos in enumerate(np.asarray(held_out, dtype=np.int64)):
            keep = np.ones(seed_idx.size, dtype=bool)
            keep[pos] = False
            result = self.label(graphs, seed_idx[keep], seed_labels[keep], n_classes)
            out[j] = result.final_labels[seed_idx[pos]]
        return out

    def final_labels_many(
        self, graphs: FeatureGraphs, seed_sets: Sequence[tuple[np.ndarray, np.ndarray]], n_classes: int
    ) -> list[np.ndarray]:
        """The final labels from each of several seed sets ``(seed_idx, seed_labels)`` (the b_class values
        of a curve fold); one :meth:`label` each unless a labeler has a faster way."""
        return [self.label(graphs, idx, lab, n_classes).final_labels for idx, lab in seed_sets]

    def fit(self, X: Sequence[np.ndarray], y: np.ndarray) -> "BaseLabeler":
        """Label all items of ``X`` (one array per modality, already preprocessed) from ``y`` (-1 = unlabelled).

        Returns
        -------
        self
        """
        arrays = [np.asarray(A, dtype=np.float64) for A in X]
        if len(arrays) < 1 or any(A.ndim != 2 or A.shape[0] != arrays[0].shape[0] for A in arrays):
            raise CMCSLError("X must be a list of 2-D arrays with the same number of rows")
        y = np.asarray(y)
        if y.shape != (arrays[0].shape[0],):
            raise CMCSLError(f"y must have one label per item ({arrays[0].shape[0]}), got shape {y.shape}")
        labelled = np.flatnonzero(y != -1)
        if labelled.size == 0:
            raise CMCSLError("no labelled item: mark at least one item with its class (unlabelled = -1)")
        classes, encoded = np.unique(y[labelled], return_inverse=True)
        result = self.label(FeatureGraphs(arrays, cache=False), labelled, encoded.astype(np.int64), len(classes))
        self.classes_ = classes
        self.labeling_ = result
        self.transduction_ = classes[result.final_labels]
        self.labels_per_modality_ = classes[result.labels]
        self.class_scores_ = result.class_scores
        self.confidence_ = result.confidence
        self.decided_by_ = result.decided_by
        return self
