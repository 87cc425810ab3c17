"""Choosing logistic regression's regularisation ``C`` on a validation split.

The late-fusion paper kept each model at its lowest validation loss. Fitting LR at
``C = 1`` to convergence overfits 1,280-d image features (on MVSA-Single the fused model
then loses to the text model), so wherever a validation split exists the studio fits
one model per ``C`` of :data:`C_GRID` on the fitting part and keeps the ``C`` with the
lowest validation log-loss (ties: the smaller ``C``, the simpler model). All ``C`` values
of one modality are fitted together in one batch (:mod:`cmcsl_core.models.lr`).

Used by ``fusion`` (per modality and repeat; the chosen values are reported) and by
the DRA/MLA methods of ``curve`` (per fold, modality and target labels).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from cmcsl_core.errors import CMCSLError

__all__ = ["C_GRID", "check_c_grid", "log_loss", "best_c", "c_text"]

C_GRID: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
"""The ``C`` values tried (half decades from 1e-4 to 10)."""


def check_c_grid(grid: Sequence[float] | str) -> tuple[float, ...]:
    """Sorted, distinct, positive ``C`` values (a string: comma separated); CMCSLError otherwise."""
    if isinstance(grid, str):
        parts = [p for p in grid.replace(" ", ",").split(",") if p]
        try:
            grid = [float(p) for p in parts]
        except ValueError:
            raise CMCSLError(f"C values must be numbers separated by commas, got {grid!r}") from None
    values = tuple(sorted({float(c) for c in grid}))
    if not values or not all(np.isfinite(c) and c > 0 for c in values):
        raise CMCSLError(f"the C grid needs at least one positive value, got {grid!r}")
    return values


def log_loss(P: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-probability of the true classes (probabilities clipped at 1e-15)."""
    y = np.asarray(y, dtype=np.int64)
    if y.size == 0:
        raise CMCSLError("the validation split is empty")
    return float(-np.mean(np.log(np.clip(np.asarray(P)[np.arange(y.size), y], 1e-15, 1.0))))


def best_c(val_probas: Sequence[np.ndarray], y_val: np.ndarray, grid: Sequence[float]) -> tuple[int, np.ndarray]:
    """Position in ``grid`` of the lowest validation log-loss (first on ties) and every loss."""
    losses = np.array([log_loss(P, y_val) for P in val_probas])
    if losses.size != len(grid):
        raise CMCSLError("one validation probability matrix per C is needed")
    return int(np.argmin(losses)), losses


def c_text(c: float) -> str:
    """A C value as written in grids and tables (``0.0003``, ``1``, ``10``)."""
    return f"{c:g}"
