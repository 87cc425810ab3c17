"""Final labels from seeds plus human labels, with where each label came from.

Human labels win. Every other item is labelled by the request's labeler (CMCSL, the
paper's rule, by default; :mod:`cmcsl_core.method.labelers`) from the seeds PLUS the
human-labelled items as additional seeds (a human label counts as a seed with that
label; a seed a human relabelled takes the human's label). Each item's provenance is

``human``   a person labelled it (``annotator`` names who);
``seed``    one of the seeds (its label is read from the feature file);
``agree``   all modalities proposed the same label;
``<name>``  the modalities disagreed and this modality decided (for CMCSL: the one nearer its seed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from cmcsl_core.annotations.actions import HumanLabels
from cmcsl_core.annotations.store import AnnotationStore
from cmcsl_core.constants import DEFAULT_PREPROCESSING
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.method.graph import FeatureGraphs
from cmcsl_core.method.labelers.registry import DEFAULT_LABELER, check_labeler, make_labeler
from cmcsl_core.method.labeling import LabelingResult
from cmcsl_core.method.preprocessing import check_preprocessing, preprocess_features
from cmcsl_core.method.request import LabelRequest
from cmcsl_core.method.seeds import check_seeds
from cmcsl_core.tables import label_table

__all__ = [
    "HUMAN",
    "SEED",
    "AGREE",
    "AnnotatedLabels",
    "labels_with_annotations",
    "labels_from_seeds",
    "combined_seeds",
]

HUMAN = "human"
SEED = "seed"
AGREE = "agree"


@dataclass(frozen=True)
class AnnotatedLabels:
    """Labels of every item from seeds + human labels, with provenance.

    Attributes
    ----------
    result : LabelingResult
        The CMCSL run whose seeds are the seeds plus the human-labelled items (its
        ``final_labels`` equal :attr:`final_labels`).
    seed_idx : ndarray of int
        The original seeds (without the human-labelled items).
    human : HumanLabels
        The human labels that were applied.
    final_labels : ndarray of int, shape (N,)
        The label of every item (class positions).
    provenance : tuple of str
        ``human``, ``seed``, ``agree`` or the deciding modality's name, per item.
    annotators : tuple of str
        Who labelled each item (``""`` where no human did).
    preprocessing : str
        The preprocessing the CMCSL run used.
    """

    result: LabelingResult
    seed_idx: np.ndarray
    human: HumanLabels
    final_labels: np.ndarray
    provenance: tuple[str, ...]
    annotators: tuple[str, ...]
    preprocessing: str

    @property
    def n_items(self) -> int:
        """Number of items N."""
        return int(self.final_labels.shape[0])

    def counts(self) -> dict[str, int]:
        """How many items each provenance holds."""
        values, counts = np.unique(np.asarray(self.provenance, dtype=object), return_counts=True)
        return {str(v): int(c) for v, c in zip(values, counts)}

    def table(self, fs: FeatureSet) -> pd.DataFrame:
        """The ``label`` command's table plus ``provenance`` and ``annotator``.

        ``is_seed`` marks the original seeds; ``final_label`` is the human label
        where there is one; the per-modality columns come from the run with the
        human labels as additional seeds.
        """
        frame = label_table(fs, self.result)
        is_seed = np.zeros(self.n_items, dtype=bool)
        is_seed[self.seed_idx] = True
        frame["is_seed"] = is_seed
        frame["final_label"] = np.asarray(fs.class_names, dtype=object)[self.final_labels]
        frame["provenance"] = list(self.provenance)
        frame["annotator"] = list(self.annotators)
        return frame


def combined_seeds(
    fs: FeatureSet, seed_idx: Sequence[int] | np.ndarray, human: HumanLabels
) -> tuple[np.ndarray, np.ndarray]:
    """Seed indices and labels of the seeds plus the human-labelled items (human labels win).

    Returns
    -------
    seed_idx : ndarray of int
        Sorted union of the seeds and the human-labelled items.
    seed_labels : ndarray of int
        ``fs.y`` for the seeds, the human label for human-labelled items.
    """
    seeds = check_seeds(seed_idx, fs.n_items) if len(seed_idx) else np.zeros(0, dtype=np.int64)
    labels = np.full(fs.n_items, -1, dtype=np.int64)
    labels[seeds] = fs.y[seeds]
    labels[human.index] = human.labels
    idx = np.flatnonzero(labels >= 0)
    return idx, labels[idx]


def labels_with_annotations(
    fs: FeatureSet,
    request: LabelRequest,
    human: HumanLabels | AnnotationStore,
    X_list: Sequence[np.ndarray] | FeatureGraphs | None = None,
) -> AnnotatedLabels:
    """Label every item from a request's seeds plus the human labels, with the request's labeler; human labels win.

    Parameters
    ----------
    fs : FeatureSet
    request : LabelRequest
        The seeds (``b_class`` draw or explicit), the preprocessing and the labeler.
    human : HumanLabels or AnnotationStore
        The human labels, or the store to read them from.
    X_list : sequence of ndarray or FeatureGraphs, optional
        The request's preprocessed features if already computed (a FeatureGraphs keeps
        the kNN graphs of the spreading labelers).

    Returns
    -------
    AnnotatedLabels
    """
    labels = human.current() if isinstance(human, AnnotationStore) else human
    req = request.validated()
    return labels_from_seeds(fs, req.seed_indices(fs), labels, req.preprocessing, X_list, req.labeler)


def labels_from_seeds(
    fs: FeatureSet,
    seed_idx: Sequence[int] | np.ndarray,
    human: HumanLabels,
    preprocessing: str = DEFAULT_PREPROCESSING,
    X_list: Sequence[np.ndarray] | FeatureGraphs | None = None,
    labeler: str = DEFAULT_LABELER,
) -> AnnotatedLabels:
    """Label every item from explicit seeds plus the human labels; human labels win.

    Parameters
    ----------
    fs : FeatureSet
        The data (preprocessed on all its rows, as :func:`~cmcsl_core.method.labeling.propagate` does).
    seed_idx : sequence of int
        The seeds (their labels are read from ``fs.y``); may be empty when humans
        labelled at least one item.
    human : HumanLabels
        The human labels (``AnnotationStore.current()``).
    preprocessing : str
        One of :data:`~cmcsl_core.method.preprocessing.PREPROCESSINGS`.
    X_list : sequence of ndarray or FeatureGraphs, optional
        ``preprocess_features(fs.X, preprocessing)`` if already computed (the app
        caches it, as a FeatureGraphs with its kNN graphs); must match ``preprocessing``.
    labeler : str
        Which labeler labels the items that are neither seeds nor human-labelled
        (:mod:`cmcsl_core.method.labelers`; ``cmcsl`` by default).

    Returns
    -------
    AnnotatedLabels

    Raises
    ------
    SeedError
        If there are neither seeds nor human labels, or a seed index is invalid.
    """
    preprocessing = check_preprocessing(preprocessing)
    idx, labels = combined_seeds(fs, seed_idx, human)
    if idx.size == 0:
        check_seeds(idx, fs.n_items)  # raises the library's "at least one seed" error
    seeds = check_seeds(seed_idx, fs.n_items) if len(seed_idx) else np.zeros(0, dtype=np.int64)
    if isinstance(X_list, FeatureGraphs):
        graphs = X_list
    else:
        graphs = FeatureGraphs(tuple(X_list) if X_list is not None else preprocess_features(fs.X, preprocessing))
    result = make_labeler(check_labeler(labeler)).label(graphs, idx, labels, fs.n_classes, fs.modality_names)

    n = fs.n_items
    decided = np.asarray([*fs.modality_names, AGREE], dtype=object)[result.decided_by]
    provenance = decided.astype(object)
    is_seed = np.zeros(n, dtype=bool)
    is_seed[seeds] = True
    provenance[is_seed] = SEED
    provenance[human.index] = HUMAN
    annotators = np.full(n, "", dtype=object)
    annotators[human.index] = list(human.annotators)
    return AnnotatedLabels(
        result=result,
        seed_idx=seeds,
        human=human,
        final_labels=result.final_labels.copy(),
        provenance=tuple(str(p) for p in provenance),
        annotators=tuple(str(a) for a in annotators),
        preprocessing=preprocessing,
    )
