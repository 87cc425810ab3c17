"""Experiment 3 of the paper as one grid on the demo data, timed (target: at most 10 minutes on 2 cores).

20 subsets, PRE/UNI/CMCSL, GNB, L2+STD, b_class 1..20, 5x2 CV, both modalities:
``python -m cmcsl_core grid --source demo --subsets all ... --jobs JOBS`` as a fresh process
into a new folder, then a second run of the same command (everything complete: resume cost).

Usage: python benchmarks/bench_grid.py [--jobs 2] [--backend loky|dask]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--backend", default="loky")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "cmcsl_core", "grid", "--source", "demo", "--subsets", "all", "--methods",
               "PRE,UNI,CMCSL", "--classifiers", "gnb", "--preprocessing", "l2std", "--b-max", "20", "--repeats", "5",
               "--backend", args.backend, "--jobs", str(args.jobs), "--no-progress", "--out", str(Path(tmp) / "exp3")]
        times = []
        for _ in range(2):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, cwd=ROOT)
            times.append(time.perf_counter() - t)
    print(f"experiment-3 grid ({args.backend}, {args.jobs} jobs): {times[0]:.1f} s (target <= 600 s); "
          f"rerun with everything complete: {times[1]:.1f} s")
    print(f"load average: {os.getloadavg()}, {os.cpu_count()} CPUs")
    return 0 if times[0] <= 600 else 1


if __name__ == "__main__":
    sys.exit(main())
