"""Benchmark the real Clusters page (``streamlit run app.py``, /Clusters) in headless Chromium.

Two cases, each in a fresh browser session on one server:

- ``demo``: the demo subset (default ACCDDHMRS, 6,865 items) with UMAP views. Their UMAP is
  computed once before the server starts (in this process, cached on disk under
  ``CMCSL_CACHE_DIR``: later runs reuse it), so the page opens with UMAP, not PCA.
- ``synthetic``: a synthetic feature file of ``--synthetic`` items (default 100,000; 2 modalities,
  10 classes, 64-d and 48-d Gaussian blobs), PCA views (the server runs with
  ``CMCSL_NO_BACKGROUND_UMAP=1``).

Measured per case (software WebGL, wall clock):

- ``first_paint_s``: page open -> both views drawn; ``bytes_first_load``: pushed until then;
- ``randomize``: "Randomize seeds" (above the views; reruns the panel only): bytes pushed, click ->
  views redrawn, click -> page idle, and ``server_s`` (browser's rerun request -> the server's
  last frame: script time + loopback);
- ``click``: a click on a point (adds it as a seed, opens it in the side panel; a fragment rerun);
- ``lasso``: a Shift+drag lasso (adds the selected items as seeds; the drag itself is ``drag_s``;
  ``linked_s``: mouse-up -> the selection shown in the other view, in the browser alone);
- ``panel_ms``: the fragment's own Python time as the page reports it ("Labeling and drawing took").

Usage: ``python benchmarks/bench_clusters.py [--subset ACCDDHMRS] [--synthetic 100000] [--clicks 5]
[--cases demo synthetic] [--labeler cm-ls] [--json out.json]`` (``--labeler``: the sidebar's Labeler for
both cases; the spreading labelers build their kNN graphs on the page's first labeling and keep them).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cmcsl_core.constants import DEFAULT_PREPROCESSING, UMAP_SEED  # noqa: E402
from cmcsl_studio_ui.scatter.browser import (  # noqa: E402
    WsCounter,
    click_item,
    isolated_item,
    lasso,
    scatter_frame,
    wait_ready,
    wait_settled,
)
from tests.browser_helpers import CHROMIUM_ARGS, chromium_path, running_app, wait_idle  # noqa: E402

SEED_LIST = "Seed items (indices, comma separated)"


def precompute_umap(subset: str) -> float:
    """Compute (or find cached) the UMAP views of the demo ``subset`` with the default preprocessing."""
    from cmcsl_core.datasets.sources import SourceSpec
    from cmcsl_core.method.preprocessing import preprocess_features
    from cmcsl_core.views.embedding import cached_umap, umap_2d, umap_key

    t0 = time.monotonic()
    fs = SourceSpec.create("demo", subset).load()
    for X in preprocess_features(fs.X, DEFAULT_PREPROCESSING):
        if cached_umap(umap_key(X, UMAP_SEED)) is None:
            umap_2d(X, UMAP_SEED)
    return time.monotonic() - t0


def synthetic_file(n: int, folder: Path) -> Path:
    """A feature file of ``n`` items: 10 classes, two modalities of Gaussian blobs (64-d, 48-d)."""
    from cmcsl_core.datasets.features import make_feature_set, save_features

    path = folder / f"synthetic_{n}.npz"
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    k = 10
    y = rng.integers(0, k, n)
    X = [(rng.normal(0, 3, (k, d))[y] + rng.normal(0, 1.5, (n, d))).astype(np.float32) for d in (64, 48)]
    fs = make_feature_set(X, y, class_names=[f"class {c}" for c in range(k)], modality_names=["image", "text"])
    save_features(fs, path)
    return path


def seed_list(page) -> list[str]:
    return page.get_by_role("textbox", name=SEED_LIST).input_value().split(",")


def panel_ms(page) -> float:
    text = page.get_by_text("Labeling and drawing took").last.inner_text()
    m = re.search(r"took ([\d.]+) s", text)
    return 1000 * float(m.group(1)) if m else float("nan")


def draws(frame) -> int:
    return int(frame.evaluate("() => window.__scatter.draws"))


def summary(rows: list[dict]) -> dict:
    out: dict = {"n": len(rows)}
    for key in ("bytes", "drawn_s", "idle_s", "server_s", "panel_ms"):
        vals = [r[key] for r in rows if r.get(key) is not None]
        if vals:
            out[f"{key}_median"] = round(statistics.median(vals), 3)
            out[f"{key}_max"] = round(max(vals), 3)
    return out


def non_seeds(frame, page, count: int) -> list[int]:
    """Items to click: not seeds, each standing apart in view 0 (a click hits it alone)."""
    out: list[int] = []
    seeds = [int(s) for s in seed_list(page)]
    rng = np.random.default_rng(1)
    total = int(frame.evaluate("() => window.__scatter.total"))
    while len(out) < count:
        try:
            out.append(isolated_item(frame, 0, exclude=seeds + out, px=4))
        except LookupError:  # 100,000 points leave no room: any item (the click adds the one it hits)
            i = int(rng.integers(0, total))
            if i not in seeds and i not in out:
                out.append(i)
    return out


def bench_case(browser, url: str, path: str, clicks: int) -> dict:
    context = browser.new_context(viewport={"width": 1500, "height": 1300})
    page = context.new_page()
    page.set_default_timeout(180_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    ws = WsCounter().attach(page)
    t0 = time.monotonic()
    page.goto(url + path)
    frame = scatter_frame(page, timeout_s=180)
    wait_ready(frame, timeout_ms=180_000)
    first_paint = time.monotonic() - t0
    out: dict = {"path": path, "first_paint_s": round(first_paint, 2), "bytes_first_load": ws.since(t0)}
    out["views"] = frame.evaluate("() => Array.from(document.querySelectorAll('.view-title')).map(e => e.textContent)")
    out["items"] = int(frame.evaluate("() => window.__scatter.total"))
    page.get_by_text("Labeling and drawing took").last.wait_for()
    page.wait_for_timeout(1000)

    rows = []
    for _ in range(clicks):
        d, t1 = draws(frame), time.monotonic()
        page.get_by_role("button", name="Randomize seeds").click()
        s = wait_settled(page, frame, ws, d, t1)
        rows.append({**s.__dict__, "panel_ms": panel_ms(page)})
        page.wait_for_timeout(300)
    out["randomize"] = summary(rows)

    # a click inspects by default: the explicit seed mode, as a user picking seeds sets it
    page.locator("[data-testid=stRadio]").get_by_text("add seeds").click()
    wait_idle(page)
    rows = []
    for item in non_seeds(frame, page, clicks):
        n_seeds = len(seed_list(page))
        d, t1 = draws(frame), time.monotonic()
        click_item(page, frame, 0, item)  # in a dense region the click may hit a neighbour: count seeds
        s = wait_settled(page, frame, ws, d, t1)
        ok = len(seed_list(page)) == n_seeds + 1
        rows.append({**s.__dict__, "panel_ms": panel_ms(page), "added": ok})
        page.wait_for_timeout(300)
    out["click"] = summary(rows)
    out["click"]["all_added"] = all(r["added"] for r in rows)

    before = len(seed_list(page))
    d, t_drag = draws(frame), time.monotonic()
    lasso(page, frame, view=0, frac=0.08 if out["items"] < 20_000 else 0.03)
    t1 = time.monotonic()
    # linked: shown in the other view (polled on a 5 ms timer: the default polls on animation frames,
    # which the views' frame gate may hold back, and would time the gate, not the linking)
    frame.wait_for_function("() => window.__scatter.selectedIn(1).length > 0", polling=5)
    linked = time.monotonic() - t1
    s = wait_settled(page, frame, ws, d, t1)
    out["lasso"] = {
        **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in s.__dict__.items()},
        "drag_s": round(t1 - t_drag, 3),
        "linked_s": round(linked, 3),
        "selected": int(frame.evaluate("() => window.__scatter.selected.length")),
        "seeds_added": len(seed_list(page)) - before,
        "panel_ms": panel_ms(page),
    }
    out["page_errors"] = errors
    out["exceptions"] = page.locator('[data-testid="stException"]').count()
    context.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", default="ACCDDHMRS")
    parser.add_argument("--synthetic", type=int, default=100_000)
    parser.add_argument("--clicks", type=int, default=5)
    parser.add_argument("--cases", nargs="+", default=["demo", "synthetic"], choices=["demo", "synthetic"])
    parser.add_argument("--labeler", default="", help="the sidebar's Labeler (default: the page's, cmcsl)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if chromium_path() is None:
        print("error: Debian's chromium is not installed", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench-clusters-"))
    results: dict = {"cpus": os.cpu_count()}
    paths = {}
    if "demo" in args.cases:
        results["umap_precompute_s"] = round(precompute_umap(args.subset), 1)
        paths["demo"] = f"/Clusters?subset={args.subset}"
    if "synthetic" in args.cases:
        t0 = time.monotonic()
        f = synthetic_file(args.synthetic, work)
        results["synthetic_file_s"] = round(time.monotonic() - t0, 1)
        paths["synthetic"] = f"/Clusters?source=file&path={f}"
    if args.labeler:
        paths = {case: f"{path}&labeler={args.labeler}" for case, path in paths.items()}
        results["labeler"] = args.labeler
    with running_app(work / "streamlit.log", env={"CMCSL_NO_BACKGROUND_UMAP": "1"}) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            for case, path in paths.items():
                results[case] = bench_case(browser, url, path, args.clicks)
                print(json.dumps({case: results[case]}, indent=2), flush=True)
        finally:
            browser.close()
    results["loadavg_1min"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
