"""A small on-disk cache for expensive, deterministic results (features, UMAP, curves).

Entries are ``.npz`` files named by a SHA-256 of their key. The cache folder is
``$CMCSL_CACHE_DIR`` if set, else ``~/.cache/cmcsl-studio``. Writes are atomic, so
two processes computing the same entry at once never leave a broken file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from cmcsl_core.datasets.features import write_atomically
from cmcsl_core.errors import CMCSLError

__all__ = ["cache_dir", "cache_key", "cached_arrays", "array_digest", "cache_usage", "clear_cache"]

CACHE_ENV = "CMCSL_CACHE_DIR"
"""The environment variable naming the cache folder."""


def cache_dir() -> Path:
    """Return (and create) the cache folder."""
    root = os.environ.get(CACHE_ENV) or os.path.join(Path.home(), ".cache", "cmcsl-studio")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def array_digest(*arrays: np.ndarray) -> str:
    """A short SHA-256 digest of the bytes, shapes and dtypes of ``arrays``."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:24]


def cache_key(namespace: str, **parts: object) -> str:
    """A file-name-safe key for ``namespace`` and JSON-serialisable ``parts``."""
    blob = json.dumps(parts, sort_keys=True, default=str)
    return f"{namespace}-{hashlib.sha256(blob.encode()).hexdigest()[:24]}"


def cached_arrays(
    key: str, compute: Callable[[], Mapping[str, np.ndarray]], enabled: bool = True
) -> dict[str, np.ndarray]:
    """Return the arrays stored under ``key``, computing and storing them on a miss.

    ``compute`` returns a mapping of names to plain (non-object) arrays. A corrupt
    entry is recomputed. With ``enabled=False`` the cache is bypassed.
    """
    if not enabled:
        return dict(compute())
    path = cache_dir() / f"{key}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError):
            pass
    arrays = dict(compute())
    write_atomically(path, lambda fh: np.savez(fh, **arrays))  # type: ignore[arg-type]
    return arrays


def cache_usage() -> tuple[int, int]:
    """Number of files and their total size in bytes under :func:`cache_dir`."""
    files = [p for p in cache_dir().rglob("*") if p.is_file() and not p.is_symlink()]
    return len(files), sum(p.stat().st_size for p in files)


def clear_cache() -> tuple[int, int]:
    """Delete everything under :func:`cache_dir` (the folder itself stays).

    Returns
    -------
    (int, int)
        Files deleted and bytes freed.

    Raises
    ------
    CMCSLError
        If the cache folder is the home folder or the file system root (a mistaken
        ``$CMCSL_CACHE_DIR``): nothing is deleted then.
    """
    import shutil

    root = cache_dir().resolve()
    if root == Path.home().resolve() or root == Path(root.anchor):
        raise CMCSLError(f"refusing to empty {root}: set ${CACHE_ENV} to a folder of its own")
    files, size = cache_usage()
    for entry in root.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return files, size
