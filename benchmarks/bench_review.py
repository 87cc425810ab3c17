"""What a human label buys: simulated annotators answering the Review queue in different orders.

For each labeler (``cmcsl``, ``cm-ls`` by default), each order (closest call first -- the
Review page's queue --, the labeler's least confident first, uncertainty sampling over
all items, "label these next", random) and several seed draws, an annotator labels
0..200 items with the file's own labels (:mod:`cmcsl_core.annotations.simulate`); the
labels' balanced accuracy on the items not labelled yet is printed per number of human
labels (mean +- std over the draws), with the gain over ``random`` at 100 labels.

Usage: python benchmarks/bench_review.py [--features F.npz] [--labelers cmcsl,ls,cm-ls,ls-cmn,cm-ls-cmn]
       [--b-class 5] [--draws 8] [--budget 200] [--out review.csv] [--csv review.csv]
Default data: the built-in MVSA-Single tweets (y = the merged human label).
``--csv`` summarises an earlier ``--out`` file instead of simulating again.
The goal (issue 20): for every labeler, the Review page's default order
(:func:`~cmcsl_core.annotations.queue.default_queue_order`) beats random by >= 0.02 BAC
at 100 human labels, or is the order the Review page offers that measures best there.
Exits 1 if the goal is missed -- unless --no-goal.
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

from cmcsl_core.annotations.queue import QUEUE_ORDERS, default_queue_order  # noqa: E402
from cmcsl_core.annotations.simulate import CHECKPOINTS, ORDERS, simulate_review  # noqa: E402
from cmcsl_core.method.graph import FeatureGraphs  # noqa: E402
from cmcsl_core.method.preprocessing import preprocess_features  # noqa: E402
from cmcsl_core.method.seeds import draw_seeds  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--features", help="feature file (.npz); default: the built-in MVSA-Single tweets")
    p.add_argument("--labelers", default="cmcsl,ls,cm-ls,ls-cmn,cm-ls-cmn")
    p.add_argument("--orders", default=",".join(ORDERS))
    p.add_argument("--b-class", type=int, default=5)
    p.add_argument("--draws", type=int, default=8, help="seed draws (random seeds 0..draws-1)")
    p.add_argument("--budget", type=int, default=200)
    p.add_argument("--preprocessing", default="l2std")
    p.add_argument("--out", help="CSV of every (labeler, order, draw, n_labels, bac, agreement)")
    p.add_argument("--csv", help="summarise this earlier --out file instead of simulating")
    p.add_argument("--no-goal", action="store_true")
    args = p.parse_args()
    if args.csv:
        import pandas as pd

        frame = pd.read_csv(args.csv)
        return summarise(frame, list(dict.fromkeys(frame.labeler)), list(dict.fromkeys(frame.order)),
                         f"{args.csv}: {frame.draw.nunique()} seed draws", args.no_goal)

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
    title = f"{fs.n_items} items, {fs.n_classes} classes, b_class {args.b_class}, {args.draws} seed draws"
    code = summarise(frame, labelers, orders, title, args.no_goal)
    print(f"{time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} CPU-s; load {os.getloadavg()}")
    return code


def summarise(frame, labelers: list[str], orders: list[str], title: str, no_goal: bool) -> int:  # type: ignore[no-untyped-def]
    """Print the tables, the gains over random at 100 labels and the goal check; the exit code."""
    print(f"{title}; BAC on the items not labelled yet, mean (std) over the draws")
    ok = True
    for labeler in labelers:
        sub = frame[frame.labeler == labeler]
        mean = sub.pivot_table(index="order", columns="n_labels", values="bac", aggfunc="mean").reindex(orders)
        std = (
            sub.pivot_table(index="order", columns="n_labels", values="bac", aggfunc="std").reindex(orders).fillna(0.0)
        )
        agree = sub.pivot_table(index="order", columns="n_labels", values="agreement", aggfunc="mean").reindex(orders)
        print(f"\n{labeler}:")
        print("order       " + "".join(f"{n:>15d}" for n in mean.columns))
        for o in orders:
            print(f"{o:11s} " + "".join(f"  {mean.loc[o, n]:.3f} ({std.loc[o, n]:.3f})" for n in mean.columns))
        last = max(c for c in mean.columns if c <= 100)
        print(f"proposal = answer (share of the annotator's answers the studio proposed), at {last} labels: "
              + ", ".join(f"{o} {agree.loc[o, last]:.2f}" for o in orders))
        if "random" not in orders:
            continue
        at = sub[sub.n_labels == last].pivot_table(index="draw", columns="order", values="bac")
        gains = {o: at[o] - at["random"] for o in orders if o != "random"}
        print(f"gain over random at {last} labels, mean (standard error over the paired draws): " + ", ".join(
            f"{o} {g.mean():+.3f} ({g.std(ddof=1) / np.sqrt(max(len(g), 1)) if len(g) > 1 else 0.0:.3f})"
            for o, g in gains.items()))
        offered = [o for o in QUEUE_ORDERS if o in gains]
        best = max(offered, key=lambda o: gains[o].mean()) if offered else ""
        default = default_queue_order(labeler)
        gain = gains[default].mean() if default in gains else float("nan")
        print(f"best order the Review page offers: {best}; the default for {labeler}: {default} ({gain:+.3f})")
        if default in gains and gain < 0.02 and default != best:
            ok = False
    if not ok and not no_goal:
        print("goal missed: a default order neither beats random by >= 0.02 BAC at 100 labels nor measures best")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
