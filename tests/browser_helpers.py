"""Start the app with ``streamlit run`` and drive it with Debian's Chromium (playwright, no download).

Used by tests/test_browser.py and scripts/screenshots.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
"""Headless Chromium draws WebGL (Scattergl) only with SwiftShader; the rest keeps it off the network."""


def chromium_path() -> str | None:
    """Debian's chromium binary, if installed."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_app(
    log_path: Path, timeout: float = 60.0, env: dict[str, str] | None = None, script: str = "app.py"
) -> Iterator[str]:
    """Run ``streamlit run <script>`` (default app.py) on a free port; yield its URL.

    Stops it (and its children) afterwards.
    """
    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start within {timeout} s")
                time.sleep(0.3)
            yield url
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)  # the server and its UMAP workers
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def wait_idle(page, timeout_ms: int = 60_000, quiet_ms: int = 800) -> None:
    """Wait until Streamlit has finished running the script (its status widget gone for ``quiet_ms``)."""
    deadline = time.monotonic() + timeout_ms / 1000
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=timeout_ms)
    quiet_since = None
    while time.monotonic() < deadline:
        busy = page.locator('[data-testid="stStatusWidget"]').count() > 0
        busy = busy or page.locator('[data-testid="stSkeleton"]').count() > 0
        now = time.monotonic()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif (now - quiet_since) * 1000 >= quiet_ms:
            return
        page.wait_for_timeout(100)
    raise TimeoutError("the app kept running")


def wait_for_charts(page, count: int, timeout_ms: int = 60_000) -> float:
    """Wait until ``count`` Plotly charts are drawn; return the seconds it took."""
    t0 = time.monotonic()
    page.wait_for_function(
        f"() => document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .main-svg').length >= {count}",
        timeout=timeout_ms,
    )
    return time.monotonic() - t0


def wait_for_views(page, timeout_ms: int = 60_000):
    """Wait until the Clusters page's linked views have drawn their points; return their frame."""
    from cmcsl_studio_ui.scatter.browser import scatter_frame, wait_ready

    frame = scatter_frame(page, timeout_s=timeout_ms / 1000)
    wait_ready(frame, timeout_ms=timeout_ms)
    return frame


@contextmanager
def headless_chromium() -> Iterator[object]:
    """Debian's chromium under playwright, headless (WebGL through SwiftShader); closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browser_page(browser, width: int = 1500, height: int = 1700, timeout_ms: int = 60_000) -> Iterator[object]:
    """A page in a fresh browser context (its own cookies: a new Streamlit session); closed afterwards."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        yield page
    finally:
        context.close()
