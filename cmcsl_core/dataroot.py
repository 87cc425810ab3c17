"""A served data folder: what a visitor may open, and one answer for everything else.

When the app is served to a class, ``$CMCSL_DATA_ROOT`` names the one folder whose data
visitors may open. :func:`offered` lists the entries under it that a source can read
(feature files, tables, hdf5 files, MVSA-Single and MM-IMDb folders), and
:func:`confine` turns a path a visitor sent (a sidebar choice, a deep link, encoder
weights) into the real file under the folder, or refuses it with :data:`REFUSAL`: the
same words whether the path exists outside the folder, is missing, escapes it through
``..`` or a link, or is an entry of the wrong kind, so that a visitor learns nothing about
the server's other files. Paths are checked as written first (nothing outside the folder is
ever looked at), then with links resolved.

Pure: standard library and the foundation only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from cmcsl_core.errors import CMCSLError

__all__ = [
    "DATA_ROOT_ENV",
    "OutsideDataRootError",
    "REFUSAL",
    "PATH_KINDS",
    "data_root",
    "confine",
    "offered",
    "MAX_DEPTH",
    "MAX_ENTRIES",
]

DATA_ROOT_ENV = "CMCSL_DATA_ROOT"
"""Environment variable: the folder a served app offers its data from (unset: not served)."""

REFUSAL = "is not one of the data sets this server offers; choose one in the sidebar"
"""The one answer to any path that is not an offered entry (after the path as the visitor wrote it)."""

MAX_DEPTH = 4
"""Folder levels below the data folder that are searched for data."""

MAX_ENTRIES = 5000
"""Folder entries looked at, at most, when listing the data folder (a huge tree is cut short)."""


class OutsideDataRootError(CMCSLError):
    """A path that is not one of the served data folder's entries."""


def _suffix(*suffixes: str) -> Callable[[Path], bool]:
    def match(p: Path) -> bool:
        return p.is_file() and p.name.lower().endswith(suffixes)

    return match


def _w4k2(p: Path) -> bool:
    return p.is_dir() and any(True for _ in p.glob("mmIMDb_*_txt.npy"))


def _mvsa(p: Path) -> bool:
    return p.is_dir() and (p / "labelResultAll.txt").is_file()


def _raw(p: Path) -> bool:
    if p.is_file():
        return p.name.lower().endswith((".tar.gz", ".tgz", ".tar"))
    return p.is_dir() and ((p / "dataset").is_dir() or (p / "mmimdb" / "dataset").is_dir())


PATH_KINDS: dict[str, Callable[[Path], bool]] = {
    "file": _suffix(".npz"),
    "table": _suffix(".csv", ".tsv", ".jsonl"),
    "hdf5": _suffix(".hdf5", ".h5"),
    "w4k2": _w4k2,
    "mvsa": _mvsa,
    "raw": _raw,
    "weights": _suffix(".pth", ".pt", ".onnx"),
}
"""Per source that reads a path: which entries it can read (``file``: a feature file; ``weights``: an
image encoder's weights file)."""


def data_root(value: str | None = None) -> Path | None:
    """The served data folder (``value``, else ``$CMCSL_DATA_ROOT``), resolved; None when not set.

    Raises
    ------
    CMCSLError
        If it is set but is not a folder.
    """
    text = os.environ.get(DATA_ROOT_ENV, "") if value is None else value
    if not text.strip():
        return None
    root = Path(text.strip()).expanduser().resolve()
    if not root.is_dir():
        raise CMCSLError(f"${DATA_ROOT_ENV} must name a folder; {text!r} is not one")
    return root


def _inside(path: str | os.PathLike[str], root: Path) -> bool:
    return os.path.commonpath([os.fspath(path), os.fspath(root)]) == os.fspath(root)


def confine(text: str, root: Path, kind: str | None = None) -> Path:
    """The real path of the offered entry ``text`` (relative to ``root``, or absolute).

    Parameters
    ----------
    text : str
        What the visitor sent.
    root : Path
        The data folder (resolved, as :func:`data_root` returns it).
    kind : str, optional
        A key of :data:`PATH_KINDS`: the entry must be of that kind.

    Raises
    ------
    OutsideDataRootError
        With the same message (:data:`REFUSAL`) for every path that is not such an entry.
    """
    refused = OutsideDataRootError(f"{str(text)!r} {REFUSAL}")
    raw = str(text).strip()
    if not raw or "\x00" in raw:
        raise refused
    written = Path(raw)
    lexical = os.path.normpath(written if written.is_absolute() else root / written)
    if not _inside(lexical, root):  # outside as written: never looked at
        raise refused
    try:
        real = Path(lexical).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        raise refused from None
    if not _inside(real, root) or any(part.startswith(".") for part in real.relative_to(root).parts):
        raise refused
    if kind is not None and not PATH_KINDS[kind](real):
        raise refused
    return real


def offered(root: Path, kind: str) -> list[str]:
    """The entries under ``root`` of ``kind`` (:data:`PATH_KINDS`), as paths relative to ``root``, sorted.

    Hidden entries (``.name``) are skipped, links are not followed out of the folder, the
    search goes :data:`MAX_DEPTH` levels deep and looks at :data:`MAX_ENTRIES` entries at most.
    """
    match = PATH_KINDS[kind]
    found: list[str] = []
    seen = 0
    queue: list[tuple[Path, int]] = [(root, 0)]
    while queue and seen < MAX_ENTRIES:
        folder, depth = queue.pop(0)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > MAX_ENTRIES:
                break
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                real = path.resolve(strict=True)
            except (OSError, RuntimeError):
                continue
            if not _inside(real, root):
                continue
            if match(real):
                found.append(path.relative_to(root).as_posix())
            if real.is_dir() and not entry.is_symlink() and depth + 1 < MAX_DEPTH:
                queue.append((path, depth + 1))
    return sorted(found)
