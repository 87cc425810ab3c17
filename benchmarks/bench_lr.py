"""``curve --classifier lr``: the batched L-BFGS against scikit-learn's LogisticRegression.

1. Times ``python -m cmcsl_core curve --classifier lr`` (PRE, UNI, CMCSL; L2+STD;
   b_class 1..B_MAX; REPEATS x 2 CV) on the largest demo subset (ACCDDHMRS) as a fresh
   process (target: at most 2 minutes for b 1..20 under 5x2 CV).
2. Recomputes the same curve (for ``--check-b`` values and ``--check-repeats``) with
   scikit-learn's ``LogisticRegression(max_iter=5000, random_state=1410)`` in place of
   the batched solver and reports the largest difference of mean BAC per (method,
   modality, b_class) (target: at most 0.005) and of single fold BACs.

Usage: python benchmarks/bench_lr.py [--b-max 20] [--repeats 5] [--check-b 1,10,20] [--check-repeats 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cmcsl_core.datasets.features import save_features  # noqa: E402
from cmcsl_core.datasets.sources import load_source  # noqa: E402


def sklearn_fit_predict(classifier, X, Xt, tasks, n_classes):  # type: ignore[no-untyped-def]
    """The reference: one scikit-learn LogisticRegression per task (the authors' settings)."""
    from cmcsl_core.models.base import make_sklearn_classifier

    factory = make_sklearn_classifier("lr")
    out = []
    for t in tasks:
        clf = factory().fit(X if t.rows is None else X[t.rows], t.labels, sample_weight=t.weights)
        out.append(clf.predict(Xt))
    return np.stack(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", default="ACCDDHMRS")
    parser.add_argument("--b-max", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--check-b", default="1,10,20")
    parser.add_argument("--check-repeats", type=int, default=1)
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()

    from cmcsl_core.evaluation import folds
    from cmcsl_core.evaluation.curve import run_curve

    fs = load_source("demo", args.subset)
    with tempfile.TemporaryDirectory() as tmp:
        feats = Path(tmp) / "lr.npz"
        save_features(fs, feats)
        if not args.skip_timing:
            cmd = [sys.executable, "-m", "cmcsl_core", "curve", "--features", str(feats), "--classifier", "lr",
                   "--b-max", str(args.b_max), "--repeats", str(args.repeats), "--no-progress",
                   "--out", str(Path(tmp) / "c.csv")]
            t = time.perf_counter()
            cpu0 = os.times()
            subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            cpu1 = os.times()
            wall = time.perf_counter() - t
            cpu = (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system)
            print(f"curve --classifier lr, {fs.n_items} items, b 1..{args.b_max}, {args.repeats}x2 CV: "
                  f"{wall:.1f} s wall, {cpu:.1f} s CPU (target <= 120 s wall)")
    b_values = tuple(int(b) for b in args.check_b.split(","))
    kwargs = dict(classifier="lr", b_values=b_values, repeats=args.check_repeats)
    ours = run_curve(fs, **kwargs).frame  # type: ignore[arg-type]
    original = folds.fit_predict
    folds.fit_predict = sklearn_fit_predict  # type: ignore[assignment]
    try:
        theirs = run_curve(fs, **kwargs).frame  # type: ignore[arg-type]
    finally:
        folds.fit_predict = original
    keys = ["method", "modality", "b_class"]
    diff_mean = float((ours.groupby(keys)["bac"].mean() - theirs.groupby(keys)["bac"].mean()).abs().max())
    diff_fold = float(np.max(np.abs(ours["bac"].to_numpy() - theirs["bac"].to_numpy())))
    print(f"vs scikit-learn (b in {b_values}, {args.check_repeats}x2 CV): max |mean BAC diff| {diff_mean:.4f}, "
          f"max |fold BAC diff| {diff_fold:.4f} (target <= 0.005)")
    print(f"load average: {os.getloadavg()}, {os.cpu_count()} CPUs")
    return 0 if diff_mean <= 0.005 else 1


if __name__ == "__main__":
    sys.exit(main())
