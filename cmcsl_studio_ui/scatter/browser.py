"""Drive the linked scatter component in a real browser (playwright pages), for tests and benchmarks.

Nothing here imports playwright or Streamlit; functions take playwright ``Page`` / ``Frame``
objects. The frame exposes ``window.__scatter`` (see ``frontend/src/main.js``): ``ready``,
``draws``, ``lastDraw``, ``highlighted``, ``selected``, ``events``, ``pointsReceived``,
``screenPosition(view, i)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "WsCounter",
    "Settled",
    "scatter_frame",
    "wait_ready",
    "wait_draws",
    "wait_settled",
    "point_on_page",
    "isolated_item",
    "lasso",
    "click_item",
    "hover_item",
]

COMPONENT = "cmcsl_linked_scatter"


@dataclass
class WsCounter:
    """Bytes the server pushed over the page's websocket(s) (``framereceived``), with a timeline."""

    received: int = 0
    frames: list[tuple[float, int]] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)

    def attach(self, page: Any) -> "WsCounter":
        def on_ws(ws: Any) -> None:
            ws.on("framereceived", self._on_frame)
            ws.on("framesent", lambda _payload: self.sent.append(time.monotonic()))

        page.on("websocket", on_ws)
        return self

    def last_received(self) -> float:
        """When the server last pushed a frame (``time.monotonic()``; 0 if never)."""
        return self.frames[-1][0] if self.frames else 0.0

    def server_s(self, t0: float) -> float | None:
        """From the browser's first message after ``t0`` (the rerun request) to the server's last frame.

        That is the script run as the browser sees it: server time plus loopback, without drawing.
        """
        sent = [t for t in self.sent if t >= t0]
        got = [t for t, _ in self.frames if t >= t0]
        return (got[-1] - sent[0]) if sent and got and got[-1] >= sent[0] else None

    def _on_frame(self, payload: Any) -> None:
        size = len(payload) if payload is not None else 0
        self.received += size
        self.frames.append((time.monotonic(), size))

    def since(self, t0: float) -> int:
        return sum(size for t, size in self.frames if t >= t0)


def scatter_frame(page: Any, timeout_s: float = 60.0) -> Any:
    """The component's iframe (a playwright ``Frame``) once its script has set ``window.__scatter``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            if COMPONENT in frame.url:
                try:
                    if frame.evaluate("() => !!window.__scatter"):
                        return frame
                except Exception:  # the frame is still navigating
                    pass
        page.wait_for_timeout(50)
    raise TimeoutError(f"no {COMPONENT} frame within {timeout_s:.0f} s")


def wait_ready(frame: Any, timeout_ms: int = 60_000) -> None:
    """Wait until the frame has drawn its points once."""
    frame.wait_for_function("() => window.__scatter && window.__scatter.ready", timeout=timeout_ms)


def wait_draws(frame: Any, more_than: int, timeout_ms: int = 60_000) -> None:
    """Wait until the frame has drawn more than ``more_than`` times (a rerun's new colours applied)."""
    frame.wait_for_function(f"() => window.__scatter.draws > {more_than}", timeout=timeout_ms)


@dataclass(frozen=True)
class Settled:
    """After an action at ``t0``: seconds until the views redrew, until the page was idle, bytes pushed, server time."""

    drawn_s: float
    idle_s: float
    bytes: int
    server_s: float | None


def wait_settled(
    page: Any, frame: Any, ws: WsCounter, draws: int, t0: float, quiet_s: float = 0.4, timeout_s: float = 120.0
) -> Settled:
    """Wait until the frame drew more than ``draws`` times and the server went quiet (nothing pushed
    for ``quiet_s``, no "running" widget); report the times counted from ``t0``.

    ``idle_s`` is the later of the redraw and the server's last frame (the script-finished message).
    """
    deadline = time.monotonic() + timeout_s
    drawn_at = None
    while time.monotonic() < deadline:
        now = time.monotonic()
        if drawn_at is None and frame.evaluate(f"() => window.__scatter.draws > {draws}"):
            drawn_at = now
        if drawn_at is not None and now - max(ws.last_received(), drawn_at) >= quiet_s:
            if page.locator('[data-testid="stStatusWidget"]').count() == 0:
                idle_at = max(drawn_at, ws.last_received())
                return Settled(drawn_at - t0, idle_at - t0, ws.since(t0), ws.server_s(t0))
        page.wait_for_timeout(25)
    raise TimeoutError(f"the views did not redraw and settle within {timeout_s:.0f} s")


def isolated_item(frame: Any, view: int, exclude: Any = (), px: float = 8.0) -> int:
    """An item of ``view`` with no other item within ``px`` pixels (a click hits it alone), not in ``exclude``."""
    found = frame.evaluate(f"([ex]) => window.__scatter.isolated({view}, {px}, ex)", [list(map(int, exclude))])
    if found is None:
        raise LookupError(f"no item stands {px} px apart from the others in view {view}")
    return int(found)


def point_on_page(frame: Any, view: int, item: int) -> tuple[float, float]:
    """Page coordinates of ``item`` in ``view`` (iframe offset + position in the frame)."""
    x, y = frame.evaluate(f"() => window.__scatter.screenPosition({view}, {item})")
    box = frame.frame_element().bounding_box()
    return box["x"] + x, box["y"] + y


def plot_box(frame: Any, view: int) -> dict[str, float]:
    """Page bounding box of the plot of ``view``."""
    box = frame.frame_element().bounding_box()
    r = frame.evaluate(
        f"() => {{ const b = document.querySelectorAll('.plot')[{view}].getBoundingClientRect(); "
        "return [b.left, b.top, b.width, b.height]; }"
    )
    return {"x": box["x"] + r[0], "y": box["y"] + r[1], "width": r[2], "height": r[3]}


def lasso(page: Any, frame: Any, view: int = 0, frac: float = 0.3) -> None:
    """Shift+drag a square lasso around the centre of the plot of ``view``."""
    b = plot_box(frame, view)
    cx, cy = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
    r = min(b["width"], b["height"]) * frac
    page.keyboard.down("Shift")
    page.mouse.move(cx - r, cy - r)
    page.mouse.down()
    for dx, dy in [(r, -r), (r, r), (-r, r), (-r, -r)]:
        page.mouse.move(cx + dx, cy + dy, steps=8)
    page.mouse.up()
    page.keyboard.up("Shift")


def click_item(page: Any, frame: Any, view: int, item: int) -> None:
    x, y = point_on_page(frame, view, item)
    page.mouse.click(x, y)


def hover_item(page: Any, frame: Any, view: int, item: int) -> None:
    x, y = point_on_page(frame, view, item)
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y, steps=3)
