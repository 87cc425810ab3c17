"""The result of a curve: per-fold balanced accuracies, their summaries and their CSV.

The rows are held as NumPy columns; the pandas :attr:`CurveResult.frame` is built on
first use, so the ``curve`` command (CSV + mean table) never imports pandas.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from cmcsl_core.evaluation.config import METHODS, CurveConfig
from cmcsl_core.fileio import write_atomically
from cmcsl_core.types import PathLike

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CurveResult", "COLUMNS", "sort_rows"]

COLUMNS: tuple[str, ...] = ("method", "modality", "b_class", "fold", "bac")
"""Columns of :attr:`CurveResult.frame` and of the CSV ``curve --out`` writes."""


class CurveResult:
    """Per-fold balanced accuracies in long format.

    Parameters
    ----------
    frame : DataFrame, optional
        Columns ``method, modality, b_class, fold, bac``; FULL, EF and LF rows are
        repeated for every ``b_class`` (they do not depend on it).
    config : CurveConfig, optional
        The settings that produced it (the defaults if omitted).
    rows : sequence of (method, modality, b_class, fold, bac) tuples, optional
        The rows instead of ``frame`` (in the order given); the frame is then built
        on first access.
    """

    __slots__ = ("_frame", "_rows", "config")

    def __init__(
        self,
        frame: "pd.DataFrame | None" = None,
        config: CurveConfig | None = None,
        rows: Sequence[tuple[str, str, int, int, float]] | None = None,
    ) -> None:
        if (frame is None) == (rows is None):
            raise ValueError("give exactly one of frame and rows")
        self._frame = frame
        self._rows = None if rows is None else list(rows)
        self.config = config if config is not None else CurveConfig()

    @property
    def frame(self) -> "pd.DataFrame":
        """The rows as a DataFrame with columns :data:`COLUMNS`."""
        if self._frame is None:
            import pandas as pd

            self._frame = pd.DataFrame(self._rows, columns=list(COLUMNS))
        return self._frame

    def __len__(self) -> int:
        return len(self._rows) if self._rows is not None else len(self.frame)

    def _records(self) -> list[tuple[str, str, int, int, float]]:
        if self._rows is not None:
            return self._rows
        f = self.frame
        return list(zip(f["method"], f["modality"], f["b_class"].tolist(), f["fold"].tolist(), f["bac"].tolist()))

    def summary(self) -> "pd.DataFrame":
        """Mean and standard deviation of BAC over folds per method, modality and b_class."""
        g = self.frame.groupby(["method", "modality", "b_class"], sort=False)["bac"]
        return g.agg(["mean", "std"]).reset_index()

    def overall(self) -> "pd.DataFrame":
        """Mean BAC over all b_class and folds: one row per modality, one column per method."""
        table = self.frame.groupby(["modality", "method"], sort=False)["bac"].mean().unstack("method")
        return table[[m for m in METHODS if m in table.columns]]

    def overall_text(self, decimals: int = 4) -> str:
        """:meth:`overall` as ``DataFrame.to_string`` prints it (``-`` where missing), without pandas."""
        records = self._records()
        modalities = list(dict.fromkeys(r[1] for r in records))
        present = set(r[0] for r in records)
        methods = [m for m in METHODS if m in present]
        values: dict[tuple[str, str], list[float]] = {}
        for method, modality, _, _, bac in records:
            values.setdefault((modality, method), []).append(bac)
        cells = [
            [f"{math.fsum(v) / len(v):.{decimals}f}" if (v := values.get((mod, m))) else "-" for m in methods]
            for mod in modalities
        ]
        head = max([len("method"), len("modality"), *(len(m) for m in modalities)])
        # pandas' layout: one space between columns, headers get one more leading space than values
        widths = [max([len(m) + 1, *(len(row[j]) for row in cells)]) for j, m in enumerate(methods)]
        lines = ["method".ljust(head) + "".join(" " + m.rjust(w) for m, w in zip(methods, widths))]
        lines.append("modality".ljust(head) + " " * sum(w + 1 for w in widths))
        for mod, row in zip(modalities, cells):
            lines.append(mod.ljust(head) + "".join(" " + c.rjust(w) for c, w in zip(row, widths)))
        return "\n".join(lines)

    def csv_bytes(self) -> bytes:
        """The long-format rows as CSV (what ``curve --out`` writes and the app offers)."""
        if self._rows is None:
            return self.frame.to_csv(index=False, float_format="%.6f").encode()
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator=os.linesep)
        writer.writerow(COLUMNS)
        writer.writerows(
            (m, mod, int(b), int(f), "" if math.isnan(v) else "%.6f" % v) for m, mod, b, f, v in self._rows
        )
        return buf.getvalue().encode()

    def to_csv(self, path: PathLike) -> Path:
        """Write the long-format rows to ``path`` atomically; returns the path."""
        path = Path(path)
        data = self.csv_bytes()
        write_atomically(path, lambda fh: fh.write(data))
        return path


def sort_rows(
    rows: Sequence[tuple[str, str, int, int, float]], modality_order: Sequence[str]
) -> list[tuple[str, str, int, int, float]]:
    """Rows sorted by method (:data:`METHODS` order), modality (``modality_order``), b_class and fold (stable)."""
    method_rank = {m: i for i, m in enumerate(METHODS)}
    modality_rank = {m: i for i, m in enumerate(modality_order)}
    keys = (
        np.array([r[3] for r in rows], dtype=np.int64),
        np.array([r[2] for r in rows], dtype=np.int64),
        np.array([modality_rank[r[1]] for r in rows], dtype=np.int64),
        np.array([method_rank[r[0]] for r in rows], dtype=np.int64),
    )
    order = np.lexsort(keys) if rows else np.array([], dtype=np.int64)
    return [rows[i] for i in order.tolist()]
