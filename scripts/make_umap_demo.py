"""Precompute the UMAP views of the built-in demo's default subset (HR) for the app.

Writes ``data/umap_demo_HR.npz``: for every preprocessing and modality an entry
``<preprocessing>__<modality>`` (N x 2, float32) and ``fp__<...>``, the fingerprint
of the demo features it was computed from (the app ignores stale entries). Run it
again whenever the demo generator changes:

    python scripts/make_umap_demo.py [--subset HR] [--out data/umap_demo_HR.npz]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cmcsl_core.constants import UMAP_SEED  # noqa: E402
from cmcsl_core.datasets.sources import load_source  # noqa: E402
from cmcsl_core.fileio import write_atomically  # noqa: E402
from cmcsl_core.method.preprocessing import PREPROCESSINGS, preprocess  # noqa: E402
from cmcsl_core.views.embedding import fingerprint, umap_2d  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", default="HR")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    out = Path(args.out or ROOT / "data" / f"umap_demo_{args.subset}.npz")
    fs = load_source("demo", args.subset)
    arrays: dict[str, np.ndarray] = {}
    for pre in PREPROCESSINGS:
        for name, X in zip(fs.modality_names, fs.X):
            t0 = time.perf_counter()
            entry = f"{pre}__{name}"
            arrays[entry] = umap_2d(preprocess(X, pre), UMAP_SEED)
            arrays[f"fp__{entry}"] = np.asarray(fingerprint(X))
            print(f"{entry}: {time.perf_counter() - t0:.1f} s", flush=True)
    write_atomically(out, lambda fh: np.savez_compressed(fh, **arrays))
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
