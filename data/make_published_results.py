"""Regenerate ``data/published_results.csv`` from the CMCSL authors' per-fold results.

Usage::

    python data/make_published_results.py --paper ../shared/paper [--out data/published_results.csv]

``--paper`` is the folder of the authors' ``experiment_*.npy`` files (see its README.md).
Each output row summarises the 10 folds (5 x 2 CV) of one setting:

experiment
    ``comparison`` (experiment 3: FULL/PRE/UNI/CMCSL per modality with GNB, LR,
    CART; EF and LF on both modalities), ``preprocessing`` (experiment 2: GNB under
    raw, l2, std, l2std, minmax) or ``base_classifiers`` (experiment 1: GNB, LR,
    CART with full labels; its GNB scores equal the preprocessing study's ``raw`` FULL
    scores, so its preprocessing is ``raw``).
subset, modality, method, classifier, preprocessing
    ``modality`` is visual (m1), text (m2) or fused (EF, LF).
b_class
    1..20, or empty for FULL, EF and LF, whose scores are identical for every b in
    the files (checked); such rows stand for every b.
mean, std, n_folds
    Mean and population standard deviation (``ddof=0``) of the balanced accuracy
    over the folds.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cmcsl_core.constants import B_VALUES, REPEATS  # noqa: E402

SUBSETS = (
    "HR", "DS", "HM", "BW", "AM", "FS", "FW", "MS", "FM", "AT", "HMSWW", "FMSW", "FMNSSW", "FFW",
    "CDFS", "AFHMS", "ACMD", "ACCDDHMRS", "ABHMW", "ABFHSS",
)
METHODS = ("FULL", "PRE", "UNI", "CMCSL")
MODALITIES = {"m1": "visual", "m2": "text"}
CLASSIFIERS = ("gnb", "lr", "cart")
PREPROCESSINGS = ("raw", "l2", "std", "l2std")  # experiment_2_*_52.npy; minmax comes from *_more.npy
B_INDEPENDENT = ("FULL", "EF", "LF")
"""Methods trained on full labels: their scores are identical for every b_class."""
COLUMNS = (
    "experiment", "subset", "modality", "method", "classifier", "preprocessing", "b_class", "mean", "std", "n_folds",
)


def curve_rows(scores: np.ndarray, **key: str) -> list[dict[str, object]]:
    """Rows for a B x FOLD array: one per b_class, or, for FULL/EF/LF when constant in b, one with empty b_class."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[None, :]
    constant = key["method"] in B_INDEPENDENT and bool(np.all(scores == scores[:1]))
    blocks = [("", scores[0])] if constant else [(str(B_VALUES[i]), scores[i]) for i in range(scores.shape[0])]
    return [
        {**key, "b_class": b, "mean": f"{s.mean():.6f}", "std": f"{s.std():.6f}", "n_folds": s.size}
        for b, s in blocks
    ]


def method_rows(arr: np.ndarray, experiment: str, modality: str, classifier: str, preprocessing: str) -> list[dict]:
    """Rows for a SUBSET x METHOD x B x FOLD array."""
    rows: list[dict] = []
    for i, subset in enumerate(SUBSETS):
        for j, method in enumerate(METHODS):
            rows += curve_rows(
                arr[i, j],
                experiment=experiment,
                subset=subset,
                modality=modality,
                method=method,
                classifier=classifier,
                preprocessing=preprocessing,
            )
    return rows


def build_rows(paper: Path) -> list[dict]:
    """All rows, from the ``experiment_*.npy`` files in ``paper``."""

    def load(name: str, shape: tuple[int, ...]) -> np.ndarray:
        arr = np.load(paper / name, allow_pickle=False)
        if arr.shape != shape:
            raise SystemExit(f"{paper / name}: expected shape {shape}, got {arr.shape}")
        return arr

    n, m, b, f = len(SUBSETS), len(METHODS), len(B_VALUES), 2 * REPEATS
    rows: list[dict] = []
    for tag, modality in MODALITIES.items():
        main = load(f"experiment_3_{tag}_52.npy", (n, m, b, f))
        rows += method_rows(main, "comparison", modality, "gnb", "l2std")
        mc = load(f"experiment_3_{tag}_52_mc.npy", (n, m, b, f, 2))
        for c, clf in enumerate(("lr", "cart")):
            rows += method_rows(mc[..., c], "comparison", modality, clf, "l2std")
    for name, method, nb in (
        ("experiment_3_52_early_fusion_all_clfs.npy", "EF", 1),
        ("experiment_3_52_late_fusion_all_clfs.npy", "LF", b),
    ):
        fused = load(name, (n, 1, nb, f, 3))
        for i, subset in enumerate(SUBSETS):
            for c, clf in enumerate(CLASSIFIERS):
                rows += curve_rows(
                    fused[i, 0, :, :, c],
                    experiment="comparison",
                    subset=subset,
                    modality="fused",
                    method=method,
                    classifier=clf,
                    preprocessing="l2std",
                )
    for tag, modality in MODALITIES.items():
        study = load(f"experiment_2_{tag}_52.npy", (len(PREPROCESSINGS), n, m, b, f))
        more = load(f"experiment_2_{tag}_52_more.npy", (1, n, m, b, f))
        for p, prep in enumerate(PREPROCESSINGS):
            rows += method_rows(study[p], "preprocessing", modality, "gnb", prep)
        rows += method_rows(more[0], "preprocessing", modality, "gnb", "minmax")
    base = load("experiment_1_52.npy", (n, 2, f, 3))
    for i, subset in enumerate(SUBSETS):
        for t, modality in enumerate(MODALITIES.values()):
            for c, clf in enumerate(CLASSIFIERS):
                rows += curve_rows(
                    base[i, t, :, c],
                    experiment="base_classifiers",
                    subset=subset,
                    modality=modality,
                    method="FULL",
                    classifier=clf,
                    preprocessing="raw",
                )
    return rows


def render(rows: list[dict]) -> str:
    """The CSV text (Unix newlines)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_paper = here.parent.parent / "shared" / "paper"
    parser.add_argument("--paper", default=str(default_paper), help="folder of experiment_*.npy")
    parser.add_argument("--out", default=str(here / "published_results.csv"), help="CSV to write")
    args = parser.parse_args(argv)
    text = render(build_rows(Path(args.paper)))
    out = Path(args.out)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    print(f"wrote {out} ({text.count(chr(10)) - 1} rows, {len(text.encode()) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
