"""The result of a curve: per-fold balanced accuracies, their summaries and their CSV."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cmcsl_core.fileio import write_atomically
from cmcsl_core.evaluation.config import METHODS, CurveConfig
from cmcsl_core.types import PathLike

__all__ = ["CurveResult", "COLUMNS"]

COLUMNS: tuple[str, ...] = ("method", "modality", "b_class", "fold", "bac")
"""Columns of :attr:`CurveResult.frame` and of the CSV ``curve --out`` writes."""


@dataclass(frozen=True)
class CurveResult:
    """Per-fold balanced accuracies in long format.

    Attributes
    ----------
    frame : DataFrame
        Columns ``method, modality, b_class, fold, bac``; FULL, EF and LF rows are
        repeated for every ``b_class`` (they do not depend on it).
    config : CurveConfig
        The settings that produced it.
    """

    frame: pd.DataFrame
    config: CurveConfig = field(default_factory=CurveConfig)

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation of BAC over folds per method, modality and b_class."""
        g = self.frame.groupby(["method", "modality", "b_class"], sort=False)["bac"]
        return g.agg(["mean", "std"]).reset_index()

    def overall(self) -> pd.DataFrame:
        """Mean BAC over all b_class and folds: one row per modality, one column per method."""
        table = self.frame.groupby(["modality", "method"], sort=False)["bac"].mean().unstack("method")
        return table[[m for m in METHODS if m in table.columns]]

    def csv_bytes(self) -> bytes:
        """The long-format frame as CSV (what ``curve --out`` writes and the app offers)."""
        return self.frame.to_csv(index=False, float_format="%.6f").encode()

    def to_csv(self, path: PathLike) -> Path:
        """Write the long-format frame to ``path`` atomically; returns the path."""
        path = Path(path)
        data = self.csv_bytes()
        write_atomically(path, lambda fh: fh.write(data))
        return path
