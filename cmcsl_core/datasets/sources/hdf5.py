"""Source ``hdf5``: Arevalo's ready-made ``multimodal_imdb.hdf5`` (MM-IMDb, 25,959 movies).

The file (from the GMU paper, Arevalo et al. 2017) holds, one row per movie:

``vgg_features`` (N x 4096)
    VGG-16 features of the poster: the **visual** modality.
``features`` (N x 300)
    Mean word2vec embedding of the plot: the **text** modality.
``genres`` (N x 23, 0/1)
    Genre indicators; its attribute ``target_names`` names the columns (a JSON
    string, or an array of (byte) strings).
``imdb_ids`` (N strings), ``images`` (N x 3 x 256 x 160, tens of GB), ...

Reading is lazy: only ``genres`` is read whole (N x 23, small); of the feature
datasets only the rows of the requested subset are read (h5py point selections on
increasing row indices, in blocks), and ``images`` is never touched. A subset of
~7,000 movies therefore reads ~7,000 x 4,096 floats instead of the full matrix.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.datasets.subsets import Subset, labels_from_indicator, resolve_subset
from cmcsl_core.errors import SourceError
from cmcsl_core.types import PathLike, ProgressFn

__all__ = ["load_hdf5", "read_target_names", "VISUAL_KEY", "TEXT_KEY", "GENRES_KEY", "IDS_KEY"]

VISUAL_KEY = "vgg_features"
TEXT_KEY = "features"
GENRES_KEY = "genres"
IDS_KEY = "imdb_ids"
BLOCK_ROWS = 2048
"""Rows per h5py point selection (bounds the size of one selection)."""


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def read_target_names(genres: "object", label: str) -> list[str]:
    """Return the genre names stored in ``genres.attrs['target_names']``.

    Accepts a JSON-encoded list (as Arevalo's script writes it), or an array of
    str/bytes.

    Raises
    ------
    SourceError
        If the attribute is missing or cannot be read as a list of names.
    """
    attrs = genres.attrs  # type: ignore[attr-defined]
    if "target_names" not in attrs:
        raise SourceError(
            f"{label}: the 'genres' dataset has no 'target_names' attribute, so its columns cannot be "
            "matched to genre names; this is not Arevalo's multimodal_imdb.hdf5"
        )
    raw = attrs["target_names"]
    if isinstance(raw, (bytes, str)) or (isinstance(raw, np.ndarray) and raw.ndim == 0):
        text = _text(raw.item() if isinstance(raw, np.ndarray) else raw)
        try:
            names = json.loads(text)
        except json.JSONDecodeError:
            names = [n for n in (p.strip() for p in text.replace(";", ",").split(",")) if n]
    else:
        names = list(np.asarray(raw).reshape(-1))
    if not isinstance(names, list) or not names:
        raise SourceError(f"{label}: 'target_names' of 'genres' is not a list of genre names")
    return [_text(n).strip() for n in names]


def _read_rows(ds: "object", rows: np.ndarray, progress: ProgressFn | None, done: int, total: int) -> np.ndarray:
    """Read only ``rows`` (increasing) of a 2-D h5py dataset, in blocks of :data:`BLOCK_ROWS`."""
    out = np.empty((rows.size, ds.shape[1]), dtype=np.float64)  # type: ignore[attr-defined]
    for start in range(0, rows.size, BLOCK_ROWS):
        block = rows[start : start + BLOCK_ROWS]
        if block[-1] - block[0] + 1 == block.size:  # contiguous: a plain slice is cheapest
            out[start : start + block.size] = ds[int(block[0]) : int(block[-1]) + 1]  # type: ignore[index]
        else:
            out[start : start + block.size] = ds[block]  # type: ignore[index]
        if progress is not None:
            progress(done + start + block.size, total)
    return out


def _dataset(f: "object", key: str, label: str, what: str) -> "object":
    import h5py

    obj = f.get(key)  # type: ignore[attr-defined]
    if obj is None or not isinstance(obj, h5py.Dataset):
        raise SourceError(f"{label} has no '{key}' dataset ({what}); this is not Arevalo's multimodal_imdb.hdf5")
    return obj


def load_hdf5(path: PathLike, subset: "str | Subset", progress: ProgressFn | None = None) -> FeatureSet:
    """Build a subset from Arevalo's ``multimodal_imdb.hdf5``.

    Parameters
    ----------
    path : path
        The ``.hdf5`` file.
    subset : str or Subset
        A paper subset (``"HR"``) or genres (``"Horror,Romance"``). A movie belongs to
        it when exactly one of the subset's genres is among its genres.
    progress : callable(done, total), optional
        Called after each block of rows read (both modalities together).

    Returns
    -------
    FeatureSet
        Modalities ``visual`` (VGG-16, 4096) and ``text`` (word2vec mean, 300), ids =
        IMDb ids, class names = the subset's genres. Rows keep the file's order.

    Raises
    ------
    SourceError
        Missing file, not an HDF5 file, no ``genres`` or ``target_names``, subset
        genres absent from the file (named), feature datasets missing or of the wrong
        shape, or no movie (or an empty class) in the subset.
    """
    sub = resolve_subset(subset)
    p = Path(path).expanduser()
    label = f"hdf5 file {p}"
    if not p.exists():
        raise SourceError(f"{label} does not exist; give the path of multimodal_imdb.hdf5")
    if p.is_dir():
        raise SourceError(f"{p} is a folder; the hdf5 source needs the multimodal_imdb.hdf5 file itself")
    import h5py

    if not h5py.is_hdf5(p):
        raise SourceError(f"{p} is not an HDF5 file; the hdf5 source reads Arevalo's multimodal_imdb.hdf5")
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise SourceError(f"{label} cannot be opened: {exc}") from None
    with f:
        genres = _dataset(f, GENRES_KEY, label, "the movies' genre indicators")
        names = read_target_names(genres, label)
        if len(genres.shape) != 2 or genres.shape[1] != len(names):  # type: ignore[attr-defined]
            shape = genres.shape  # type: ignore[attr-defined]
            raise SourceError(f"{label}: 'genres' has shape {shape} but 'target_names' names {len(names)} genres")
        column = {n.lower(): j for j, n in enumerate(names)}
        missing = [g for g in sub.genres if g.lower() not in column]
        if missing:
            raise SourceError(
                f"{label} has no genre {', '.join(missing)} (needed by subset {sub.name}); "
                f"its genres are {', '.join(names)}"
            )
        cols = [column[g.lower()] for g in sub.genres]
        indicator = np.asarray(genres[()])[:, cols]  # type: ignore[index]
        rows, y = labels_from_indicator(indicator)
        if rows.size == 0:
            raise SourceError(f"{label}: no movie has exactly one of the genres {', '.join(sub.genres)}")
        counts = np.bincount(y, minlength=sub.n_classes)
        if np.any(counts == 0):
            empty = [g for g, c in zip(sub.genres, counts) if c == 0]
            raise SourceError(f"{label}: no movie of subset {sub.name} has the genre {', '.join(empty)}")

        n = genres.shape[0]  # type: ignore[attr-defined]
        visual = _dataset(f, VISUAL_KEY, label, "VGG-16 poster features")
        text = _dataset(f, TEXT_KEY, label, "mean word2vec plot features")
        for key, ds in ((VISUAL_KEY, visual), (TEXT_KEY, text)):
            if len(ds.shape) != 2 or ds.shape[0] != n:  # type: ignore[attr-defined]
                shape = ds.shape  # type: ignore[attr-defined]
                raise SourceError(f"{label}: '{key}' has shape {shape}, expected ({n}, d) like 'genres'")
        total = 2 * rows.size
        Xv = _read_rows(visual, rows, progress, 0, total)
        Xt = _read_rows(text, rows, progress, rows.size, total)
        ids = None
        if IDS_KEY in f and isinstance(f[IDS_KEY], h5py.Dataset) and f[IDS_KEY].shape[:1] == (n,):
            all_ids = np.asarray(f[IDS_KEY][()]).reshape(n, -1)[:, 0]  # N short strings: cheap
            ids = tuple(_text(v) for v in all_ids[rows])

    finite = np.all(np.isfinite(Xv), axis=1) & np.all(np.isfinite(Xt), axis=1)
    note = ""
    if not np.all(finite):
        note = f"; {int((~finite).sum())} movie(s) with missing (NaN) features left out"
        Xv, Xt, y = Xv[finite], Xt[finite], y[finite]
        ids = None if ids is None else tuple(i for i, keep in zip(ids, finite) if keep)
    return FeatureSet(
        modality_names=("visual", "text"),
        X=(Xv, Xt),
        y=y,
        class_names=sub.genres,
        ids=ids,
        source=f"hdf5:{p.name}",
        description=(
            f"MM-IMDb subset {sub.name} ({', '.join(sub.genres)}) from Arevalo's {p.name}: "
            f"{y.size} of {n} movies; visual = VGG-16 poster features ({Xv.shape[1]}), "
            f"text = mean word2vec of the plot ({Xt.shape[1]}){note}"
        ),
    )
