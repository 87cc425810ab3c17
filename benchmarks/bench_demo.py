"""Generation time of the built-in demo, per paper subset.

Times ``simulate`` (the generator itself, no disk cache involved) for every subset of
Table I, best of ``--repeat`` runs, and prints one line per subset with its item count.
Timings live here rather than in the tests: a wall-clock assertion flakes on a busy machine.

Usage: python benchmarks/bench_demo.py [--repeat 3] [--subset HR,DS]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cmcsl_core.datasets.sources.demo import simulate  # noqa: E402
from cmcsl_core.datasets.subsets import demo_counts, load_subsets  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per subset (the best is reported)")
    parser.add_argument("--subset", default="", help="comma-separated subsets (default: all 20)")
    args = parser.parse_args(argv)
    names = [s.strip().upper() for s in args.subset.split(",") if s.strip()] or list(load_subsets())
    print(f"{'subset':<10} {'items':>6} {'seconds':>8}")
    total = 0.0
    for name in names:
        best = float("inf")
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            simulate(name)
            best = min(best, time.perf_counter() - start)
        total += best
        print(f"{name:<10} {sum(demo_counts(name)):>6} {best:>8.3f}")
    print(f"{'all':<10} {'':>6} {total:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
