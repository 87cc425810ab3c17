"""A small on-disk cache for expensive, deterministic results (features, UMAP, curves).

Two kinds of entries live in the cache folder (``$CMCSL_CACHE_DIR`` if set, else
``~/.cache/cmcsl-studio``):

* :func:`cached_arrays`: one ``.npz`` file per result, named by a SHA-256 of its key
  (a UMAP view, a curve, fine-tuned weights).
* :func:`cached_rows`: per-item rows (an image's or a text's features), keyed by an
  identity (encoder + options) and each item's own content key. The rows of one identity
  live in a folder of append-only ``.npz`` shards (``keys`` plus one array per field);
  a call computes only the keys no shard holds and appends them as one new shard, and
  past :data:`MAX_SHARDS` shards they are merged into one. So encoding the same items
  again is instant, and adding one item to a collection computes that item only.

Writes are atomic, so two processes computing the same entry at once never leave a
broken file; a shard that vanishes or cannot be read (a concurrent merge, a crash) only
means its rows are computed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from cmcsl_core.errors import CMCSLError
from cmcsl_core.fileio import read_member, write_atomically

__all__ = [
    "cache_dir",
    "cache_key",
    "cached_arrays",
    "cached_rows",
    "array_digest",
    "cache_usage",
    "clear_cache",
    "MAX_SHARDS",
]

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
            with np.load(path, allow_pickle=False) as z:  # headers parsed under a lock: read from several threads
                return {k: read_member(z.zip, k, path.name) for k in z.files}
        except (OSError, ValueError, EOFError):
            pass
    arrays = dict(compute())
    write_atomically(path, lambda fh: np.savez(fh, **arrays))  # type: ignore[arg-type]
    return arrays


MAX_SHARDS = 8
"""Shards of one :func:`cached_rows` identity beyond which they are merged into one."""

_KEYS = "keys"
RowsCompute = Callable[[list[str]], Mapping[str, np.ndarray]]


def _rows_folder(namespace: str, identity: str) -> Path:
    return cache_dir() / "rows" / f"{namespace}-{hashlib.sha256(identity.encode()).hexdigest()[:24]}"


def _shards(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.suffix == ".npz" and not p.name.startswith("."))
    except OSError:
        return []


def _read_shard(path: Path, need: set[str] | None = None) -> dict[str, np.ndarray] | None:
    """The rows of a shard whose key is in ``need`` (all rows: None), or None when it vanished or is broken.

    A shard holding none of ``need`` gives an empty mapping; only its keys are read then.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            if _KEYS not in z.files:
                return None
            keys = read_member(z.zip, _KEYS, path.name)
            rows = np.arange(keys.shape[0]) if need is None else np.flatnonzero([k in need for k in keys.tolist()])
            if rows.size == 0:
                return {}
            arrays = {name: read_member(z.zip, name, path.name) for name in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    if any(a.shape[:1] != keys.shape[:1] for a in arrays.values()):
        return None
    return {name: a[rows] for name, a in arrays.items()}


def _write_shard(folder: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write one shard, named by its keys (the same rows written twice are one file); returns its path."""
    name = hashlib.sha256("\n".join(map(str, arrays[_KEYS])).encode()).hexdigest()[:32]
    path = folder / f"shard-{name}.npz"
    write_atomically(path, lambda fh: np.savez(fh, **arrays))  # type: ignore[arg-type]
    return path


def _merge_shards(folder: Path) -> None:
    """Merge every shard of ``folder`` into one (first copy of a key wins), then delete the old ones."""
    paths = _shards(folder)
    parts = [a for a in map(_read_shard, paths) if a]
    if not parts:
        return
    parts = [a for a in parts if set(a) == set(parts[-1])]
    try:
        merged = {name: np.concatenate([a[name] for a in parts]) for name in parts[-1]}
    except ValueError:  # rows of another width under the same identity: keep the newest only
        merged = parts[-1]
    _, first = np.unique(merged[_KEYS], return_index=True)
    first.sort()
    kept = _write_shard(folder, {name: a[first] for name, a in merged.items()})
    for p in paths:
        if p != kept:
            p.unlink(missing_ok=True)


def cached_rows(
    namespace: str, identity: str, keys: Sequence[str], compute: RowsCompute, enabled: bool = True
) -> dict[str, np.ndarray]:
    """Per-item cached rows: look up every key's row, compute only the missing keys.

    Parameters
    ----------
    namespace : str
        What the rows are (``"image-features"``), part of the folder name.
    identity : str
        Everything besides an item's content that determines its row (encoder, weights,
        options); each identity has its own shards.
    keys : sequence of str
        One content key per item (e.g. a file's SHA-256); repeated keys are computed once.
    compute : callable(list of str) -> mapping of str to ndarray
        Rows for the keys it is given (each array's first axis in that order). Called with
        the distinct keys no shard holds, not at all when none is missing. (Stored rows that
        do not fit the new ones, which only a changed ``compute`` under an unchanged identity
        gives, are dropped and every key is computed again.)
    enabled : bool
        With False, nothing is read or written: ``compute`` gets every distinct key.

    Returns
    -------
    dict of str to ndarray
        Every array ``compute`` returns, one row per entry of ``keys`` (in that order);
        empty when ``keys`` is.
    """
    return _rows(namespace, identity, [str(k) for k in keys], compute, enabled, heal=True)


def _rows(
    namespace: str, identity: str, keys: list[str], compute: RowsCompute, enabled: bool, heal: bool
) -> dict[str, np.ndarray]:
    """:func:`cached_rows`; with ``heal``, shards that do not fit the new rows are dropped and all recomputed."""
    wanted = list(dict.fromkeys(keys))
    folder = _rows_folder(namespace, identity)
    sources: list[Mapping[str, np.ndarray]] = []  # stored rows found, then the computed ones; each with its keys
    need = set(wanted) if enabled else set()
    for path in _shards(folder) if need else []:
        found = _read_shard(path, need)
        if found:
            need.difference_update(found[_KEYS].tolist())
            sources.append(found)
        if not need:
            break
    missing = [k for k in wanted if k in need] if enabled else wanted
    if missing:
        computed = {name: np.asarray(a) for name, a in compute(missing).items()}
        if _KEYS in computed or any(a.shape[:1] != (len(missing),) for a in computed.values()):
            raise ValueError(f"cached_rows: compute must return one row per key (and no field {_KEYS!r})")
        computed[_KEYS] = np.asarray(missing, dtype=str)
        if enabled:
            _write_shard(folder, computed)
            if len(_shards(folder)) > MAX_SHARDS:
                _merge_shards(folder)
        sources.append(computed)
    if not sources:
        return {}
    try:
        if any(set(a) != set(sources[-1]) for a in sources):
            raise ValueError("fields differ")
        stacked = {name: np.concatenate([a[name] for a in sources]) for name in sources[-1]}
    except ValueError:  # stored rows of another shape under this identity (stale): start over
        if not heal:
            raise
        shutil.rmtree(folder, ignore_errors=True)
        return _rows(namespace, identity, keys, compute, enabled, heal=False)
    position = {k: i for i, k in enumerate(stacked.pop(_KEYS).tolist())}
    take = np.asarray([position[k] for k in keys], dtype=np.int64)
    return {name: a[take] for name, a in stacked.items()}


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
