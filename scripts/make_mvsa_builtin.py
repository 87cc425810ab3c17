"""Rebuild the built-in MVSA-Single file ``data/mvsa_single.npz`` from ``../shared/mvsa-single``.

All 4,869 tweets, encoded with the default encoders (EfficientNet-Lite0 1,280-d images,
all-MiniLM-L6-v2 384-d texts) on the CPU, features stored as float16, with texts, ids, both
human labels and 96 px JPEG thumbnails (see :mod:`cmcsl_core.datasets.builtin`). Takes a few
minutes on 2 cores (features are cached, so a rerun is quick). Checks the 30 MB budget and
the load time.

    python scripts/make_mvsa_builtin.py [--mvsa ../shared/mvsa-single] [--out data/mvsa_single.npz]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cmcsl_core.datasets.builtin import BUILTIN_MVSA_NAME, build_mvsa_builtin  # noqa: E402
from cmcsl_core.datasets.features import load_features, save_features  # noqa: E402
from cmcsl_core.datasets.sources.items import skipped_summary  # noqa: E402
from cmcsl_core.errors import CMCSLError  # noqa: E402

MAX_BYTES = 30 * 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mvsa", default=str(ROOT.parent / "shared" / "mvsa-single"), help="MVSA-Single folder")
    parser.add_argument("--out", default=str(ROOT / "data" / BUILTIN_MVSA_NAME), help="feature file to write")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    bar = tqdm(total=1, desc="encoding MVSA-Single", unit="item", dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    start = time.perf_counter()
    try:
        loaded = build_mvsa_builtin(args.mvsa, progress=progress)
    except CMCSLError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bar.close()
    fs = loaded.features
    print(f"encoded {fs.n_items} tweets in {time.perf_counter() - start:.0f} s")
    if loaded.skipped:
        print(skipped_summary(loaded.skipped))
    out = save_features(fs, args.out, feature_dtype=np.float16, compress=True)
    size = out.stat().st_size
    t0 = time.perf_counter()
    back = load_features(out)
    load_s = time.perf_counter() - t0
    thumbs = sum(len(t) for t in fs.thumbnails or ())
    print(
        f"wrote {out}: {size / 1e6:.1f} MB ({thumbs / 1e6:.1f} MB thumbnails), {back.n_items} items, "
        f"widths {[x.shape[1] for x in back.X]}, classes {dict(zip(back.class_names, back.class_counts().tolist()))}, "
        f"loads in {load_s:.2f} s"
    )
    if size > MAX_BYTES:
        print(f"error: {out} is {size / 1e6:.1f} MB, over the 30 MB budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
