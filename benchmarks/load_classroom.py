"""A classroom: one Streamlit server, many browser sessions pressing "Randomize" every few seconds.

Starts one server (loopback only) running ``scripts/scatter_demo_app.py`` (the component alone) or
the real Clusters page (``--script app.py --path /Clusters --button "Randomize seeds"``), opens ``--sessions``
headless Chromium contexts (playwright, one browser), and lets each press the button every
``--every`` seconds (jittered) for ``--duration`` seconds, counted from the moment all
sessions have opened the page (opening 20 software-WebGL pages at once on 2 cores is
reported separately as ``open_s``). A click counts from the press until
the component has redrawn (``window.__scatter.draws`` grew). Reports the median and 90th
percentile click time, clicks per session, and any session errors (Streamlit exceptions,
page errors, component errors, timeouts). Bounded in time: sessions stop starting clicks
after ``--duration`` seconds and each click times out after 30 s.

Usage: ``python benchmarks/load_classroom.py [--sessions 20] [--duration 60] [--every 4]``.
The browsers run on the same machine as the server: on 2 cores, 20 software-WebGL pages use
several times the server's CPU, so the click times measure the whole machine, not the server alone
(see the README).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cmcsl_studio_ui.scatter.browser import COMPONENT  # noqa: E402
from tests.browser_helpers import CHROMIUM_ARGS, chromium_path, running_app  # noqa: E402


async def _frame(page, timeout_s: float = 120.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for fr in page.frames:
            if COMPONENT in fr.url:
                try:
                    if await fr.evaluate("() => !!(window.__scatter && window.__scatter.ready)"):
                        return fr
                except Exception:
                    pass
        await asyncio.sleep(0.2)
    raise TimeoutError("the views did not draw")


async def session(browser, url: str, k: int, args, opened: asyncio.Barrier, clock: dict, out: dict) -> None:
    rec: dict[str, Any] = {"clicks": [], "errors": [], "open_s": None}
    out[k] = rec
    context = await browser.new_context(viewport={"width": 1300, "height": 850})
    page = await context.new_page()
    page.on("pageerror", lambda e: rec["errors"].append(f"pageerror: {e}"))
    frame = None
    try:
        t0 = time.monotonic()
        await page.goto(url + args.path, timeout=180_000)
        frame = await _frame(page, timeout_s=180)
        rec["open_s"] = time.monotonic() - t0
    except Exception as exc:
        rec["errors"].append(f"open: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    await opened.wait()  # the minute of clicking starts once every session has opened (or failed to)
    clock.setdefault("stop_at", time.monotonic() + args.duration)
    stop_at = clock["stop_at"]
    if frame is None:
        await context.close()
        return
    try:
        rng = random.Random(k)
        await asyncio.sleep(rng.uniform(0, args.every))
        while time.monotonic() < stop_at:
            draws = await frame.evaluate("() => window.__scatter.draws")
            t1 = time.monotonic()
            await page.get_by_role("button", name=args.button).click(timeout=30_000)
            # polled every 50 ms, not on every animation frame (the default): 20 pages polling at 60 Hz
            # would make the browsers draw frames for the harness, not for the app
            await frame.wait_for_function(f"() => window.__scatter.draws > {draws}", polling=50, timeout=30_000)
            rec["clicks"].append(time.monotonic() - t1)
            if await page.locator('[data-testid="stException"]').count():
                rec["errors"].append("streamlit exception shown")
                break
            err = await frame.evaluate("() => window.__scatter.error || null")
            if err:
                rec["errors"].append(f"component: {err[:200]}")
                break
            await asyncio.sleep(max(0.0, rng.uniform(0.5, 1.5) * args.every - (time.monotonic() - t1)))
    except Exception as exc:  # a timeout or a crash is a session error
        rec["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        await context.close()


async def run(url: str, args) -> dict:
    from playwright.async_api import async_playwright

    out: dict = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        opened = asyncio.Barrier(args.sessions)
        clock: dict = {}
        await asyncio.gather(*(session(browser, url, k, args, opened, clock, out) for k in range(args.sessions)))
        await browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of clicking")
    parser.add_argument("--every", type=float, default=4.0, help="seconds between a session's clicks (jittered)")
    parser.add_argument("--script", default="scripts/scatter_demo_app.py")
    parser.add_argument("--path", default="/?n=6864", help="page path and query to open")
    parser.add_argument("--button", default="Randomize")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if chromium_path() is None:
        print("error: Debian's chromium is not installed", file=sys.stderr)
        return 2
    log = Path(tempfile.mkdtemp(prefix="load-classroom-")) / "streamlit.log"
    t0 = time.monotonic()
    with running_app(log, script=args.script) as url:
        out = asyncio.run(asyncio.wait_for(run(url, args), timeout=args.duration + 400))
    clicks = sorted(c for r in out.values() for c in r["clicks"])
    errors = {k: r["errors"] for k, r in out.items() if r["errors"]}
    opens = [r["open_s"] for r in out.values() if r["open_s"] is not None]
    summary = {
        "sessions": args.sessions,
        "duration_s": args.duration,
        "clicks": len(clicks),
        "click_s_median": round(statistics.median(clicks), 3) if clicks else None,
        "click_s_p90": round(clicks[int(0.9 * (len(clicks) - 1))], 3) if clicks else None,
        "click_s_max": round(clicks[-1], 3) if clicks else None,
        "clicks_per_session": [len(out[k]["clicks"]) for k in sorted(out)],
        "open_s_median": round(statistics.median(opens), 2) if opens else None,
        "sessions_with_errors": len(errors),
        "errors": errors,
        "wall_s": round(time.monotonic() - t0, 1),
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
