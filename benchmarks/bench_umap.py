"""UMAP's first use on the built-in tweets (4,869 items; image 1,280-d, text 384-d), as the app's worker runs it.

Each case runs in a fresh process with an empty numba cache and an empty view cache (the
first use on a machine), one numba thread, both views in one process (as
``cmcsl_core.views.umap_job`` does), and prints wall and CPU seconds:

- ``exact``: the app's way (:func:`cmcsl_core.views.embedding.umap_2d`: the neighbour graph
  computed exactly by scikit-learn, handed to umap, which then skips pynndescent);
- ``approximate``: umap's own neighbour search (pynndescent, compiled by numba on first use);
- ``warm``: ``exact`` again with the numba cache the first case left (a later first use of a
  new data set on the same machine).

Usage: ``python benchmarks/bench_umap.py [--cases exact approximate warm]``. The target is the
``exact`` case within 90 s on 2 cores; report ``/proc/loadavg`` beside the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, os, sys, time
t0, c0 = time.perf_counter(), time.process_time()
from cmcsl_core.datasets.sources import SourceSpec
from cmcsl_core.method.preprocessing import preprocess_features
from cmcsl_core.views.embedding import umap_2d
X = preprocess_features(SourceSpec.create("mvsa-builtin").load().X, "l2std")
t1, c1 = time.perf_counter(), time.process_time()
for x in X:
    umap_2d(x, 42, knn=sys.argv[1])
print(json.dumps({"load_s": t1 - t0, "umap_wall_s": time.perf_counter() - t1, "umap_cpu_s": time.process_time() - c1}))
"""


def run(case: str, numba_dir: Path) -> dict[str, float]:
    knn = "approximate" if case == "approximate" else "exact"
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "CMCSL_CACHE_DIR": cache, "NUMBA_CACHE_DIR": str(numba_dir), "NUMBA_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
        out = subprocess.run(
            [sys.executable, "-c", CHILD, knn], env=env, cwd=ROOT, capture_output=True, text=True, check=True
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=["exact", "approximate", "warm"])
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            numba_dir = Path(tmp) / ("numba-exact" if case in ("exact", "warm") else f"numba-{case}")
            results[case] = run(case, numba_dir)
            r = results[case]
            print(
                f"{case:12s} umap wall {r['umap_wall_s']:6.1f} s  cpu {r['umap_cpu_s']:6.1f} s  "
                f"(data load {r['load_s']:.1f} s)"
            )
    if "exact" in results and "approximate" in results:
        ratio = results["approximate"]["umap_cpu_s"] / results["exact"]["umap_cpu_s"]
        print(f"approximate / exact CPU time: {ratio:.1f}x")
    print("loadavg:", Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else "n/a")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
