"""A labeling request: which seeds, which preprocessing, which labeler. The one value ``label`` runs.

The CLI's ``label`` parses into a :class:`LabelRequest`, the app builds the same
value from its widgets, and :meth:`LabelRequest.command` renders the equivalent
command line, so every labeling the app shows can be reproduced in a shell.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import numpy as np

from cmcsl_core.constants import CLI, DEFAULT_PREPROCESSING, LABEL_SEED
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.errors import SeedError
from cmcsl_core.method.graph import FeatureGraphs
from cmcsl_core.method.labelers.registry import DEFAULT_LABELER, check_labeler, make_labeler
from cmcsl_core.method.labeling import LabelingResult
from cmcsl_core.method.preprocessing import check_preprocessing, preprocess_features
from cmcsl_core.method.seeds import check_seeds, draw_seeds

__all__ = ["LabelRequest"]


@dataclass(frozen=True)
class LabelRequest:
    """Label every item of a feature set from a few seeds.

    Exactly one of ``b_class`` (seeds drawn at random, ``b_class`` per class) and
    ``seeds`` (explicit item indices) is given.

    Parameters
    ----------
    preprocessing : {"raw", "l2", "std", "minmax", "l2std"}, default="l2std"
        Fitted on all items of the feature set.
    b_class : int or None, default=None
        Seeds per class, drawn uniformly without replacement.
    seed : int, default=0
        Random seed of the ``b_class`` draw.
    seeds : tuple of int or None, default=None
        Explicit seed item indices (sorted and de-duplicated by :meth:`validated`).
    labeler : str, default="cmcsl"
        A labeler of :mod:`cmcsl_core.method.labelers` (``cmcsl`` is the paper's rule).

    Examples
    --------
    >>> from cmcsl_core.datasets.features import make_feature_set
    >>> X_img = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 4.9]])
    >>> X_txt = np.array([[1.0], [0.9], [-1.0], [-1.1]])
    >>> fs = make_feature_set([X_img, X_txt], [0, 0, 1, 1])
    >>> request = LabelRequest(preprocessing="raw", seeds=(3, 0))
    >>> request.seed_indices(fs)
    array([0, 3])
    >>> request.run(fs).final_labels
    array([0, 0, 1, 1])
    >>> print(request.command("my features.npz"))
    python -m cmcsl_core label --features 'my features.npz' --seeds 0,3 --preprocessing raw --out labels.csv
    """

    preprocessing: str = DEFAULT_PREPROCESSING
    b_class: int | None = None
    seed: int = LABEL_SEED
    seeds: tuple[int, ...] | None = None
    labeler: str = DEFAULT_LABELER

    def validated(self) -> "LabelRequest":
        """A copy with a canonical preprocessing name and sorted seeds.

        Raises
        ------
        CMCSLError
            An unknown preprocessing or labeler; neither or both of ``b_class`` and
            ``seeds``; ``b_class < 1``; repeated or negative seed indices.
        """
        preprocessing = check_preprocessing(self.preprocessing)
        labeler = check_labeler(self.labeler)
        if (self.b_class is None) == (self.seeds is None):
            raise SeedError("give exactly one of b_class (random seeds per class) and seeds (item indices)")
        if self.b_class is not None and int(self.b_class) < 1:
            raise SeedError(f"b_class must be at least 1, got {self.b_class}")
        seeds = None
        if self.seeds is not None:
            arr = check_seeds(self.seeds, np.iinfo(np.int64).max)
            seeds = tuple(int(i) for i in arr)
        b_class = None if self.b_class is None else int(self.b_class)
        return LabelRequest(
            preprocessing=preprocessing, b_class=b_class, seed=int(self.seed), seeds=seeds, labeler=labeler
        )

    def seed_indices(self, fs: FeatureSet) -> np.ndarray:
        """The sorted seed item indices of this request on ``fs``.

        Raises
        ------
        SeedError
            Seeds out of range, or a class with fewer than ``b_class`` items.
        """
        req = self.validated()
        if req.seeds is not None:
            return check_seeds(req.seeds, fs.n_items)
        assert req.b_class is not None
        return draw_seeds(fs.y, req.b_class, req.seed, class_names=fs.class_names, n_classes=fs.n_classes)

    def graphs(self, fs: FeatureSet) -> FeatureGraphs:
        """The features of ``fs`` preprocessed as asked (fitted on all rows), ready for any labeler."""
        return FeatureGraphs(preprocess_features(fs.X, self.validated().preprocessing))

    def run(self, fs: FeatureSet, graphs: FeatureGraphs | None = None) -> LabelingResult:
        """Label every item of ``fs`` with the request's labeler (for ``cmcsl``:
        :func:`cmcsl_core.method.labeling.propagate`).

        ``graphs``: :meth:`graphs` of ``fs`` if already made (the app keeps one per data set
        and preprocessing, with its kNN graphs).
        """
        req = self.validated()
        seeds = self.seed_indices(fs)
        graphs = graphs if graphs is not None else self.graphs(fs)
        return make_labeler(req.labeler).label(graphs, seeds, fs.y[seeds], fs.n_classes, fs.modality_names)

    def command(self, features: str, out: str = "labels.csv") -> str:
        """The equivalent ``python -m cmcsl_core label ...`` line, paths shell-quoted."""
        req = self.validated()
        if req.seeds is not None:
            seed_args = ["--seeds", ",".join(map(str, req.seeds))]
        else:
            seed_args = ["--b-class", str(req.b_class), "--seed", str(req.seed)]
        labeler = ["--labeler", req.labeler] if req.labeler != DEFAULT_LABELER else []
        args = ["label", "--features", str(features), *seed_args, "--preprocessing", req.preprocessing, *labeler,
                "--out", str(out)]
        return f"{CLI} {shlex.join(args)}"
