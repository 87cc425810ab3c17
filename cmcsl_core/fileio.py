"""Pure file helpers: atomic writes, content digests, ``.npz`` members read safely from several threads
(imports nothing from cmcsl_core but the foundation: ``types``, ``errors``).

Every file cmcsl-studio writes goes through :func:`write_atomically` (temporary file in the
same folder, then rename), so an interrupted write never leaves a half-written file and
never destroys the file it replaces. :func:`file_digest` / :func:`file_digests` name a
file by its content (SHA-256), which is what the on-disk caches key on.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from math import prod
from pathlib import Path
from typing import IO, Callable, Sequence, cast

import numpy as np

from cmcsl_core.errors import FeatureFileError
from cmcsl_core.types import PathLike

__all__ = [
    "write_atomically",
    "new_file_mode",
    "file_digest",
    "file_digests",
    "distinct_contents",
    "stat_digest",
    "io_threads",
    "HEADER_LOCK",
    "read_npy_header",
    "read_member",
]


def _umask() -> int:
    """The process umask, read without changing it where the system allows (``/proc``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)  # no /proc: the classic read-by-setting (briefly process-wide)
    os.umask(umask)
    return umask


def new_file_mode() -> int:
    """The mode a newly created file gets: ``0o666`` less the umask (``-rw-r--r--`` for umask 022)."""
    return 0o666 & ~_umask()


def _file_mode(path: Path) -> int:
    """The mode a written file gets: an existing file's, else :func:`new_file_mode`."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return new_file_mode()


def write_atomically(path: PathLike, write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(fh)`` on a temporary file next to ``path``, then rename it to ``path``.

    The folder is created if needed. The file gets the mode of the file it replaces, or
    the one the user's umask allows for a new file (``0o666 & ~umask``, e.g.
    ``-rw-r--r--``), never the temporary file's private ``-rw-------``. On any error
    (or interruption) the temporary file is removed and ``path`` is left as it was; an
    ``OSError`` that names no file (a full disk) is raised naming ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fchmod(fh.fileno(), _file_mode(path))
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
            raise type(exc)(exc.errno, exc.strerror, str(path)) from exc
        raise


def file_digest(path: PathLike) -> str | None:
    """SHA-256 (hex) of a file's bytes, or None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def io_threads() -> int:
    """Threads used to read and decode files (one per CPU, at most 8)."""
    return max(1, min(8, os.cpu_count() or 1))


def file_digests(paths: Sequence[PathLike]) -> list[str | None]:
    """:func:`file_digest` of every path, read in parallel."""
    if not paths:
        return []
    with ThreadPoolExecutor(max_workers=io_threads()) as pool:
        return list(pool.map(file_digest, paths))


def distinct_contents(paths: Sequence[str]) -> tuple[list[str | None], dict[str, str]]:
    """The digest of every path (None: unreadable) and, per distinct content, the first path holding it."""
    digests = file_digests(paths)
    first: dict[str, str] = {}
    for path, digest in zip(paths, digests):
        if digest is not None:
            first.setdefault(digest, path)
    return digests, first


@lru_cache(maxsize=256)
def _digest_of_version(path: str, size: int, mtime_ns: int) -> str | None:
    return file_digest(path)


def stat_digest(path: PathLike) -> str | None:
    """:func:`file_digest`, remembered per (path, size, modification time): for files hashed often (weights)."""
    name = os.fspath(path)
    try:
        st = os.stat(name)
    except OSError:
        return None
    return _digest_of_version(name, st.st_size, st.st_mtime_ns)


HEADER_LOCK = threading.Lock()
"""Held while an ``.npy`` header is parsed, by every reader of this package (any thread).

NumPy parses a header with :func:`ast.literal_eval`, and CPython 3.11 (seen with 3.11.7;
gh-106905) keeps the AST converter's recursion counter in per-interpreter state, shared by
threads: two threads parsing at once may fail with ``SystemError: AST constructor
recursion depth mismatch`` (reproduced here: loading one feature file 35,000 times with
garbage collections running finalizers failed 8 times without this lock, none with it).
Headers are a few dozen bytes, so serialising them costs nothing; the arrays' data are
still read in parallel (:func:`cmcsl_core.datasets.features.load_features`, the caches)."""


def read_npy_header(fh: IO[bytes], key: str, label: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Parse the ``.npy`` header at ``fh``'s position (under :data:`HEADER_LOCK`): shape, Fortran order, dtype.

    Raises
    ------
    FeatureFileError
        An unreadable header.
    """
    fmt = np.lib.format
    try:
        with HEADER_LOCK:
            version = fmt.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(fh)
            elif version in ((2, 0), (3, 0)):  # 3.0 is 2.0 with a utf-8 header (latin-1 in 2.0; alike for ASCII)
                shape, fortran, dtype = fmt.read_array_header_2_0(fh)
            else:
                raise ValueError(f"format version {version[0]}.{version[1]} is not one NumPy writes")
    except ValueError as exc:
        raise FeatureFileError(f"{label}: the array '{key}' has an unreadable header ({exc})") from None
    return tuple(int(s) for s in shape), bool(fortran), np.dtype(dtype)


def read_member(zf: zipfile.ZipFile | None, key: str, label: str) -> np.ndarray:
    """The array ``key`` of an ``.npz`` archive, as ``np.load(...)[key]`` gives it, safe in several threads at once.

    The header is parsed under :data:`HEADER_LOCK`; the data (inflating, most of the time)
    are read straight into the new array without it. Object arrays are refused (ValueError,
    as NumPy's ``allow_pickle=False``); a member holding fewer bytes than its header
    declares raises EOFError, a bad CRC :class:`zipfile.BadZipFile` (both in :data:`DAMAGED`).
    """
    if zf is None:
        raise FeatureFileError(f"{label} is closed")
    with zf.open(f"{key}.npy") as member:
        fh = cast(io.BufferedIOBase, member)
        shape, fortran, dtype = read_npy_header(member, key, label)
        if dtype.hasobject:
            raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
        out = np.empty(prod(shape), dtype=dtype)
        if out.nbytes:
            view = out.view(np.uint8).data
            got = 0
            while got < out.nbytes:
                n = fh.readinto(view[got:])
                if not n:
                    raise EOFError(f"the array '{key}' holds fewer bytes than its header declares")
                got += n
        fh.read(1)  # to the member's end: zipfile checks its CRC there
    return out.reshape(shape[::-1]).transpose() if fortran else out.reshape(shape)
