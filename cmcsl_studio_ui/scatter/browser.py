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

__all__ = ["WsCounter", "scatter_frame", "wait_ready", "wait_draws", "point_on_page", "lasso", "click_item", "hover_item"]

COMPONENT = "cmcsl_linked_scatter"


@dataclass
class WsCounter:
    """Bytes the server pushed over the page's websocket(s) (``framereceived``), with a timeline."""

    received: int = 0
    frames: list[tuple[float, int]] = field(default_factory=list)

    def attach(self, page: Any) -> "WsCounter":
        def on_ws(ws: Any) -> None:
            ws.on("framereceived", self._on_frame)

        page.on("websocket", on_ws)
        return self

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


def point_on_page(frame: Any, view: int, item: int) -> tuple[float, float]:
    """Page coordinates of ``item`` in ``view`` (iframe offset + position in the frame)."""
    x, y = frame.evaluate(f"() => window.__scatter.screenPosition({view}, {item})")
    box = frame.frame_element().bounding_box()
    return box["x"] + x, box["y"] + y


def plot_box(frame: Any, view: int) -> dict[str, float]:
    """Page bounding box of the plot of ``view``."""
    box = frame.frame_element().bounding_box()
    r = frame.evaluate(f"() => {{ const b = document.querySelectorAll('.plot')[{view}].getBoundingClientRect(); return [b.left, b.top, b.width, b.height]; }}")
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
