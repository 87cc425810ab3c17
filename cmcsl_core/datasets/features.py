"""The feature file: the one interchange format of cmcsl-studio.

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
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Mapping, Sequence

import numpy as np
from numpy.typing import DTypeLike

from cmcsl_core.datasets.npzcheck import DAMAGED, check_archive
from cmcsl_core.errors import FeatureFileError
from cmcsl_core.fileio import read_member, write_atomically
from cmcsl_core.types import PathLike

__all__ = [
    "FeatureSet",
    "load_features",
    "save_features",
    "make_feature_set",
    "OPTIONAL_TEXT_KEYS",
    "RESERVED_KEYS",
]

OPTIONAL_TEXT_KEYS = ("ids", "titles", "texts", "image_paths")
"""Per-item string arrays a feature file may carry."""

LABELS_PREFIX = "labels_"
"""Prefix of the per-modality human label keys (``labels_<modality>``)."""

THUMB_KEYS = ("thumb_bytes", "thumb_offsets")
"""Keys of the thumbnail blob and its offsets."""

RESERVED_KEYS = frozenset(
    {"modality_names", "y", "class_names", "source", "description", "encoders", *OPTIONAL_TEXT_KEYS, *THUMB_KEYS}
)
"""Keys that cannot be used as modality names (nor can names starting with ``labels_``)."""


@dataclass(frozen=True)
class FeatureSet:
    """A multimodal dataset: one feature matrix per modality plus labels.

    Parameters
    ----------
    modality_names : tuple of str
        Names of the M >= 2 modalities, e.g. ``("visual", "text")``.
    X : tuple of ndarray
        One float64 array of shape (N, d_m) per modality, in ``modality_names`` order.
    y : ndarray of shape (N,)
        Integer class labels in ``0 .. K-1``.
    class_names : tuple of str
        Names of the K classes.
    ids, titles, texts, image_paths : tuple of str or None
        Optional per-item strings (shown on hover, written to label files).
    source, description : str
        Where the data comes from, shown in the app and in ``label`` output.
    modality_labels : dict of str to ndarray, optional
        Human labels per modality (keys: modality names), N ints in ``-1 .. K-1``,
        ``-1`` where unknown; stored as ``labels_<modality>``.
    thumbnails : tuple of bytes, optional
        N small encoded images (JPEG bytes), ``b""`` where an item has none.
    encoders : str
        JSON naming the encoders (and backend) that made the features; ``""`` when unknown.
    """

    modality_names: tuple[str, ...]
    X: tuple[np.ndarray, ...]
    y: np.ndarray
    class_names: tuple[str, ...]
    ids: tuple[str, ...] | None = None
    titles: tuple[str, ...] | None = None
    texts: tuple[str, ...] | None = None
    image_paths: tuple[str, ...] | None = None
    source: str = ""
    description: str = ""
    modality_labels: Mapping[str, np.ndarray] | None = None
    thumbnails: tuple[bytes, ...] | None = None
    encoders: str = ""

    def __post_init__(self) -> None:
        validate(self)

    @property
    def n_items(self) -> int:
        """Number of items N."""
        return int(self.y.shape[0])

    @property
    def n_classes(self) -> int:
        """Number of classes K."""
        return len(self.class_names)

    @property
    def n_modalities(self) -> int:
        """Number of modalities M."""
        return len(self.modality_names)

    def modality(self, name: str) -> np.ndarray:
        """Return the feature matrix of modality ``name``."""
        try:
            return self.X[self.modality_names.index(name)]
        except ValueError:
            raise FeatureFileError(
                f"unknown modality {name!r}; this file has {', '.join(self.modality_names)}"
            ) from None

    def class_counts(self) -> np.ndarray:
        """Number of items per class, shape (K,)."""
        return np.bincount(self.y, minlength=self.n_classes)

    def subset(self, rows: np.ndarray) -> "FeatureSet":
        """Return a new FeatureSet restricted to ``rows`` (indices or boolean mask)."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)

        def pick(values: tuple[str, ...] | None) -> tuple[str, ...] | None:
            return None if values is None else tuple(values[i] for i in rows)

        return FeatureSet(
            modality_names=self.modality_names,
            X=tuple(x[rows] for x in self.X),
            y=self.y[rows],
            class_names=self.class_names,
            ids=pick(self.ids),
            titles=pick(self.titles),
            texts=pick(self.texts),
            image_paths=pick(self.image_paths),
            source=self.source,
            description=self.description,
            modality_labels=None
            if self.modality_labels is None
            else {k: v[rows] for k, v in self.modality_labels.items()},
            thumbnails=None if self.thumbnails is None else tuple(self.thumbnails[i] for i in rows),
            encoders=self.encoders,
        )

    def thumbnail(self, i: int) -> bytes | None:
        """The encoded thumbnail (JPEG bytes) of item ``i``, or None when there is none."""
        if self.thumbnails is None:
            return None
        return self.thumbnails[i] or None

    def item_name(self, i: int) -> str:
        """A short human-readable name for item ``i`` (title, id or index)."""
        if self.titles is not None and self.titles[i]:
            return self.titles[i]
        if self.ids is not None and self.ids[i]:
            return self.ids[i]
        return f"item {i}"


def validate(fs: FeatureSet) -> None:
    """Check a FeatureSet's invariants, normalising arrays in place.

    Raises
    ------
    FeatureFileError
        With a message naming the problem (fewer than 2 modalities, differing row
        counts, NaN/inf, labels outside ``class_names``, ...).
    """
    names = tuple(str(n) for n in fs.modality_names)
    if len(names) < 2:
        raise FeatureFileError(f"a feature file needs at least 2 modalities, found {len(names)}")
    if len(set(names)) != len(names):
        raise FeatureFileError(f"modality names must be distinct, got {list(names)}")
    bad = [n for n in names if n in RESERVED_KEYS or n.startswith(LABELS_PREFIX) or not n]
    if bad:
        raise FeatureFileError(f"modality name {bad[0]!r} is reserved or empty")
    if len(fs.X) != len(names):
        raise FeatureFileError(f"{len(names)} modality names but {len(fs.X)} feature arrays")

    y = np.asarray(fs.y)
    if y.ndim != 1:
        raise FeatureFileError(f"'y' must be 1-D, got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise FeatureFileError("'y' must hold integer class labels")
    y = y.astype(np.int64)
    n = y.shape[0]
    if n == 0:
        raise FeatureFileError("the feature file holds no items")
    class_names = tuple(str(c) for c in fs.class_names)
    k = len(class_names)
    if k < 2:
        raise FeatureFileError(f"need at least 2 classes, 'class_names' has {k}")
    if y.min() < 0 or y.max() >= k:
        raise FeatureFileError(
            f"labels in 'y' must lie in 0..{k - 1} (one per class name); found {int(y.min())}..{int(y.max())}"
        )

    X = []
    for name, x in zip(names, fs.X):
        x = np.asarray(x)
        if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise FeatureFileError(f"modality {name!r} must be a numeric array, got dtype {x.dtype}")
        if np.issubdtype(x.dtype, np.complexfloating):
            raise FeatureFileError(f"modality {name!r} must hold real numbers, got dtype {x.dtype}")
        if x.ndim != 2:
            raise FeatureFileError(f"modality {name!r} must be a 2-D array (N x d), got shape {x.shape}")
        if x.shape[0] != n:
            raise FeatureFileError(f"modality {name!r} has {x.shape[0]} rows but 'y' has {n}")
        if x.shape[1] == 0:
            raise FeatureFileError(f"modality {name!r} has no feature columns")
        x = np.ascontiguousarray(x, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            bad_rows = np.flatnonzero(~np.all(np.isfinite(x), axis=1))
            raise FeatureFileError(
                f"modality {name!r} contains NaN or inf in {bad_rows.size} row(s), first at row {int(bad_rows[0])}"
            )
        X.append(x)

    texts: dict[str, tuple[str, ...] | None] = {}
    for key in OPTIONAL_TEXT_KEYS:
        values = getattr(fs, key)
        if values is None:
            texts[key] = None
            continue
        values = tuple(str(v) for v in values)
        if len(values) != n:
            raise FeatureFileError(f"'{key}' has {len(values)} entries but there are {n} items")
        texts[key] = values

    set_ = object.__setattr__
    set_(fs, "modality_names", names)
    set_(fs, "X", tuple(X))
    set_(fs, "y", y)
    set_(fs, "class_names", class_names)
    for key, values in texts.items():
        set_(fs, key, values)
    set_(fs, "source", str(fs.source))
    set_(fs, "description", str(fs.description))
    set_(fs, "encoders", str(fs.encoders))
    set_(fs, "modality_labels", _validated_modality_labels(fs.modality_labels, names, n, k))
    set_(fs, "thumbnails", _validated_thumbnails(fs.thumbnails, n))


def _validated_modality_labels(
    labels: Mapping[str, np.ndarray] | None, names: tuple[str, ...], n: int, k: int
) -> dict[str, np.ndarray] | None:
    """Per-modality human labels as int64 arrays, checked (keys are modality names, values in -1..K-1)."""
    if not labels:
        return None
    out: dict[str, np.ndarray] = {}
    for name, values in labels.items():
        name = str(name)
        if name not in names:
            raise FeatureFileError(
                f"'{LABELS_PREFIX}{name}' names no modality of this file ({', '.join(names)})"
            )
        arr = np.asarray(values)
        if arr.ndim != 1 or arr.shape[0] != n:
            raise FeatureFileError(f"'{LABELS_PREFIX}{name}' must hold {n} labels, got shape {arr.shape}")
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise FeatureFileError(f"'{LABELS_PREFIX}{name}' must hold integer labels, got dtype {arr.dtype}")
        arr = arr.astype(np.int64)
        if arr.size and (arr.min() < -1 or arr.max() >= k):
            raise FeatureFileError(
                f"'{LABELS_PREFIX}{name}' must lie in -1..{k - 1} (-1 = unknown); "
                f"found {int(arr.min())}..{int(arr.max())}"
            )
        out[name] = arr
    return out


def _validated_thumbnails(thumbs: Sequence[bytes] | None, n: int) -> tuple[bytes, ...] | None:
    """Thumbnails as a tuple of N bytes objects (b"" = none)."""
    if thumbs is None:
        return None
    if len(thumbs) != n:
        raise FeatureFileError(f"'thumbnails' has {len(thumbs)} entries but there are {n} items")
    if not all(isinstance(t, (bytes, bytearray, memoryview)) for t in thumbs):
        raise FeatureFileError("'thumbnails' must hold bytes (encoded images), one per item")
    return tuple(bytes(t) for t in thumbs)


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


def make_feature_set(
    X: Sequence[np.ndarray],
    y: Sequence[int] | np.ndarray,
    modality_names: Sequence[str] = ("visual", "text"),
    class_names: Sequence[str] | None = None,
    **extra: object,
) -> FeatureSet:
    """Convenience constructor: infer ``class_names`` as ``class 0..K-1`` if not given."""
    y = np.asarray(y)
    if class_names is None:
        k = int(y.max()) + 1 if y.size else 0
        class_names = [f"class {i}" for i in range(k)]
    return FeatureSet(
        modality_names=tuple(modality_names),
        X=tuple(X),
        y=y,
        class_names=tuple(class_names),
        **extra,  # type: ignore[arg-type]
    )
