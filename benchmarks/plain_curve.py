"""The plain scikit-learn loop the fast ``curve`` is measured against.

What a straightforward implementation of the paper's protocol does: for every fold,
b_class and method it refits the scalers, computes ``pairwise_distances`` and takes
``argsort(...)[:, 0]``, and fits scikit-learn's GaussianNB. It draws the same seeds
as cmcsl_core (``seed_order``) so both produce the same numbers, which
``bench_curve.py`` checks.

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
from cmcsl_core.datasets.features import load_features  # noqa: E402
from cmcsl_core.method.seeds import seed_order  # noqa: E402


def weights(labels: np.ndarray, k: int) -> np.ndarray:
    freq = np.bincount(labels, minlength=k) / labels.size
    return 1.0 - freq[labels]


def scaled(X_list, train, test):
    out = []
    for X in X_list:
        scaler = make_pipeline(Normalizer(), StandardScaler()).fit(X[train])
        out.append((scaler.transform(X[train]), scaler.transform(X[test])))
    return out


def main(path: str, b_max: int, out: str) -> None:
    fs = load_features(path)
    k = fs.n_classes
    rows = []
    rskf = RepeatedStratifiedKFold(n_splits=2, n_repeats=5, random_state=1410)
    for fold, (train, test) in enumerate(rskf.split(fs.X[0], fs.y)):
        y_tr, y_te = fs.y[train], fs.y[test]
        order = seed_order(y_tr, b_max, (1410, fold), n_classes=k)
        for b in range(1, b_max + 1):
            seeds = np.sort(order[:, :b].ravel())
            # PRE
            for name, (Xtr, Xte) in zip(fs.modality_names, scaled(fs.X, train, test)):
                lab = y_tr[seeds]
                clf = GaussianNB().fit(Xtr[seeds], lab, sample_weight=weights(lab, k))
                rows.append(("PRE", name, b, fold, balanced_accuracy_score(y_te, clf.predict(Xte))))
            # UNI
            prop, dist = [], []
            for name, (Xtr, Xte) in zip(fs.modality_names, scaled(fs.X, train, test)):
                D = pairwise_distances(Xtr, Xtr[seeds])
                nearest = np.argsort(D, axis=1)[:, 0]
                lab = y_tr[seeds][nearest]
                lab[seeds] = y_tr[seeds]
                d = np.sort(D, axis=1)[:, 0]
                d[seeds] = 0.0
                prop.append(lab)
                dist.append(d)
                clf = GaussianNB().fit(Xtr, lab, sample_weight=weights(lab, k))
                rows.append(("UNI", name, b, fold, balanced_accuracy_score(y_te, clf.predict(Xte))))
            # CMCSL
            prop, dist = np.array(prop), np.array(dist)
            cross = prop[np.argmin(dist, axis=0), np.arange(prop.shape[1])]
            for name, (Xtr, Xte) in zip(fs.modality_names, scaled(fs.X, train, test)):
                clf = GaussianNB().fit(Xtr, cross, sample_weight=weights(cross, k))
                rows.append(("CMCSL", name, b, fold, balanced_accuracy_score(y_te, clf.predict(Xte))))
    pd.DataFrame(rows, columns=["method", "modality", "b_class", "fold", "bac"]).to_csv(out, index=False)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
