"""The competent plain scikit-learn loop the fast ``curve`` is measured against.

What a careful straightforward implementation of the paper's protocol does: per fold
it fits the scalers once (``Normalizer`` + ``StandardScaler`` on the training rows) and
transforms both sides once; per b_class it computes ``pairwise_distances`` to the
seeds and takes the ``argmin`` per modality, and fits scikit-learn's ``GaussianNB``
with sample weights for PRE, UNI and CMCSL. It draws the same seeds as cmcsl_core
(``seed_order``) so both produce the same numbers, which ``bench_curve.py`` checks.

Usage: python benchmarks/plain_curve.py FEATURES.npz B_MAX OUT.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, pairwise_distances
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cmcsl_core.constants import RANDOM_STATE, REPEATS  # noqa: E402
from cmcsl_core.datasets.features import load_features  # noqa: E402
from cmcsl_core.method.seeds import seed_order  # noqa: E402


def weights(labels: np.ndarray, k: int) -> np.ndarray:
    freq = np.bincount(labels, minlength=k) / labels.size
    return 1.0 - freq[labels]


def main(path: str, b_max: int, out: str) -> None:
    fs = load_features(path)
    k = fs.n_classes
    rows = []
    rskf = RepeatedStratifiedKFold(n_splits=2, n_repeats=REPEATS, random_state=RANDOM_STATE)
    for fold, (train, test) in enumerate(rskf.split(fs.X[0], fs.y)):
        y_tr, y_te = fs.y[train], fs.y[test]
        scaled = []
        for X in fs.X:  # preprocessing fitted once per fold
            scaler = make_pipeline(Normalizer(), StandardScaler()).fit(X[train])
            scaled.append((scaler.transform(X[train]), scaler.transform(X[test])))
        order = seed_order(y_tr, b_max, (RANDOM_STATE, fold), n_classes=k)

        def score(Xtr: np.ndarray, Xte: np.ndarray, lab: np.ndarray, y_te: np.ndarray = y_te) -> float:
            clf = GaussianNB().fit(Xtr, lab, sample_weight=weights(lab, k))
            return float(balanced_accuracy_score(y_te, clf.predict(Xte)))

        for b in range(1, b_max + 1):
            seeds = np.sort(order[:, :b].ravel())
            seed_labels = y_tr[seeds]
            uni, dist = [], []
            for name, (Xtr, Xte) in zip(fs.modality_names, scaled):
                rows.append(("PRE", name, b, fold, score(Xtr[seeds], Xte, seed_labels)))
                D = pairwise_distances(Xtr, Xtr[seeds])
                nearest = np.argmin(D, axis=1)
                lab = seed_labels[nearest]
                d = D[np.arange(D.shape[0]), nearest]
                lab[seeds], d[seeds] = seed_labels, 0.0
                uni.append(lab)
                dist.append(d)
                rows.append(("UNI", name, b, fold, score(Xtr, Xte, lab)))
            uni_a, dist_a = np.array(uni), np.array(dist)
            cross = uni_a[np.argmin(dist_a, axis=0), np.arange(uni_a.shape[1])]
            for name, (Xtr, Xte) in zip(fs.modality_names, scaled):
                rows.append(("CMCSL", name, b, fold, score(Xtr, Xte, cross)))
    pd.DataFrame(rows, columns=["method", "modality", "b_class", "fold", "bac"]).to_csv(out, index=False)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
