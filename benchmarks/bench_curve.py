"""Speed of cmcsl-studio against a plain scikit-learn implementation.

Measures, on data the size of the largest paper subset (ACCDDHMRS: 8,580 items,
512 visual + 384 text features, 9 classes):

1. the ``curve`` workload (PRE, UNI, CMCSL; GNB; L2+STD; 5x2 CV; b_class = 1..10),
   ``python -m cmcsl_core curve`` against ``benchmarks/plain_curve.py`` (a *competent*
   plain loop: scalers fitted once per fold, ``pairwise_distances`` + argmin, GaussianNB
   with sample weights), both as fresh processes (process start included), and checks
   both give the same BACs;
2. one relabel (one b_class, one seed pick) on preprocessed features, as the app does
   after every seed change.

Usage: python benchmarks/bench_curve.py [--b-max 10] [--repeat 3]
Prints the timings, the ratios and the machine load; exits 1 if a target (>= 20x, relabel < 50 ms) is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cmcsl_core.datasets.features import FeatureSet, save_features  # noqa: E402
from cmcsl_core.method.labeling import cross_modal_labels  # noqa: E402
from cmcsl_core.method.preprocessing import preprocess_features  # noqa: E402
from cmcsl_core.method.seeds import draw_seeds  # noqa: E402

COUNTS = (371, 1885, 91, 1496, 3802, 583, 107, 127, 118)  # ACCDDHMRS, Table I


def make_data(seed: int = 0) -> FeatureSet:
    """Clustered synthetic features of the largest subset's size."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(COUNTS)), COUNTS)
    X = []
    for d in (512, 384):
        protos = rng.normal(size=(len(COUNTS), d))
        X.append(np.abs(0.5 * protos[y] + rng.normal(size=(y.size, d))))
    return FeatureSet(("visual", "text"), tuple(X), y, tuple(f"genre {i}" for i in range(len(COUNTS))))


CPU: dict[str, list[float]] = {}
"""CPU seconds (user + system) of every timed child process, per label."""


def timed(cmd: list[str], label: str = "") -> float:
    """Wall seconds of ``cmd`` as a fresh process; its CPU seconds are appended to ``CPU[label]``."""
    t = time.perf_counter()
    before = os.times()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    after = os.times()
    CPU.setdefault(label, []).append(
        (after.children_user - before.children_user) + (after.children_system - before.children_system)
    )
    return time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--b-max", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the fast CLI (median reported)")
    args = parser.parse_args()

    fs = make_data()
    with tempfile.TemporaryDirectory() as tmp:
        feats = Path(tmp) / "bench.npz"
        save_features(fs, feats)
        fast_csv, plain_csv = Path(tmp) / "fast.csv", Path(tmp) / "plain.csv"
        fast_cmd = [sys.executable, "-m", "cmcsl_core", "curve", "--features", str(feats), "--methods",
                    "PRE,UNI,CMCSL", "--classifier", "gnb", "--preprocessing", "l2std", "--b-max",
                    str(args.b_max), "--class-weights", "pseudo", "--no-progress", "--out", str(fast_csv)]
        fast_times = [timed(fast_cmd, "fast") for _ in range(args.repeat)]
        serial = timed(fast_cmd[:-3] + ["--jobs", "1", "--no-progress", "--out", str(fast_csv)])
        plain = timed([sys.executable, str(ROOT / "benchmarks" / "plain_curve.py"), str(feats), str(args.b_max),
                       str(plain_csv)], "plain")
        fast_times.append(timed(fast_cmd, "fast"))  # once more after the plain loop, so both see the same load
        fast = statistics.median(fast_times)
        a = pd.read_csv(fast_csv).sort_values(["method", "modality", "b_class", "fold"]).reset_index(drop=True)
        b = pd.read_csv(plain_csv).sort_values(["method", "modality", "b_class", "fold"]).reset_index(drop=True)
        max_diff = float(np.max(np.abs(a["bac"].to_numpy() - b["bac"].to_numpy())))

    Xp = preprocess_features(fs.X, "l2std")
    times = []
    for s in range(30):
        seeds = draw_seeds(fs.y, 5, s)
        t = time.perf_counter()
        cross_modal_labels(Xp, seeds, fs.y[seeds], fs.modality_names)
        times.append(time.perf_counter() - t)
    relabel = statistics.median(times)

    ratio = plain / fast
    print(f"data: {fs.n_items} items, {fs.X[0].shape[1]} + {fs.X[1].shape[1]} features, {fs.n_classes} classes")
    print(f"curve PRE,UNI,CMCSL gnb l2std 5x2 b=1..{args.b_max} (process start included)")
    print(f"  plain scikit-learn loop : {plain:7.2f} s")
    print(f"  cmcsl_core curve        : {fast:7.2f} s   ratio {ratio:5.1f}x  (target >= 20x; folds in "
          f"{os.cpu_count()} threads, the default)")
    print(f"    its runs: {', '.join(f'{t:.2f}' for t in fast_times)} s (median reported; a run after the machine "
          "idled pays for fresh memory pages)")
    print(f"  cmcsl_core curve --jobs 1: {serial:6.2f} s   ratio {plain / serial:5.1f}x  (one fold at a time)")
    cpu_fast, cpu_plain = statistics.median(CPU["fast"]), CPU["plain"][0]
    print(f"  CPU time (user + system): plain {cpu_plain:.2f} s, cmcsl_core {cpu_fast:.2f} s, "
          f"ratio {cpu_plain / cpu_fast:5.1f}x  (less sensitive to other processes than wall time)")
    print(f"  max |BAC difference| between the two: {max_diff:.2e}")
    print(f"one relabel (b_class=5, {fs.n_items} items, preprocessed): {relabel * 1000:.1f} ms  (target < 50 ms)")
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}, {os.cpu_count()} CPUs")
    ok = ratio >= 20 and relabel < 0.05
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
