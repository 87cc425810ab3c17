"""Skip reports: which rows a source left out and why (one summary line, and ``<out>.skipped.csv``)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Sequence

from cmcsl_core.datasets.sources.rows import SkippedItem
from cmcsl_core.fileio import write_atomically
from cmcsl_core.types import PathLike

__all__ = ["skipped_summary", "skipped_csv_path", "write_skipped_csv", "report_skipped"]


def skipped_summary(skipped: Sequence[SkippedItem], first: int = 3) -> str:
    """One line: how many rows were skipped, why, and the first few ids ('' when none).

    Example: ``skipped 3 rows: 2 missing image, 1 missing label (first: 7, 12, 40)``.
    """
    if not skipped:
        return ""
    counts: dict[str, int] = {}
    for s in skipped:
        kind = s.reason.split(" (", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    why = ", ".join(f"{c} {k}" for k, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    ids = ", ".join(s.id for s in skipped[:first]) + (", ..." if len(skipped) > first else "")
    noun = "row" if len(skipped) == 1 else "rows"
    return f"skipped {len(skipped)} {noun}: {why} (first: {ids})"


def skipped_csv_path(out: PathLike) -> Path:
    """Where the list of skipped rows of the output ``out`` goes: ``<out stem>.skipped.csv`` beside it."""
    out = Path(out)
    return out.with_name(out.stem + ".skipped.csv")


def write_skipped_csv(skipped: Sequence[SkippedItem], path: PathLike) -> Path:
    """Write the skipped rows (columns ``id``, ``reason``) atomically; returns the path."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "reason"])
    for s in skipped:
        writer.writerow([s.id, s.reason])
    data = buf.getvalue().encode("utf-8")
    write_atomically(path, lambda fh: fh.write(data))
    return Path(path)


def report_skipped(skipped: Sequence[SkippedItem], out: PathLike) -> str:
    """Write the skipped rows of the output ``out`` to ``<out stem>.skipped.csv`` and return the summary line.

    With nothing skipped, a stale list from an earlier export of ``out`` is removed and ``''`` returned.
    """
    path = skipped_csv_path(out)
    if not skipped:
        path.unlink(missing_ok=True)
        return ""
    write_skipped_csv(skipped, path)
    return f"{skipped_summary(skipped)}; all listed in {path}"
