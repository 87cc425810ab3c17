"""Look at an ``.npz`` archive before loading it: what its arrays declare, against a memory budget.

A feature file comes from strangers (an upload, a served data folder). NumPy allocates an
array as its ``.npy`` header declares before reading a byte of it, so a 2 MB archive whose
header declares 10^12 rows asks for terabytes, and a small deflated member can inflate to
gigabytes. :func:`check_archive` reads only the zip directory and every member's header:

* a member whose header declares more bytes than the member holds is damaged (refused);
* a member of Python objects (``dtype=object``) is refused (pickles are never loaded);
* the memory the load would take (the arrays as declared, plus the float64 copies the
  feature matrices are turned into) must fit the budget: by default
  :func:`memory_budget`, half of the machine's memory.

Nothing is allocated beyond the headers; a broken zip directory or header is one clear
:class:`~cmcsl_core.errors.FeatureFileError`.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from dataclasses import dataclass
from math import prod
from typing import IO

import numpy as np

from cmcsl_core.errors import FeatureFileError
from cmcsl_core.fileio import read_npy_header
from cmcsl_core.types import PathLike

__all__ = [
    "MEMORY_BUDGET_ENV",
    "memory_budget",
    "physical_memory",
    "ArrayHeader",
    "check_archive",
    "DAMAGED",
    "size_text",
]

MEMORY_BUDGET_ENV = "CMCSL_MEMORY_BUDGET_MB"
"""Environment variable: the most memory (MB) one feature file may take to load (default: half the machine's)."""

DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError)
"""What reading a damaged archive member raises (a bad CRC, a broken deflate stream, a cut file)."""


def physical_memory() -> int:
    """The machine's memory in bytes (8 GiB when the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def memory_budget() -> int:
    """Bytes one feature file may take to load: ``$CMCSL_MEMORY_BUDGET_MB``, else half of :func:`physical_memory`."""
    text = os.environ.get(MEMORY_BUDGET_ENV, "").strip()
    if text:
        try:
            mb = float(text)
        except ValueError:
            mb = -1.0
        if mb > 0:
            return int(mb * (1 << 20))
    return physical_memory() // 2


def size_text(n: int) -> str:
    """``1.5 GB``, ``12 MB``, ``800 bytes``."""
    for unit, scale in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"


@dataclass(frozen=True)
class ArrayHeader:
    """What one ``.npy`` member of the archive declares."""

    key: str
    shape: tuple[int, ...]
    dtype: np.dtype
    nbytes: int
    """Bytes the array takes as declared."""
    stored: int
    """Bytes of data the member holds after its header."""


def _read_header(fh: IO[bytes], key: str, label: str) -> tuple[tuple[int, ...], np.dtype]:
    shape, _, dtype = read_npy_header(fh, key, label)
    return shape, dtype


def _headers(zf: zipfile.ZipFile, label: str) -> list[ArrayHeader]:
    out = []
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            continue
        key = info.filename[: -len(".npy")]
        with zf.open(info) as fh:
            shape, dtype = _read_header(fh, key, label)
            header = fh.tell()
        if any(s < 0 for s in shape):
            raise FeatureFileError(f"{label}: the array '{key}' declares a negative size {shape}")
        if dtype.hasobject:
            raise FeatureFileError(
                f"{label} holds object arrays, which are never loaded (pickles are unsafe): the array '{key}' has "
                "dtype object; store numbers, and text as fixed-width strings"
            )
        out.append(ArrayHeader(key, shape, dtype, prod(shape) * dtype.itemsize, info.file_size - header))
    return out


def check_archive(path_or_file: PathLike | IO[bytes], label: str, budget: int | None = None) -> list[ArrayHeader]:
    """Check the headers of an ``.npz`` archive before anything is allocated; return them.

    Parameters
    ----------
    path_or_file : path or binary file object
        The archive (a file object is read from its current position and put back there).
    label : str
        How messages name it (``"the uploaded file"``, a path).
    budget : int, optional
        Bytes the load may take; default :func:`memory_budget`.

    Raises
    ------
    FeatureFileError
        A damaged zip directory or ``.npy`` header, a member that declares more data than
        it holds, an object array, or more memory than the budget.
    """
    budget = memory_budget() if budget is None else int(budget)
    pos = None if isinstance(path_or_file, (str, os.PathLike)) else path_or_file.tell()
    try:
        with zipfile.ZipFile(path_or_file) as zf:  # type: ignore[arg-type]
            headers = _headers(zf, label)
    except DAMAGED as exc:
        raise FeatureFileError(f"{label} is not a readable .npz feature file: a damaged archive ({exc})") from None
    finally:
        if pos is not None:
            path_or_file.seek(pos)  # type: ignore[union-attr]
    for h in headers:
        if h.nbytes > h.stored:
            raise FeatureFileError(
                f"{label} is damaged: the array '{h.key}' declares shape {h.shape} of {h.dtype} "
                f"({size_text(h.nbytes)}) but holds {size_text(max(h.stored, 0))}"
            )
    # the arrays as declared, plus the float64 copy every numeric matrix becomes
    need = sum(h.nbytes for h in headers)
    need += sum(
        prod(h.shape) * 8 for h in headers if len(h.shape) == 2 and h.dtype.kind in "biuf" and h.dtype != np.float64
    )
    if need > budget:
        raise FeatureFileError(
            f"{label} would take {size_text(need)} of memory to load, more than the {size_text(budget)} allowed "
            f"here (${MEMORY_BUDGET_ENV}, default half of this machine's memory)"
        )
    return headers
