"""Source ``w4k2``: the CMCSL paper authors' extracted MM-IMDb features.

The authors (w4k2 group) published, per paper subset, three arrays in one folder:

``mmIMDb_<SUBSET>_img_weighted_30.npy``
    N x 512 poster features from a ResNet-18 fine-tuned on the held-out 20%: **visual**.
``mmIMDb_<SUBSET>_txt.npy``
    N x 384 MiniLM sentence embeddings of the plot: **text**.
``mmIMDb_<SUBSET>_y.npy``
    N labels ``0 .. K-1`` in the subset's genre order (integers, integral floats or
    one-hot rows).

Only the 20 paper subsets exist in this layout. Arrays are loaded with
``allow_pickle=False``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.datasets.subsets import Subset, load_subsets, resolve_subset
from cmcsl_core.errors import SourceError
from cmcsl_core.types import PathLike

__all__ = ["load_w4k2", "w4k2_file_names"]

FILE_ALIASES = {"ACCDDHMRS": ("ACCDDHMRS", "ACCCDDHMRS")}
"""Table I prints ACCDDHMRS as ACCCDDHMRS; files may use either spelling."""


def w4k2_file_names(name: str) -> dict[str, str]:
    """The three file names of paper subset ``name``: keys ``visual``, ``text``, ``y``."""
    return {
        "visual": f"mmIMDb_{name}_img_weighted_30.npy",
        "text": f"mmIMDb_{name}_txt.npy",
        "y": f"mmIMDb_{name}_y.npy",
    }


def _load_npy(path: Path) -> np.ndarray:
    with open(path, "rb") as fh:
        head = fh.read(6)
    if head.startswith(b"PK"):
        raise SourceError(f"{path} is an .npz archive, expected a single .npy array")
    if not head.startswith(b"\x93NUMPY"):
        raise SourceError(f"{path} is not a .npy array (it does not start with the NumPy header)")
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise SourceError(f"{path} holds Python objects, which are never loaded (pickles are unsafe)") from None
        raise SourceError(f"{path} is a damaged .npy array ({exc})") from None
    except (OSError, EOFError) as exc:
        raise SourceError(f"{path} is not a readable .npy array ({exc})") from None
    return arr


def _labels(y: np.ndarray, sub: Subset, path: Path) -> np.ndarray:
    """Integer labels from 1-D ints / integral floats or 2-D one-hot rows, checked against K."""
    k = sub.n_classes
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2:
        if y.shape[1] != k:
            raise SourceError(f"{path}: one-hot labels have {y.shape[1]} columns but subset {sub.name} has {k} classes")
        if not np.all((y == 0) | (y == 1)) or not np.all(y.sum(axis=1) == 1):
            raise SourceError(f"{path}: 2-D labels must be one-hot (one 1 per row)")
        y = np.argmax(y, axis=1)
    elif y.ndim != 1:
        raise SourceError(f"{path}: labels must be 1-D (or one-hot 2-D), got shape {y.shape}")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating) or y.dtype == bool):
        raise SourceError(f"{path}: labels must be numbers, got dtype {y.dtype}")
    if y.size == 0:
        raise SourceError(f"{path} holds no labels")
    if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
        raise SourceError(f"{path}: labels must be whole numbers 0..{k - 1}")
    y = y.astype(np.int64)
    if y.min() < 0 or y.max() >= k:
        raise SourceError(
            f"{path}: labels run {int(y.min())}..{int(y.max())} but subset {sub.name} has {k} classes (0..{k - 1})"
        )
    present = np.unique(y).size
    if present != k:
        raise SourceError(f"{path}: labels cover {present} of the {k} classes of subset {sub.name}")
    return y


def load_w4k2(path: PathLike, subset: "str | Subset") -> FeatureSet:
    """Load the authors' features of a paper subset from their folder.

    Parameters
    ----------
    path : path
        The folder holding ``mmIMDb_<SUBSET>_*.npy``.
    subset : str or Subset
        One of the 20 paper subsets (custom genre lists are not available here).

    Returns
    -------
    FeatureSet
        Modalities ``visual`` (ResNet-18, 512) and ``text`` (MiniLM, 384).

    Raises
    ------
    SourceError
        Missing folder or file (named), custom subset, unreadable or pickled array,
        differing row counts, labels that do not fit the subset's classes.
    """
    sub = resolve_subset(subset)
    if not sub.is_paper:
        raise SourceError(
            f"the w4k2 features exist only for the paper's subsets ({', '.join(load_subsets())}); "
            f"for {sub.name} use the hdf5, raw or demo source"
        )
    folder = Path(path).expanduser()
    if not folder.exists():
        raise SourceError(f"folder {folder} does not exist; give the folder holding mmIMDb_{sub.name}_*.npy")
    if not folder.is_dir():
        raise SourceError(f"{folder} is a file; the w4k2 source needs the folder holding mmIMDb_{sub.name}_*.npy")
    names = w4k2_file_names(sub.name)
    for alias in FILE_ALIASES.get(sub.name, (sub.name,)):
        candidate = w4k2_file_names(alias)
        if all((folder / f).is_file() for f in candidate.values()):
            names = candidate
            break
    missing = [f for f in names.values() if not (folder / f).is_file()]
    if missing:
        raise SourceError(f"{folder} lacks {', '.join(missing)} (the w4k2 features of subset {sub.name})")

    arrays = {key: _load_npy(folder / f) for key, f in names.items()}
    for key in ("visual", "text"):
        x = arrays[key]
        if x.ndim != 2 or not np.issubdtype(x.dtype, np.number):
            raise SourceError(f"{folder / names[key]} must be a numeric N x d matrix, got {x.dtype} {x.shape}")
    y = _labels(arrays["y"], sub, folder / names["y"])
    shapes = {names[k]: arrays[k].shape[0] for k in ("visual", "text")} | {names["y"]: y.size}
    if len(set(shapes.values())) != 1:
        detail = ", ".join(f"{f} {n}" for f, n in shapes.items())
        raise SourceError(f"the w4k2 files of subset {sub.name} have different numbers of rows: {detail}")
    Xv, Xt = arrays["visual"], arrays["text"]
    for key, x in (("visual", Xv), ("text", Xt)):
        if not np.all(np.isfinite(x)):
            raise SourceError(f"{folder / names[key]} contains NaN or inf values")
    return FeatureSet(
        modality_names=("visual", "text"),
        X=(Xv, Xt),
        y=y,
        class_names=sub.genres,
        source=f"w4k2:{sub.name}",
        description=(
            f"MM-IMDb subset {sub.name} ({', '.join(sub.genres)}), the CMCSL authors' features: "
            f"{y.size} movies; visual = fine-tuned ResNet-18 poster features ({Xv.shape[1]}), "
            f"text = MiniLM plot embeddings ({Xt.shape[1]})"
        ),
    )
