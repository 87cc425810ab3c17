"""What a page shows while a source encodes its items, and the rows it skipped.

Item sources (``table``, ``mvsa``, ``raw``) encode every image, then every text, and report
``progress(done, total)`` with ``total = 2 N`` (:func:`cmcsl_core.datasets.sources.items.encode_items`):
:class:`EncodingProgress` turns that into "images 120/400, texts 0/400, about 1 min left".
The rows a source skipped (a missing image, an undecodable one, a missing label, a duplicate
id) are listed with why, and offered as the CSV the CLI writes beside its output
(``<out>.skipped.csv``, :func:`~cmcsl_core.datasets.sources.items.write_skipped_csv`).
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import pandas as pd
import streamlit as st

from cmcsl_core.datasets.sources.items import SkippedItem, skipped_summary

from .serving import public_text
from .text import md

__all__ = ["EncodingProgress", "skipped_frame", "skipped_csv", "skipped_rows_block", "SKIPPED_CSV"]

SKIPPED_CSV = "skipped.csv"
"""File name of the skipped rows' download."""


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, int(round(seconds)))} s"
    if seconds < 3600:
        return f"{int(round(seconds / 60))} min"
    return f"{seconds / 3600:.1f} h"


@dataclass
class EncodingProgress:
    """Turns ``progress(done, total)`` of an item source into a bar fraction and a line of text.

    ``clock`` is injectable for tests (``time.monotonic`` by default).
    """

    clock: Callable[[], float] = time.monotonic
    started: float | None = None
    first_done: int = 0
    _last: tuple[int, int] = field(default=(0, 0))

    def update(self, done: int, total: int) -> tuple[float, str]:
        """The bar's fraction and its text for ``done`` of ``total`` steps."""
        now = self.clock()
        if self.started is None:
            self.started, self.first_done = now, int(done)
        self._last = (int(done), int(total))
        n = max(int(total) // 2, 1)
        images, texts = min(int(done), n), min(max(int(done) - n, 0), n)
        text = f"Encoding {n:,} items: images {images:,}/{n:,}, texts {texts:,}/{n:,}"
        elapsed, moved = now - self.started, int(done) - self.first_done
        if moved > 0 and elapsed >= 1.0 and done < total:
            left = (int(total) - int(done)) * elapsed / moved
            if math.isfinite(left):
                text += f", about {_duration(left)} left"
        return (min(max(done / total, 0.0), 1.0) if total else 0.0), text


def skipped_frame(skipped: Sequence[SkippedItem]) -> pd.DataFrame:
    """The skipped rows as a table: ``id`` (the item's id, or ``row N``) and ``reason``."""
    return pd.DataFrame({"id": [s.id for s in skipped], "reason": [s.reason for s in skipped]})


def skipped_csv(skipped: Sequence[SkippedItem]) -> bytes:
    """The same CSV as the CLI's ``<out>.skipped.csv`` (columns ``id``, ``reason``)."""
    buf = io.StringIO()
    skipped_frame(skipped).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def skipped_rows_block(skipped: Sequence[SkippedItem], expanded: bool = False, key: str = "skipped") -> None:
    """A warning with the summary line, and (folded) the table of skipped rows with a CSV download.

    The ids are the table's (shown as text); served, the reasons name no server folder
    (:func:`~cmcsl_studio_ui.serving.public_text`: an undecodable image's path is relative to
    the data folder).
    """
    if not skipped:
        return
    skipped = [replace(s, reason=public_text(s.reason)) for s in skipped]
    summary = md(skipped_summary(skipped).capitalize() + ". They are not in the data the pages show.")
    st.warning(summary, icon=":material/rule:")
    with st.expander(f"The {len(skipped):,} skipped rows: which, and why", expanded=expanded, icon=":material/list:"):
        st.dataframe(
            skipped_frame(skipped), hide_index=True, key=f"{key}_table", height=min(38 + 35 * len(skipped), 320)
        )
        st.download_button(
            f"Download {SKIPPED_CSV}", skipped_csv(skipped), file_name=SKIPPED_CSV, mime="text/csv",
            on_click="ignore", icon=":material/download:", key=f"{key}_download",
        )
