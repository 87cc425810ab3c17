"""Data sources: everything that can produce a feature file.

========  =====================================================================
source    what it reads
========  =====================================================================
demo      nothing: a built-in, MM-IMDb-like synthetic dataset (deterministic)
hdf5      Arevalo's ready-made ``multimodal_imdb.hdf5`` (VGG + word2vec features)
w4k2      the paper authors' extracted features (``mmIMDb_<SUBSET>_*.npy``)
raw       the raw MM-IMDb archive (posters + json), encoded with ResNet-18 / MiniLM
========  =====================================================================

Every source returns a :class:`~cmcsl_core.datasets.features.FeatureSet` with the
modalities ``("visual", "text")``, labelled by a subset (see
:mod:`cmcsl_core.datasets.subsets`). Reader modules are imported lazily, so importing this
package is cheap and needs neither h5py nor torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional, Union

from cmcsl_core.errors import CMCSLError, SourceError
from cmcsl_core.datasets.features import FeatureSet, save_features
from cmcsl_core.datasets.subsets import Subset, resolve_subset

__all__ = ["SOURCES", "SOURCE_HELP", "load_source", "export_features"]

SOURCES: tuple[str, ...] = ("demo", "hdf5", "w4k2", "raw")
"""Names accepted by :func:`load_source`."""

SOURCE_HELP: dict[str, str] = {
    "demo": "built-in MM-IMDb-like synthetic data (no path needed)",
    "hdf5": "Arevalo's multimodal_imdb.hdf5 (--path: the .hdf5 file)",
    "w4k2": "the paper authors' mmIMDb_<SUBSET>_*.npy features (--path: their folder)",
    "raw": "the raw MM-IMDb archive, posters + json (--path: the archive or its folder)",
}
"""One line per source, for help texts and the app's data selector."""

Progress = Optional[Callable[[int, int], None]]
PathLike = Union[str, os.PathLike]


def load_source(
    source: str,
    subset: "str | Subset",
    path: PathLike | None = None,
    progress: Progress = None,
    **options: object,
) -> FeatureSet:
    """Load ``subset`` from a data source.

    Parameters
    ----------
    source : str
        One of :data:`SOURCES`.
    subset : str or Subset
        A paper subset name (``"HR"``) or a list of genres (``"Horror,Romance"``).
    path : path, optional
        The source's file or folder; required by every source except ``demo``.
    progress : callable(done, total), optional
        Called during long steps (reading rows of ``hdf5``, feature extraction of ``raw``).
    **options
        Passed to the ``raw`` source only (e.g. ``weights``, ``device``).

    Returns
    -------
    FeatureSet

    Raises
    ------
    CMCSLError
        Unknown source (the message lists the choices) or unknown subset.
    SourceError
        Missing path, or anything the source cannot read.
    """
    name = str(source).strip().lower()
    if name not in SOURCES:
        raise CMCSLError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    sub = resolve_subset(subset)
    if name == "demo":
        from cmcsl_core.datasets.sources.demo import make_demo

        return make_demo(sub)
    if path is None or str(path).strip() == "":
        raise SourceError(f"source {name} needs a path: {SOURCE_HELP[name]}")
    if name == "hdf5":
        from cmcsl_core.datasets.sources.hdf5 import load_hdf5

        return load_hdf5(path, sub, progress=progress)
    if name == "w4k2":
        from cmcsl_core.datasets.sources.w4k2 import load_w4k2

        return load_w4k2(path, sub)
    from cmcsl_core.datasets.sources.raw import load_raw

    return load_raw(path, sub, progress=progress, **options)  # type: ignore[arg-type]


def export_features(
    source: str,
    subset: "str | Subset",
    out: PathLike,
    path: PathLike | None = None,
    progress: Progress = None,
    **options: object,
) -> Path:
    """Load ``subset`` from ``source`` and write it as a feature file (atomically).

    Parameters are those of :func:`load_source`, plus ``out``, the ``.npz`` to write.

    Returns
    -------
    Path
        The written file.
    """
    fs = load_source(source, subset, path=path, progress=progress, **options)
    return save_features(fs, out)
