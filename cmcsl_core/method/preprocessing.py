"""Per-modality feature preprocessing, fitted on training rows only.

Five options, as in the paper's preprocessing study:

``raw``     features as they are;
``l2``      each row scaled to unit Euclidean norm (zero rows stay zero);
``std``     each column standardised to zero mean and unit variance;
``minmax``  each column scaled to ``[0, 1]``;
``l2std``   ``l2`` followed by ``std`` (the paper's best).

Column statistics (``std``, ``minmax``, ``l2std``) are learned from the training rows
and applied unchanged to every other row. (The authors' code re-fitted its scalers
on the test fold; we do not.) Results match scikit-learn's ``Normalizer``,
``StandardScaler`` and ``MinMaxScaler`` exactly, constant columns included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from cmcsl_core.errors import CMCSLError

__all__ = [
    "PREPROCESSINGS",
    "PREPROCESSING_LABELS",
    "Preprocessor",
    "check_preprocessing",
    "fit_preprocessor",
    "preprocess",
    "preprocess_features",
    "l2_normalize",
]

PREPROCESSINGS: tuple[str, ...] = ("raw", "l2", "std", "minmax", "l2std")
"""Names of the preprocessing options, in the paper's order of presentation."""

PREPROCESSING_LABELS: dict[str, str] = {
    "raw": "RAW",
    "l2": "L2",
    "std": "STD",
    "minmax": "MinMax",
    "l2std": "L2+STD",
}
"""Display names used by the app and in tables."""


def check_preprocessing(name: str) -> str:
    """Return the canonical name (one of :data:`PREPROCESSINGS`), or raise CMCSLError.

    Case, spaces and the punctuation of the display names (``"L2+STD"``) are ignored;
    front-end aliases (the CLI's ``mm``) are not accepted here.
    """
    key = str(name).strip().lower().replace("+", "").replace("-", "").replace("_", "")
    if key not in PREPROCESSINGS:
        raise CMCSLError(f"unknown preprocessing {name!r}; choose one of {', '.join(PREPROCESSINGS)}")
    return key


def l2_normalize(X: np.ndarray, copy: bool = True) -> np.ndarray:
    """Scale every row of ``X`` to unit Euclidean norm; all-zero rows are left at zero.

    With ``copy=False`` a float64 ``X`` is scaled in place (same values as a copy).
    """
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    norms[norms == 0.0] = 1.0
    if copy or X.dtype != np.float64:
        return X / norms[:, None]
    X /= norms[:, None]
    return X


def split_preprocessing(name: str) -> tuple[bool, str]:
    """A preprocessing as (rows L2-normalised first?, the column step fitted afterwards).

    L2 normalisation looks at one row at a time, so it needs no fitting: a fold can
    normalise its own rows and then fit only the column step on its training rows.

    >>> split_preprocessing("l2std"), split_preprocessing("minmax")
    ((True, 'std'), (False, 'minmax'))
    """
    name = check_preprocessing(name)
    if name in ("l2", "l2std"):
        return True, {"l2": "raw", "l2std": "std"}[name]
    return False, name


def _is_constant(var: np.ndarray, mean: np.ndarray, n: int) -> np.ndarray:
    """Columns whose variance is zero up to rounding (scikit-learn's rule)."""
    eps = np.finfo(np.float64).eps
    return var <= n * eps * var + (n * mean * eps) ** 2


def _handle_zeros(scale: np.ndarray, eps_scale: np.ndarray | None = None) -> np.ndarray:
    """Replace (near-)zero scales by 1, as scikit-learn does for constant columns."""
    scale = scale.copy()
    if eps_scale is None:
        zero = scale == 0.0
    else:
        zero = scale < 10 * np.finfo(scale.dtype).eps * eps_scale
    scale[zero] = 1.0
    return scale


@dataclass(frozen=True)
class Preprocessor:
    """A fitted preprocessing: ``transform(X) = (row_l2(X) if l2 else X) * scale + offset``.

    Attributes
    ----------
    name : str
        One of :data:`PREPROCESSINGS`.
    scale, offset : ndarray of shape (d,) or None
        Column affine map learned on the training rows (None for ``raw``/``l2``).
    """

    name: str
    scale: np.ndarray | None = None
    offset: np.ndarray | None = None

    @property
    def row_normalize(self) -> bool:
        """Whether rows are L2-normalised before the column map."""
        return self.name in ("l2", "l2std")

    def transform(self, X: np.ndarray, copy: bool = True) -> np.ndarray:
        """Apply the fitted preprocessing to ``X`` (any rows).

        With ``copy=False`` a float64 ``X`` may be overwritten by the result (as
        scikit-learn's scalers do), which saves a copy of a large array.
        """
        X = np.asarray(X, dtype=np.float64)
        if self.row_normalize:
            X = l2_normalize(X)
        elif copy:
            X = X.copy()
        if self.scale is not None:
            X *= self.scale
            X += self.offset
        return X


def fit_preprocessor(X: np.ndarray, name: str) -> Preprocessor:
    """Learn preprocessing ``name`` from the (training) rows ``X``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        The rows to fit on: training rows only.
    name : str
        One of :data:`PREPROCESSINGS`.
    """
    name = check_preprocessing(name)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise CMCSLError(f"cannot fit preprocessing on an array of shape {X.shape}")
    if name in ("raw", "l2"):
        return Preprocessor(name)
    if name == "l2std":
        X = l2_normalize(X)
    if name in ("std", "l2std"):
        mean = X.mean(axis=0)
        var = X.var(axis=0)
        std = np.where(_is_constant(var, mean, X.shape[0]), 1.0, np.sqrt(var))
        std = _handle_zeros(std)
        return Preprocessor(name, scale=1.0 / std, offset=-mean / std)
    lo = X.min(axis=0)
    rng = _handle_zeros(X.max(axis=0) - lo)
    return Preprocessor(name, scale=1.0 / rng, offset=-lo / rng)


def preprocess(X: np.ndarray, name: str, train_rows: np.ndarray | None = None) -> np.ndarray:
    """Fit ``name`` on ``X[train_rows]`` (all rows if None) and transform every row of ``X``."""
    X = np.asarray(X, dtype=np.float64)
    fitted = fit_preprocessor(X if train_rows is None else X[train_rows], name)
    return fitted.transform(X)


def preprocess_features(X_list: Sequence[np.ndarray], name: str) -> tuple[np.ndarray, ...]:
    """Preprocess every modality of ``X_list`` (fitted on all rows), as labeling in the app does."""
    return tuple(preprocess(X, name) for X in X_list)
