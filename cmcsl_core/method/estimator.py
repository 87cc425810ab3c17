"""A scikit-learn estimator for CMCSL, modelled on ``sklearn.semi_supervised``.

:class:`CrossModalSelfLabeling` follows scikit-learn's conventions where they
apply to a multimodal input (``X`` is a *list* of arrays, one per modality):
parameters are stored untouched by ``__init__`` and validated by ``fit`` against
``_parameter_constraints`` (scikit-learn's own validation, as in
:class:`sklearn.semi_supervised.LabelSpreading`: a bad value raises
:class:`~sklearn.utils._param_validation.InvalidParameterError`), every modality is
checked by :func:`sklearn.utils.check_array` and its width recorded by ``fit`` and
checked by ``predict`` (``validate_data(reset=False)``, per modality: a
:class:`~cmcsl_core.errors.CMCSLError`), fitted attributes end in ``_`` (so
:func:`sklearn.utils.validation.check_is_fitted` works),
``get_params``/``set_params``/``clone`` round-trip, and ``score`` is
:class:`~sklearn.base.ClassifierMixin`'s accuracy.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from cmcsl_core.constants import DEFAULT_PREPROCESSING
from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.graph import DEFAULT_K, FeatureGraphs
from cmcsl_core.method.labelers.base import normalise_rows
from cmcsl_core.method.labelers.nearest import median_scale
from cmcsl_core.method.labelers.registry import DEFAULT_LABELER, LABELER_NAMES, make_labeler
from cmcsl_core.method.labeling import LabelingResult, cross_modal_labels, squared_distances, squared_norms
from cmcsl_core.method.preprocessing import PREPROCESSINGS, Preprocessor, fit_preprocessor

__all__ = ["CrossModalSelfLabeling", "UNLABELED"]

UNLABELED = -1
"""The label that marks an unlabeled item in ``y`` (as in :mod:`sklearn.semi_supervised`)."""


def _check_X_list(X_list: Sequence[np.ndarray], n_features: Sequence[int] | None = None) -> list[np.ndarray]:
    """The modalities as float arrays with equal row counts and finite values, or CMCSLError.

    ``n_features``: the width of each modality seen in ``fit`` (``predict``: the number of
    modalities and each width must match, like ``validate_data(reset=False)``).
    """
    if isinstance(X_list, np.ndarray) or not isinstance(X_list, (list, tuple)):
        raise CMCSLError("X must be a list of arrays, one (n_samples, n_features) array per modality")
    if len(X_list) < 2:
        raise CMCSLError(f"CMCSL needs at least 2 modalities, got {len(X_list)}")
    if n_features is not None and len(X_list) != len(n_features):
        raise CMCSLError(f"expected {len(n_features)} modalities as in fit, got {len(X_list)}")
    arrays = []
    for m, X in enumerate(X_list):
        if np.ndim(X) != 2:
            raise CMCSLError(f"modality {m} must be 2-D, got shape {np.shape(X)}")
        try:
            A = check_array(X, dtype=np.float64, ensure_min_samples=0, ensure_min_features=1, input_name=f"X[{m}]")
        except ValueError as exc:  # NaN or inf, no column, text that is not a number
            raise CMCSLError(f"modality {m}: {exc}") from None
        if n_features is not None and A.shape[1] != n_features[m]:
            raise CMCSLError(
                f"modality {m} has {A.shape[1]} features, but {CrossModalSelfLabeling.__name__} "
                f"was fitted with {n_features[m]} features in it"
            )
        arrays.append(A)
    n = arrays[0].shape[0]
    for m, A in enumerate(arrays):
        if A.shape[0] != n:
            raise CMCSLError(f"modality {m} has {A.shape[0]} rows, modality 0 has {n}")
    return arrays


class CrossModalSelfLabeling(ClassifierMixin, BaseEstimator):
    """Cross-Modality Clustering-based Self-Labeling.

    Every unlabeled item takes the label of its nearest labeled item (seed) in each
    modality; where modalities disagree, the modality in which the item is nearer
    to its seed decides. Like :class:`sklearn.semi_supervised.LabelPropagation`,
    ``fit`` takes all items with ``-1`` marking the unlabeled ones and stores the
    inferred labels in ``transduction_``; ``predict`` labels new items from the
    same seeds.

    Parameters
    ----------
    preprocessing : {"raw", "l2", "std", "minmax", "l2std"}, default="l2std"
        Applied to each modality, fitted on the items passed to ``fit``.
    labeler : str, default="cmcsl"
        Any labeler of :mod:`cmcsl_core.method.labelers` (``cmcsl``: the paper's rule, as
        described above; ``cm-ls``, ``auto``, ...).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels seen among the labeled items, sorted.
    transduction_ : ndarray of shape (n_samples,)
        CMCSL label of every item passed to ``fit``.
    labels_per_modality_ : ndarray of shape (n_modalities, n_samples)
        Each modality's own nearest-seed (UNI) labels.
    distances_ : ndarray of shape (n_modalities, n_samples)
        Distance of every item to its nearest seed, per modality.
    decided_by_ : ndarray of shape (n_samples,)
        Modality whose label was kept, or -1 where all agree.
    disagreement_ : ndarray of shape (n_samples,) of bool
        Where the modalities' labels differ.
    seed_indices_ : ndarray of shape (n_seeds,)
        Indices of the labeled items, sorted.
    seed_X_ : list of ndarray of shape (n_seeds, n_features_m)
        The preprocessed seed rows, per modality (what ``predict`` compares with).
    class_scores_ : ndarray of shape (n_modalities, n_samples, n_classes)
        Each modality's class scores (see :class:`LabelingResult`).
    confidence_ : ndarray of shape (n_samples,)
        The labeler's confidence in each final label (larger = surer).
    labeling_ : LabelingResult
        The full result (labels encoded as positions in ``classes_``).
    preprocessors_ : list of Preprocessor
        Fitted preprocessing per modality.
    n_modalities_in_ : int
        Number of modalities seen in ``fit``.
    n_features_per_modality_ : tuple of int
        Width of each modality seen in ``fit`` (``predict`` needs the same).

    See Also
    --------
    cmcsl_core.method.labeling.propagate : the same labeling on a FeatureSet.

    Examples
    --------
    >>> import numpy as np
    >>> X_img = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 4.9]])
    >>> X_txt = np.array([[1.0], [0.9], [-1.0], [-1.1]])
    >>> y = np.array([0, -1, 1, -1])  # -1 marks unlabeled items
    >>> model = CrossModalSelfLabeling(preprocessing="raw").fit([X_img, X_txt], y)
    >>> model.transduction_
    array([0, 0, 1, 1])
    >>> model.predict([np.array([[4.0, 4.0]]), np.array([[-0.8]])])
    array([1])
    """

    def __init__(self, preprocessing: str = DEFAULT_PREPROCESSING, labeler: str = DEFAULT_LABELER) -> None:
        self.preprocessing = preprocessing
        self.labeler = labeler

    _parameter_constraints: dict = {
        "preprocessing": [StrOptions(set(PREPROCESSINGS))],
        "labeler": [StrOptions(set(LABELER_NAMES))],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Sequence[np.ndarray], y: np.ndarray) -> "CrossModalSelfLabeling":
        """Label all items of ``X`` from the labeled ones in ``y`` (-1 = unlabeled).

        Parameters
        ----------
        X : list of arrays of shape (n_samples, n_features_m)
            One array per modality (at least 2).
        y : array-like of shape (n_samples,)
            Integer labels, -1 for unlabeled items.

        Returns
        -------
        self : CrossModalSelfLabeling
            The fitted estimator.

        Raises
        ------
        sklearn.utils._param_validation.InvalidParameterError
            A bad parameter (a ``ValueError``).
        CMCSLError
            Malformed ``X`` or ``y``, or no labeled item.
        """
        arrays = _check_X_list(X)
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != arrays[0].shape[0]:
            raise CMCSLError(f"y must have one label per item ({arrays[0].shape[0]}), got shape {y.shape}")
        labeled = np.flatnonzero(y != UNLABELED)
        if labeled.size == 0:
            raise CMCSLError(f"no labeled item: mark at least one item with its class (unlabeled = {UNLABELED})")
        classes, encoded = np.unique(y[labeled], return_inverse=True)
        preprocessors = [fit_preprocessor(A, self.preprocessing) for A in arrays]
        Xp = [p.transform(A) for p, A in zip(preprocessors, arrays)]
        result = make_labeler(self.labeler).label(
            FeatureGraphs(Xp, cache=False), labeled, encoded.astype(np.int64), len(classes)
        )
        self.classes_ = classes
        self.X_ = Xp
        self.preprocessors_: list[Preprocessor] = preprocessors
        self.seed_X_ = [A[labeled] for A in Xp]
        self.seed_indices_ = labeled
        self.labeling_: LabelingResult = result
        self.n_modalities_in_ = len(arrays)
        self.n_features_per_modality_ = tuple(A.shape[1] for A in arrays)
        self.transduction_ = classes[result.final_labels]
        self.labels_per_modality_ = classes[result.labels]
        self.distances_ = result.distances
        self.decided_by_ = result.decided_by
        self.disagreement_ = result.disagree
        self.class_scores_ = result.class_scores
        self.confidence_ = result.confidence
        return self

    def _label_new(self, X: Sequence[np.ndarray]) -> LabelingResult:
        """New items labelled from the fit: by nearest seed (``cmcsl``, ``cmcsl-scaled``), else by their
        ``k = 10`` nearest fitted items' per-modality labels (votes averaged across modalities)."""
        check_is_fitted(self)
        arrays = _check_X_list(X, self.n_features_per_modality_)
        Xp = [p.transform(A) for p, A in zip(self.preprocessors_, arrays)]
        seeds = self.labeling_
        kind = seeds.labeler
        if kind in ("cmcsl", "cmcsl-scaled"):
            result = cross_modal_labels(Xp, seeds.seed_idx, seeds.seed_labels, seed_X=self.seed_X_)
            if kind == "cmcsl":
                return result
            scaled = result.distances / median_scale(seeds.distances, seeds.is_seed)[:, None]
            winner = np.argmin(scaled, axis=0)
            final = result.labels[winner, np.arange(result.n_items)]
            return LabelingResult(
                result.modality_names, result.seed_idx, result.seed_labels, result.labels, result.distances,
                result.nearest_seed, final, np.where(result.disagree, winner, -1), result.disagree, False, kind,
            )
        k = len(self.classes_)
        votes = np.stack([_knn_votes(A, F, seeds.labels[m], k) for m, (A, F) in enumerate(zip(Xp, self.X_))])
        labels = np.argmax(votes, axis=2)
        final = np.argmax(votes.mean(axis=0), axis=1)
        disagree = np.any(labels != labels[:1], axis=0)
        decided = np.argmax(votes[:, np.arange(final.size), final], axis=0)
        empty = np.zeros(labels.shape, dtype=np.int64)
        return LabelingResult(
            seeds.modality_names, seeds.seed_idx, seeds.seed_labels, labels, empty.astype(float), empty, final,
            np.where(disagree, decided, -1), disagree, False, kind, votes,
        )

    def predict(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """CMCSL labels of new items from the seeds seen in ``fit``.

        Parameters
        ----------
        X : list of arrays of shape (n_samples, n_features_m)
            The same modalities as in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples,)

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        CMCSLError
            Malformed ``X``: another number of modalities, or a modality of another width than in ``fit``.
        """
        result = self._label_new(X)  # raises NotFittedError before classes_ is looked up
        return self.classes_[result.final_labels]

    def predict_proba(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """Class scores of new items averaged over the modalities, rows summing to 1 (``cmcsl``: one-hot)."""
        result = self._label_new(X)
        if result.class_scores is None:
            return np.eye(len(self.classes_))[result.final_labels]
        return normalise_rows(result.class_scores.mean(axis=0))

    def predict_per_modality(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """Each modality's nearest-seed (UNI) labels of new items, shape (n_modalities, n_samples)."""
        result = self._label_new(X)
        return self.classes_[result.labels]


def _knn_votes(X: np.ndarray, F: np.ndarray, labels: np.ndarray, n_classes: int, k: int = DEFAULT_K) -> np.ndarray:
    """Share of each class among the labels of the ``k`` nearest rows of ``F`` to every row of ``X``, (n, K)."""
    k = min(k, F.shape[0])
    d2 = squared_distances(X, F, squared_norms(X))
    near = np.argpartition(d2, k - 1, axis=1)[:, :k]
    votes = np.zeros((X.shape[0], n_classes))
    np.add.at(votes, (np.repeat(np.arange(X.shape[0]), k), labels[near].ravel()), 1.0 / k)
    return votes
