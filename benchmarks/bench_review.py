"""What a human label buys: simulated annotators answering the Review queue in different orders.

For each labeler (``cmcsl``, ``cm-ls`` by default), each order (closest call first -- the
Review page's queue --, the labeler's least confident first, uncertainty sampling over
all items, "label these next", random) and several seed draws, an annotator labels
0..200 items with the file's own labels (:mod:`cmcsl_core.annotations.simulate`); the
labels' balanced accuracy on the items not labelled yet is printed per number of human
labels (mean +- std over the draws), with the gain over ``random`` at 100 labels.

Usage: python benchmarks/bench_review.py [--features F.npz] [--labelers cmcsl,cm-ls]
       [--b-class 5] [--draws 5] [--budget 200] [--out review.csv]
Default data: the built-in MVSA-Single tweets (y = the merged human label).
Exits 1 if the goal is missed: the default order (closest call first) beats random by
>= 0.02 BAC at 100 human labels for every labeler -- unless --no-goal.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cmcsl_core.annotations.queue import DEFAULT_QUEUE_ORDER  # noqa: E402
from cmcsl_core.annotations.simulate import CHECKPOINTS, ORDERS, simulate_review  # noqa: E402
from cmcsl_core.method.graph import FeatureGraphs  # noqa: E402
from cmcsl_core.method.preprocessing import preprocess_features  # noqa: E402
from cmcsl_core.method.seeds import draw_seeds  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--features", help="feature file (.npz); default: the built-in MVSA-Single tweets")
    p.add_argument("--labelers", default="cmcsl,cm-ls")
    p.add_argument("--orders", default=",".join(ORDERS))
    p.add_argument("--b-class", type=int, default=5)
    p.add_argument("--draws", type=int, default=5, help="seed draws (random seeds 0..draws-1)")
    p.add_argument("--budget", type=int, default=200)
    p.add_argument("--preprocessing", default="l2std")
    p.add_argument("--out", help="CSV of every (labeler, order, draw, n_labels, bac, agreement)")
    p.add_argument("--no-goal", action="store_true")
    args = p.parse_args()

    if args.features:
        from cmcsl_core.datasets.features import load_features

        fs = load_features(args.features)
    else:
        from cmcsl_core.datasets.builtin import load_builtin_mvsa

        fs = load_builtin_mvsa()
    graphs = FeatureGraphs(preprocess_features(fs.X, args.preprocessing))
    for m in range(fs.n_modalities):
        graphs.graph(m)
    labelers = [s for s in args.labelers.split(",") if s]
    orders = [s for s in args.orders.split(",") if s]
    checkpoints = [c for c in CHECKPOINTS if c <= args.budget]
    rows = []
    t0, c0 = time.perf_counter(), time.process_time()
    for labeler in labelers:
        for order in orders:
            for draw in range(args.draws):
                seeds = draw_seeds(fs.y, args.b_class, draw)
                sim = simulate_review(fs, graphs, seeds, labeler, order, args.budget, checkpoints=checkpoints,
                                      random_state=draw)
                rows += [(labeler, order, draw, int(n), float(b), float(a))
                         for n, b, a in zip(sim.n_labels, sim.bac, sim.agreement)]
            print(f"  {labeler:8s} {order:10s} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["labeler", "order", "draw", "n_labels", "bac", "agreement"])
    if args.out:
        frame.to_csv(args.out, index=False, float_format="%.6f")
    print(f"{fs.n_items} items, {fs.n_classes} classes, b_class {args.b_class}, {args.draws} seed draws; "
          f"BAC on the items not labelled yet, mean (std) over the draws")
    ok = True
    for labeler in labelers:
        sub = frame[frame.labeler == labeler]
        mean = sub.pivot_table(index="order", columns="n_labels", values="bac", aggfunc="mean").reindex(orders)
        std = sub.pivot_table(index="order", columns="n_labels", values="bac", aggfunc="std").reindex(orders)
        agree = sub.pivot_table(index="order", columns="n_labels", values="agreement", aggfunc="mean").reindex(orders)
        print(f"\n{labeler}:")
        print("order       " + "".join(f"{n:>15d}" for n in mean.columns))
        for o in orders:
            print(f"{o:11s} " + "".join(f"  {mean.loc[o, n]:.3f} ({std.loc[o, n]:.3f})" for n in mean.columns))
        last = max(c for c in mean.columns if c <= 100)
        print(f"proposal = answer (share of the annotator's answers the studio proposed), at {last} labels: "
              + ", ".join(f"{o} {agree.loc[o, last]:.2f}" for o in orders))
        if "random" in orders:
            gains = {o: mean.loc[o, last] - mean.loc["random", last] for o in orders if o != "random"}
            print(f"gain over random at {last} labels: " + ", ".join(f"{o} {g:+.3f}" for o, g in gains.items()))
            best = max(gains, key=gains.get)  # type: ignore[arg-type]
            print(f"best order: {best}; default ({DEFAULT_QUEUE_ORDER}) {gains.get(DEFAULT_QUEUE_ORDER, float('nan')):+.3f}")
            if DEFAULT_QUEUE_ORDER in gains and gains[DEFAULT_QUEUE_ORDER] < 0.02:
                ok = False
    print(f"\n{time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} CPU-s; load {os.getloadavg()}")
    if not ok and not args.no_goal:
        print("goal missed: the default order does not beat random by >= 0.02 BAC at 100 labels")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
