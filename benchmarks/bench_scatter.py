"""Benchmark the linked scatter component (cmcsl_studio_ui.scatter) in headless Chromium.

Runs ``scripts/scatter_demo_app.py`` (one server) and, for each size, opens the demo with
``?n=<items>`` (2 views), then measures:

- first paint: page open -> both views drawn (``window.__scatter.ready``);
- per "Randomize" (new colours + seeds): bytes the server pushed over the websocket,
  click -> views redrawn, click -> Streamlit idle again, and the fragment's server time;
- a click on an item: click -> seed drawn and side panel shown, bytes pushed;
- a lasso (Shift+drag): mouse-up -> selection applied as seeds and redrawn (the drag's own
  duration is reported apart as ``drag_s``).

Usage: ``python benchmarks/bench_scatter.py [--sizes 6864 100000] [--clicks 5] [--json out.json]``.
Software WebGL (SwiftShader) on this machine; numbers are wall-clock seconds.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cmcsl_studio_ui.scatter.browser import (  # noqa: E402
    WsCounter,
    click_item,
    lasso,
    scatter_frame,
    wait_draws,
    wait_ready,
)
from tests.browser_helpers import CHROMIUM_ARGS, chromium_path, running_app, wait_idle  # noqa: E402


def _server_ms(page) -> float:
    text = page.get_by_text("server time").inner_text()
    m = re.search(r"server time (\d+) ms", text)
    return float(m.group(1)) if m else float("nan")


def _draws(frame) -> int:
    return int(frame.evaluate("() => window.__scatter.draws"))


def bench_size(browser, url: str, n: int, clicks: int) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(120_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    ws = WsCounter().attach(page)
    t0 = time.monotonic()
    page.goto(f"{url}/?n={n}")
    frame = scatter_frame(page, timeout_s=120)
    wait_ready(frame, timeout_ms=120_000)
    first_paint = time.monotonic() - t0
    wait_idle(page, timeout_ms=120_000, quiet_ms=500)
    out: dict = {"items": n, "views": 2, "first_paint_s": round(first_paint, 2), "bytes_first_load": ws.received}

    recolour = []
    for _ in range(clicks):
        d = _draws(frame)
        t1 = time.monotonic()
        page.get_by_role("button", name="Randomize").click()
        wait_draws(frame, d, timeout_ms=120_000)
        drawn = time.monotonic() - t1
        wait_idle(page, timeout_ms=120_000, quiet_ms=250)
        idle = time.monotonic() - t1 - 0.25  # minus the quiet period wait_idle waits for
        recolour.append({"bytes": ws.since(t1), "redrawn_s": drawn, "idle_s": idle, "server_ms": _server_ms(page)})
        page.wait_for_timeout(300)
    out["recolour"] = {
        "bytes_median": int(statistics.median(r["bytes"] for r in recolour)),
        "bytes_max": max(r["bytes"] for r in recolour),
        "redrawn_s_median": round(statistics.median(r["redrawn_s"] for r in recolour), 3),
        "idle_s_median": round(statistics.median(r["idle_s"] for r in recolour), 3),
        "idle_s_max": round(max(r["idle_s"] for r in recolour), 3),
        "server_ms_median": statistics.median(r["server_ms"] for r in recolour),
    }

    item = int(frame.evaluate("() => window.__scatter.extremes(1).x1"))
    seeds = int(frame.evaluate("() => window.__scatter.lastDraw.seeds"))
    t1 = time.monotonic()
    click_item(page, frame, 1, item)
    frame.wait_for_function(f"() => window.__scatter.lastDraw.seeds !== {seeds}", timeout=120_000)
    page.get_by_text(f"Item {item}").wait_for()
    drawn = time.monotonic() - t1
    wait_idle(page, timeout_ms=120_000, quiet_ms=250)
    out["click"] = {
        "bytes": ws.since(t1),
        "seed_drawn_s": round(drawn, 3),
        "idle_s": round(time.monotonic() - t1 - 0.25, 3),
    }

    seeds = int(frame.evaluate("() => window.__scatter.lastDraw.seeds"))
    t_drag = time.monotonic()
    lasso(page, frame, view=0, frac=0.1)  # the drag itself (34 mouse moves) is not counted
    t1 = time.monotonic()
    frame.wait_for_function(f"() => window.__scatter.lastDraw.seeds > {seeds}", timeout=120_000)
    drawn = time.monotonic() - t1
    wait_idle(page, timeout_ms=120_000, quiet_ms=250)
    out["lasso"] = {
        "selected": int(frame.evaluate("() => window.__scatter.selected.length")),
        "bytes": ws.since(t1),
        "drag_s": round(t1 - t_drag, 3),
        "seeds_drawn_s": round(drawn, 3),
        "idle_s": round(time.monotonic() - t1 - 0.25, 3),
    }
    out["points_received"] = int(frame.evaluate("() => window.__scatter.pointsReceived"))
    out["exceptions"] = page.locator('[data-testid="stException"]').count()
    out["page_errors"] = errors
    context.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[6864, 100_000])
    parser.add_argument("--clicks", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    chromium = chromium_path()
    if chromium is None:
        print("error: Debian's chromium is not installed", file=sys.stderr)
        return 2
    results = []
    log = Path(tempfile.mkdtemp(prefix="bench-scatter-")) / "streamlit.log"
    with running_app(log, script="scripts/scatter_demo_app.py") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        for n in args.sizes:
            r = bench_size(browser, url, n, args.clicks)
            results.append(r)
            print(json.dumps(r), flush=True)
        browser.close()
    print()
    print(
        "| items | first paint | per recolour: pushed / redrawn / idle (median) "
        "| click: seed drawn | lasso: seeds drawn |"
    )
    print("|---|---|---|---|---|")
    for r in results:
        rc = r["recolour"]
        print(
            f"| {r['items']:,} | {r['first_paint_s']:.1f} s | "
            f"{rc['bytes_median'] / 1e3:.1f} kB / {rc['redrawn_s_median']:.2f} s / "
            f"{rc['idle_s_median']:.2f} s (server {rc['server_ms_median']:.0f} ms) | "
            f"{r['click']['seed_drawn_s']:.2f} s "
            f"({r['click']['bytes'] / 1e3:.1f} kB) | "
            f"{r['lasso']['seeds_drawn_s']:.2f} s ({r['lasso']['selected']:,} items) |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
