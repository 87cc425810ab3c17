"""The feature file: the one interchange format of cmcsl-studio (:func:`load_features`, :func:`save_features`).

A feature file is an ``.npz`` archive holding

``modality_names``
    1-D array of M >= 2 strings.
``<name>`` for every modality name
    float array of shape (N, d_m).
``y``
    N integers in ``0 .. K-1``.
``class_names``
    K strings.
``ids``, ``titles``, ``texts``, ``image_paths`` (optional)
    N strings each.
``source``, ``description`` (optional)
    0-d string arrays.
``encoders`` (optional)
    0-d string: JSON naming the encoders that made the features (name, backend, runtime,
    identity per modality), written by the sources that encode.
``labels_<name>`` for some modality names (optional)
    N integers in ``-1 .. K-1``: a human label per item *for that modality alone*
    (e.g. MVSA's separate image and text annotations), ``-1`` where unknown.
``thumb_bytes``, ``thumb_offsets`` (optional, together)
    Small JPEG thumbnails without pickle: one uint8 blob of all images concatenated,
    and N + 1 int64 offsets; item ``i`` is ``thumb_bytes[thumb_offsets[i]:thumb_offsets[i + 1]]``
    (empty: no thumbnail).

Files come from strangers, so they are always read with ``allow_pickle=False``;
object arrays are refused. Writing is atomic (temporary file + rename), so an
interrupted save never destroys an existing file.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import IO, Sequence

import numpy as np
from numpy.typing import DTypeLike

from cmcsl_core.datasets.feature_set import LABELS_PREFIX, OPTIONAL_TEXT_KEYS, THUMB_KEYS, FeatureSet
from cmcsl_core.datasets.npzcheck import DAMAGED, check_archive
from cmcsl_core.errors import FeatureFileError
from cmcsl_core.fileio import read_member, write_atomically
from cmcsl_core.types import PathLike

__all__ = ["load_features", "save_features"]


def _member(archive: "np.lib.npyio.NpzFile", key: str) -> np.ndarray:
    """``archive[key]``, with its header parsed under the package's lock (safe when other threads load files too)."""
    return read_member(archive.zip, key, "the feature file")


def _read_thumbnails(archive: "np.lib.npyio.NpzFile", n: int) -> tuple[bytes, ...]:
    """Split the ``thumb_bytes`` blob at ``thumb_offsets`` into N bytes objects."""
    blob, offsets = _member(archive, "thumb_bytes"), _member(archive, "thumb_offsets")
    if blob.dtype != np.uint8 or blob.ndim != 1:
        raise FeatureFileError(f"'thumb_bytes' must be a 1-D uint8 array, got {blob.dtype} of shape {blob.shape}")
    if not np.issubdtype(offsets.dtype, np.integer) or offsets.shape != (n + 1,):
        raise FeatureFileError(f"'thumb_offsets' must hold {n + 1} integers (items + 1), got shape {offsets.shape}")
    offsets = offsets.astype(np.int64)
    if offsets[0] != 0 or offsets[-1] != blob.size or np.any(np.diff(offsets) < 0):
        raise FeatureFileError("'thumb_offsets' must rise from 0 to the length of 'thumb_bytes'")
    data = blob.tobytes()
    bounds = offsets.tolist()
    return tuple(data[bounds[i] : bounds[i + 1]] for i in range(n))


def _read_strings(archive: "np.lib.npyio.NpzFile", key: str) -> tuple[str, ...]:
    """A 1-D string array of the archive as a tuple of str (refusing other dtypes)."""
    arr = _member(archive, key)
    if arr.dtype.kind not in "US":
        raise FeatureFileError(f"'{key}' must hold strings, got dtype {arr.dtype}")
    if arr.dtype.kind == "S":  # byte strings (e.g. written by Python 2 or h5py): UTF-8 text
        return tuple(v.decode("utf-8", errors="replace") for v in arr.reshape(-1))
    return tuple(str(v) for v in arr.reshape(-1))


def _read_string(archive: "np.lib.npyio.NpzFile", key: str) -> str:
    """A scalar string of the archive ('' when empty)."""
    values = _read_strings(archive, key)
    return values[0] if values else ""


def _check_magic(path_or_file: PathLike | IO[bytes], label: str) -> None:
    """Refuse anything that does not start like a zip archive (an .npz) before NumPy sees it."""
    if isinstance(path_or_file, (str, os.PathLike)):
        with open(path_or_file, "rb") as fh:
            head = fh.read(6)
    else:
        pos = path_or_file.tell()
        head = path_or_file.read(6)
        path_or_file.seek(pos)
    if head.startswith(b"\x93NUMPY"):
        raise FeatureFileError(f"{label} is a single .npy array, not an .npz feature file")
    if not head.startswith(b"PK"):
        raise FeatureFileError(f"{label} is not an .npz feature file (it does not start like a zip archive)")


def _read_arrays(archive: "np.lib.npyio.NpzFile", names: Sequence[str], label: str) -> tuple[np.ndarray, ...]:
    """The arrays ``names`` of an open archive, decompressed in parallel threads.

    zlib releases the GIL while inflating and :class:`zipfile.ZipFile` supports
    reading different members at once, so the modalities' matrices (most of a
    compressed feature file's reading time) are inflated side by side. Each member is
    read by :func:`~cmcsl_core.fileio.read_member`, which parses the
    ``.npy`` headers one thread at a time (NumPy's parser is not thread-safe on
    CPython 3.11.7: gh-106905).
    """
    zf = archive.zip
    if len(names) < 2 or (os.cpu_count() or 1) < 2:
        return tuple(read_member(zf, n, label) for n in names)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(names), os.cpu_count() or 1)) as pool:
        return tuple(pool.map(lambda n: read_member(zf, n, label), names))


def load_features(path_or_file: PathLike | IO[bytes], max_bytes: int | None = None) -> FeatureSet:
    """Load and validate a feature file.

    Parameters
    ----------
    path_or_file : path or binary file object
        The ``.npz`` file (a path, or an uploaded file's bytes stream).
    max_bytes : int, optional
        The most memory loading may take, checked against the arrays' headers before
        anything is allocated (:func:`~cmcsl_core.datasets.npzcheck.check_archive`);
        default half of the machine's memory.

    Returns
    -------
    FeatureSet

    Raises
    ------
    FeatureFileError
        If the file is missing, not an ``.npz`` archive, damaged (a bad CRC, a broken
        deflate stream, a header declaring more than the file holds), too large for
        ``max_bytes``, holds object arrays (pickles are never loaded) or breaks any rule
        of the format.
    """
    label = str(path_or_file) if isinstance(path_or_file, (str, os.PathLike)) else "the uploaded file"
    if isinstance(path_or_file, (str, os.PathLike)):
        p = Path(path_or_file)
        if not p.exists():
            raise FeatureFileError(f"feature file {label} does not exist")
        if p.is_dir():
            raise FeatureFileError(f"{label} is a folder, not a feature file (.npz)")
    _check_magic(path_or_file, label)
    check_archive(path_or_file, label, max_bytes)
    try:
        archive = np.load(path_or_file, allow_pickle=False)
    except ValueError as exc:
        raise FeatureFileError(f"{label} cannot be read safely: {exc}") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise FeatureFileError(f"{label} is not a readable .npz feature file ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise FeatureFileError(f"{label} is a single .npy array, not an .npz feature file")
    with archive:
        keys = set(archive.files)
        missing = [k for k in ("modality_names", "y", "class_names") if k not in keys]
        if missing:
            raise FeatureFileError(f"{label} lacks the key(s) {', '.join(missing)}")
        try:
            names = _read_strings(archive, "modality_names")
            absent = [n for n in names if n not in keys]
            if absent:
                raise FeatureFileError(f"{label} names modality {absent[0]!r} but has no array for it")
            X = _read_arrays(archive, names, label)
            y = _member(archive, "y")
            class_names = _read_strings(archive, "class_names")
            extras = {k: _read_strings(archive, k) if k in keys else None for k in OPTIONAL_TEXT_KEYS}
            source = _read_string(archive, "source") if "source" in keys else ""
            description = _read_string(archive, "description") if "description" in keys else ""
            encoders = _read_string(archive, "encoders") if "encoders" in keys else ""
            label_keys = sorted(k for k in keys if k.startswith(LABELS_PREFIX))
            modality_labels = {k[len(LABELS_PREFIX) :]: _member(archive, k) for k in label_keys} or None
            has_thumbs = [k in keys for k in THUMB_KEYS]
            if any(has_thumbs) and not all(has_thumbs):
                raise FeatureFileError(f"{label} needs both 'thumb_bytes' and 'thumb_offsets' (or neither)")
            thumbnails = _read_thumbnails(archive, int(np.asarray(y).shape[0])) if all(has_thumbs) else None
        except ValueError as exc:
            if isinstance(exc, FeatureFileError):
                raise
            if "pickle" in str(exc).lower():
                raise FeatureFileError(
                    f"{label} holds object arrays, which are never loaded (pickles are unsafe): {exc}"
                ) from None
            raise FeatureFileError(f"{label} cannot be read: {exc}") from None
        except DAMAGED as exc:
            raise FeatureFileError(f"{label} is not a readable .npz feature file: a damaged archive ({exc})") from None
    return FeatureSet(
        modality_names=names,
        X=X,
        y=y,
        class_names=class_names,
        ids=extras["ids"],
        titles=extras["titles"],
        texts=extras["texts"],
        image_paths=extras["image_paths"],
        source=source,
        description=description,
        modality_labels=modality_labels,
        thumbnails=thumbnails,
        encoders=encoders,
    )


def save_features(
    fs: FeatureSet, path: PathLike, feature_dtype: "DTypeLike | None" = None, compress: bool = False
) -> Path:
    """Write ``fs`` to ``path`` as an ``.npz``, atomically.

    The archive is written to a temporary file in the same folder and renamed over
    ``path`` only when complete. Returns the final path. ``feature_dtype`` (e.g.
    ``np.float16``) stores the feature matrices in a smaller type; they are read back
    as float64 either way. The archive is not compressed unless ``compress``: encoder
    features (float32/float64) shrink by only about a tenth when deflated, and
    inflating them was most of the time to load a file (0.12 s of 0.13 s for 8,580 x
    896 float64 values). Compress when the values are float16 (about half the size)
    or the file is shared over a slow link; :func:`load_features` reads both.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise FeatureFileError(f"feature files end in .npz, got {path.name}")
    arrays: dict[str, np.ndarray] = {
        "modality_names": np.array(fs.modality_names, dtype=str),
        "y": fs.y.astype(np.int64),
        "class_names": np.array(fs.class_names, dtype=str),
        "source": np.array(fs.source, dtype=str),
        "description": np.array(fs.description, dtype=str),
    }
    if fs.encoders:
        arrays["encoders"] = np.array(fs.encoders, dtype=str)
    for name, x in zip(fs.modality_names, fs.X):
        arrays[name] = x if feature_dtype is None else x.astype(feature_dtype)
    for key in OPTIONAL_TEXT_KEYS:
        values = getattr(fs, key)
        if values is not None:
            arrays[key] = np.array(values, dtype=str)
    for name, labels in (fs.modality_labels or {}).items():
        arrays[LABELS_PREFIX + name] = labels.astype(np.int64)
    if fs.thumbnails is not None:
        sizes = np.array([len(t) for t in fs.thumbnails], dtype=np.int64)
        arrays["thumb_offsets"] = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        arrays["thumb_bytes"] = np.frombuffer(b"".join(fs.thumbnails), dtype=np.uint8)

    def write(fh: IO[bytes]) -> None:
        if compress:
            np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]
        else:
            np.savez(fh, **arrays)  # type: ignore[arg-type]

    write_atomically(path, write)
    return path
