"""The in-memory data set: :class:`FeatureSet` (one feature matrix per modality, labels, item texts),
its invariants (:func:`validate`) and the keys it reserves.

The file it is stored in is :mod:`cmcsl_core.datasets.feature_file`; :mod:`cmcsl_core.datasets.features`
gathers both under one name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from cmcsl_core.errors import FeatureFileError

__all__ = [
    "FeatureSet",
    "make_feature_set",
    "validate",
    "OPTIONAL_TEXT_KEYS",
    "LABELS_PREFIX",
    "THUMB_KEYS",
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
