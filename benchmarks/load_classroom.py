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

**A served class labelling** (``--review``): the server is served as a class is
(``$CMCSL_DATA_ROOT`` set, a temporary data folder and annotation folder), and every session
also opens the Review page, gives a name once (``student<k>``) and presses a class key every
``--review-every`` seconds (jittered) for ``--duration`` seconds. A label counts from the key
press until the page acknowledges it (its *Human labels* count grew). At the end every
acknowledged label must be in the class's database under that session's annotator, and the
server's memory (resident, with its child processes) is sampled from start to end. With
``--review-only`` the sessions do not open the Clusters page. ``python benchmarks/load_classroom.py
--review --review-only --sessions 30 --duration 120 --review-every 5`` is the served-class target:
every acknowledged label stored, median label at most 1 s, server memory growth at most 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
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

SAVED_AS = re.compile(r"saved as (student\d+ #[0-9a-f]+)")


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


async def _human_labels(page) -> int:
    text = await page.locator('[data-testid="stMetricValue"]').first.inner_text()
    return int(text.replace(",", ""))


async def review_session(browser, url: str, k: int, args, opened: asyncio.Barrier, clock: dict, out: dict) -> None:
    """One student on the Review page: a name once, then a class key every ~``review_every`` seconds."""
    rec: dict[str, Any] = {"labels": [], "errors": [], "open_s": None, "annotator": None}
    out[k] = rec
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda e: rec["errors"].append(f"pageerror: {e}"))
    ready = False
    try:
        t0 = time.monotonic()
        await page.goto(url + "/Review", timeout=180_000)
        await page.get_by_role("textbox", name="Your name").fill(f"student{k}", timeout=180_000)
        await page.get_by_role("button", name="Start labelling").click(timeout=60_000)
        shown = page.get_by_text("Labelling as")
        await shown.wait_for(timeout=120_000)
        match = SAVED_AS.search(await shown.inner_text())
        rec["annotator"] = match.group(1) if match else None
        await page.get_by_role("button", name="Undo").wait_for(timeout=120_000)
        rec["open_s"] = time.monotonic() - t0
        ready = True
    except Exception as exc:
        rec["errors"].append(f"open: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    await opened.wait()
    clock.setdefault("stop_at", time.monotonic() + args.duration)
    stop_at = clock["stop_at"]
    if not ready:
        await context.close()
        return
    try:
        rng = random.Random(1000 + k)
        await asyncio.sleep(rng.uniform(0, args.review_every))
        while time.monotonic() < stop_at:
            before = await _human_labels(page)
            t1 = time.monotonic()
            await page.locator("body").press(str(1 + rng.randrange(2)))
            await page.wait_for_function(
                "(n) => { const m = document.querySelector('[data-testid=stMetricValue]');"
                " return m && parseInt(m.textContent.replace(/,/g, '')) > n; }",
                arg=before, polling=50, timeout=30_000,
            )
            rec["labels"].append(time.monotonic() - t1)
            if await page.locator('[data-testid="stException"]').count():
                rec["errors"].append("streamlit exception shown")
                break
            await asyncio.sleep(max(0.0, rng.uniform(0.5, 1.5) * args.review_every - (time.monotonic() - t1)))
    except Exception as exc:
        rec["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        await context.close()


async def run(url: str, args) -> dict:
    from playwright.async_api import async_playwright

    out: dict = {"clusters": {}, "review": {}}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        clusters = 0 if args.review_only else args.sessions
        reviews = args.sessions if args.review else 0
        opened = asyncio.Barrier(clusters + reviews)
        clock: dict = {}
        await asyncio.gather(
            *(session(browser, url, k, args, opened, clock, out["clusters"]) for k in range(clusters)),
            *(review_session(browser, url, k, args, opened, clock, out["review"]) for k in range(reviews)),
        )
        await browser.close()
    out["started_at"] = clock.get("stop_at", time.monotonic()) - args.duration
    return out


def _server_usage(port: int) -> tuple[int, float]:
    """Resident memory (bytes) and CPU seconds (user + system) of the process listening on ``port`` and its children."""
    import psutil

    for c in psutil.net_connections("inet"):
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid:
            procs = [psutil.Process(c.pid)]
            procs += procs[0].children(recursive=True)
            rss, cpu = 0, 0.0
            for proc in procs:
                try:
                    rss += proc.memory_info().rss
                    times = proc.cpu_times()
                    cpu += times.user + times.system
                except psutil.Error:
                    pass
            return rss, cpu
    return 0, 0.0


async def _sample_memory(port: int, samples: list, stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append((time.monotonic(), *_server_usage(port)))
        try:
            await asyncio.wait_for(stop.wait(), timeout=2.0)
        except asyncio.TimeoutError:
            pass


async def run_sampled(url: str, args, samples: list) -> dict:
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_memory(int(url.rsplit(":", 1)[1]), samples, stop))
    try:
        return await run(url, args)
    finally:
        stop.set()
        await sampler


def _stored(db_folder: Path) -> dict[str, int]:
    """Label actions per annotator in the class's databases (every data set's)."""
    import sqlite3

    counts: dict[str, int] = {}
    for db in db_folder.glob("annotations-*.sqlite"):
        con = sqlite3.connect(db)
        for who, n in con.execute("SELECT annotator, COUNT(*) FROM actions WHERE kind = 'label' GROUP BY annotator"):
            counts[who] = counts.get(who, 0) + int(n)
        con.close()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of clicking")
    parser.add_argument("--every", type=float, default=4.0, help="seconds between a session's clicks (jittered)")
    parser.add_argument("--script", default="scripts/scatter_demo_app.py")
    parser.add_argument("--path", default="/?n=6864", help="page path and query to open")
    parser.add_argument("--button", default="Randomize")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--review", action="store_true", help="every session also labels on the Review page (served)")
    parser.add_argument("--review-only", action="store_true", help="with --review: no Clusters page")
    parser.add_argument("--review-every", type=float, default=5.0, help="seconds between a session's labels (jittered)")
    args = parser.parse_args(argv)
    if args.review_only and not args.review:
        parser.error("--review-only needs --review")
    if chromium_path() is None:
        print("error: Debian's chromium is not installed", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="load-classroom-"))
    log = tmp / "streamlit.log"
    env = {}
    if args.review:  # served as a class is: a data folder, the class's annotation folder
        (tmp / "class-data").mkdir()
        env = {"CMCSL_DATA_ROOT": str(tmp / "class-data"), "XDG_DATA_HOME": str(tmp / "xdg"),
               "CMCSL_NO_BACKGROUND_UMAP": "1", "CMCSL_TEACHER_KEY": "bench"}
    t0 = time.monotonic()
    samples: list[tuple[float, int, float]] = []
    load_start = os.getloadavg()
    with running_app(log, script=args.script, env=env) as url:
        out = asyncio.run(asyncio.wait_for(run_sampled(url, args, samples), timeout=args.duration + 600))
    load_end = os.getloadavg()
    summary = _summary(out["clusters"], "click", args) if out["clusters"] else {"sessions": args.sessions}
    if out["review"]:
        summary["review"] = _review_summary(out["review"], _stored(tmp / "xdg" / "cmcsl-studio"))
    rss = [(t, r) for t, r, _ in samples if r]
    cpu = [(t, c) for t, r, c in samples if r and t >= out["started_at"]]
    if len(cpu) >= 2:
        spent = cpu[-1][1] - cpu[0][1]
        summary["server_cpu_s"] = {
            "over_the_run": round(spent, 1),
            "share_of_one_core": round(spent / (cpu[-1][0] - cpu[0][0]), 2),
        }
        labels = summary.get("review", {}).get("labels")
        if labels:
            summary["server_cpu_s"]["per_label"] = round(spent / labels, 3)
    if rss:
        during = [r for t, r in rss if t >= out["started_at"]] or [rss[-1][1]]
        mb = 1 << 20
        summary["server_rss_mb"] = {
            "server_started": round(rss[0][1] / mb),  # before any page ran (no data, no app modules)
            "sessions_open": round(during[0] / mb),  # every session has opened its pages: the run starts
            "end": round(rss[-1][1] / mb),
            "peak": round(max(r for _, r in rss) / mb),
            "growth_over_the_run": round((rss[-1][1] - during[0]) / mb),
            "growth_since_start": round((rss[-1][1] - rss[0][1]) / mb),
        }
    summary["loadavg_start"] = [round(x, 2) for x in load_start]
    summary["loadavg_end"] = [round(x, 2) for x in load_end]
    summary["wall_s"] = round(time.monotonic() - t0, 1)
    errors = {
        **summary.get("errors", {}),
        **{f"review {k}": v for k, v in summary.get("review", {}).get("errors", {}).items()},
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    lost = summary.get("review", {}).get("labels_lost", 0)
    return 0 if not errors and not lost else 1


def _summary(out: dict, what: str, args) -> dict:
    times = sorted(c for r in out.values() for c in r[f"{what}s"])
    errors = {k: r["errors"] for k, r in out.items() if r["errors"]}
    opens = [r["open_s"] for r in out.values() if r["open_s"] is not None]
    return {
        "sessions": len(out),
        "duration_s": args.duration,
        f"{what}s": len(times),
        f"{what}_s_median": round(statistics.median(times), 3) if times else None,
        f"{what}_s_p90": round(times[int(0.9 * (len(times) - 1))], 3) if times else None,
        f"{what}_s_max": round(times[-1], 3) if times else None,
        f"{what}s_per_session": [len(out[k][f"{what}s"]) for k in sorted(out)],
        "open_s_median": round(statistics.median(opens), 2) if opens else None,
        "sessions_with_errors": len(errors),
        "errors": errors,
    }


def _review_summary(out: dict, stored: dict[str, int]) -> dict:
    """The labelling sessions' numbers, and whether every acknowledged label is in the database."""

    class Args:
        duration = None

    summary = _summary(out, "label", Args)
    summary.pop("duration_s")
    acknowledged = {r["annotator"]: len(r["labels"]) for r in out.values() if r["annotator"]}
    short = {who: (n, stored.get(who, 0)) for who, n in acknowledged.items() if stored.get(who, 0) < n}
    summary["labels_acknowledged"] = sum(acknowledged.values())
    summary["labels_stored"] = sum(stored.get(who, 0) for who in acknowledged)
    summary["labels_lost"] = sum(n - s for n, s in short.values())
    summary["annotators_short"] = short
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
