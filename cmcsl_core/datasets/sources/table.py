"""Source ``table``: any collection of items, one row each, with an image, a text and a label.

``--path items.csv`` (comma-separated), ``items.tsv`` (tab-separated) or ``items.jsonl``
(one JSON object per line). Columns (names configurable):

``id``     the item's id (optional: row numbers when the table has no ``id`` column)
``image``  the image file: relative to the table's folder, or absolute (spaces are fine)
``text``   the item's text (an empty text is encoded as it is)
``label``  the class name

The table's bytes are read as UTF-8 (with or without BOM), else Windows-1252, so any
encoding gives text and never a crash. Class names are the labels found, sorted
(numerically when every label is a number). Rows with a missing label, a missing id, a
duplicate id, or a missing or undecodable image are skipped and reported (see
:mod:`cmcsl_core.datasets.sources.items`); a table that cannot be used at all (missing,
empty, unknown columns) raises :class:`~cmcsl_core.errors.SourceError` with one line.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.datasets.sources.items import (
    MISSING_IMAGE,
    MISSING_LABEL,
    EncoderOptions,
    ItemEncoders,
    ItemRows,
    LoadedItems,
    SkippedItem,
    decode_text,
    encode_with_options,
    item_loader_doc,
)
from cmcsl_core.errors import SourceError
from cmcsl_core.types import PathLike, ProgressFn

__all__ = ["TABLE_SUFFIXES", "TableColumns", "read_table", "read_table_rows", "load_table_items", "load_table"]

TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".jsonl")
"""Table formats accepted by ``--source table``."""


@dataclass(frozen=True)
class TableColumns:
    """Names of the table's columns (``--id-column`` etc.)."""

    id: str = "id"
    image: str = "image"
    text: str = "text"
    label: str = "label"


def _cell(value: object) -> str:
    """A table cell as a string (JSON numbers as written, null as '')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def read_table(path: PathLike) -> tuple[list[str], list[dict[str, str]], list[SkippedItem]]:
    """Read a ``.csv``, ``.tsv`` or ``.jsonl`` table.

    Returns
    -------
    columns : list of str
        The column names (csv/tsv header; for jsonl, every key seen, in order of appearance).
    records : list of dict
        One mapping column -> string per row.
    broken : list of SkippedItem
        jsonl lines that are not a JSON object (id ``line N``).

    Raises
    ------
    SourceError
        Missing or unreadable file, unknown suffix, or no header / no rows.
    """
    p = Path(path).expanduser()
    suffix = p.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise SourceError(f"{p.name}: a table must be {', '.join(TABLE_SUFFIXES)} (got {p.suffix or 'no suffix'})")
    if not p.exists():
        raise SourceError(f"table {p} does not exist")
    if p.is_dir():
        raise SourceError(f"{p} is a folder; pass a table file ({', '.join(TABLE_SUFFIXES)})")
    try:
        text = decode_text(p.read_bytes())
    except OSError as exc:
        raise SourceError(f"cannot read table {p}: {exc.strerror or exc}") from None
    if not text.strip():
        raise SourceError(f"table {p} is empty")
    broken: list[SkippedItem] = []
    records: list[dict[str, str]] = []
    columns: list[str] = []
    if suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                broken.append(SkippedItem(f"line {number}", "not a JSON object"))
                continue
            for key in obj:
                if str(key) not in columns:
                    columns.append(str(key))
            records.append({str(k): _cell(v) for k, v in obj.items()})
        if not records:
            raise SourceError(f"table {p} holds no JSON object (one per line)")
        return columns, records, broken
    delimiter = "\t" if suffix == ".tsv" else ","
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = [r for r in reader if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise SourceError(f"table {p} is not valid {suffix[1:]}: {exc}") from None
    if not rows:  # only separators and blanks, e.g. a table of bare commas
        raise SourceError(f"table {p} holds no header and no values (only separators or blank lines)")
    columns = [c.strip() for c in rows[0]]
    if len(rows) < 2:
        raise SourceError(f"table {p} has a header but no rows")
    for r in rows[1:]:
        records.append({c: (r[j] if j < len(r) else "") for j, c in enumerate(columns)})
    return columns, records, broken


def _resolve_column(wanted: str, columns: list[str]) -> str | None:
    """The table's column named ``wanted`` (exact, else case-insensitive), or None."""
    if wanted in columns:
        return wanted
    lower = {c.lower(): c for c in columns}
    return lower.get(wanted.strip().lower())


def _natural_classes(labels: list[str]) -> tuple[str, ...]:
    distinct = set(labels)
    try:
        return tuple(sorted(distinct, key=lambda s: (float(s), s)))
    except ValueError:
        return tuple(sorted(distinct))


def read_table_rows(path: PathLike, columns: TableColumns = TableColumns()) -> tuple[ItemRows, list[SkippedItem]]:
    """Read a table into items (absolute image paths) and the rows skipped so far.

    Images are only checked for existence here; undecodable ones are found when encoding.

    Raises
    ------
    SourceError
        Unreadable table, or a column that is not in it (the message lists the columns).
    """
    table = Path(path).expanduser().resolve()
    names, records, skipped = read_table(table)
    found: dict[str, str | None] = {}
    for role, flag in (("id", "--id-column"), ("image", "--image-column"), ("text", "--text-column"),
                       ("label", "--label-column")):
        wanted = getattr(columns, role)
        found[role] = _resolve_column(wanted, names)
        if found[role] is None and not (role == "id" and wanted == "id"):
            raise SourceError(
                f"table {table.name} has no column {wanted!r} "
                f"(its columns: {', '.join(n for n in names if n) or 'none'}); "
                f"name the {role} column with {flag}"
            )
    ids: list[str] = []
    images: list[str] = []
    texts: list[str] = []
    labels: list[str] = []
    seen: set[str] = set()
    for number, rec in enumerate(records, start=1):
        id_col, image_col, text_col, label_col = found["id"], found["image"], found["text"], found["label"]
        item = rec.get(id_col, "").strip() if id_col else str(number)
        if not item:
            skipped.append(SkippedItem(f"row {number}", "missing id"))
            continue
        if item in seen:
            skipped.append(SkippedItem(item, "duplicate id"))
            continue
        label = rec.get(label_col or "", "").strip()
        if not label:
            skipped.append(SkippedItem(item, MISSING_LABEL))
            continue
        raw_image = rec.get(image_col or "", "")
        image = _image_path(raw_image, table.parent)
        if image is None:
            skipped.append(SkippedItem(item, MISSING_IMAGE))
            continue
        seen.add(item)
        ids.append(item)
        images.append(image)
        texts.append(rec.get(text_col or "", ""))
        labels.append(label)
    classes = _natural_classes(labels)
    index = {c: k for k, c in enumerate(classes)}
    rows = ItemRows(
        ids=tuple(ids),
        image_paths=tuple(images),
        texts=tuple(texts),
        y=np.asarray([index[c] for c in labels], dtype=np.int64),
        class_names=classes,
    )
    return rows, skipped


def _image_path(value: str, folder: Path) -> str | None:
    """The absolute path of an image cell (as written, else stripped), None when no such file."""
    for candidate in dict.fromkeys((value, value.strip())):
        if not candidate:
            continue
        p = Path(candidate).expanduser()
        p = p if p.is_absolute() else folder / p
        if p.is_file():
            return str(p)
    return None


@item_loader_doc
def load_table_items(
    path: PathLike,
    id_column: str = "id",
    image_column: str = "image",
    text_column: str = "text",
    label_column: str = "label",
    encoder: EncoderOptions = EncoderOptions(),
    progress: ProgressFn | None = None,
    encoders: ItemEncoders | None = None,
    use_cache: bool = True,
) -> LoadedItems:
    """Encode the items of a table: modalities ``image`` and ``text``, ``y`` from the label column.

    Parameters
    ----------
    path : path
        The ``.csv``, ``.tsv`` or ``.jsonl`` table.
    id_column, image_column, text_column, label_column : str
        Column names.
    {encoder_parameters}
    """
    options = encoder.validated()
    cols = TableColumns(id=id_column, image=image_column, text=text_column, label=label_column)
    rows, skipped = read_table_rows(path, cols)
    table = Path(path).expanduser()
    description = f"table {table.name}: {len(rows.ids) + len(skipped)} rows, classes {', '.join(rows.class_names)}"
    return encode_with_options(rows, skipped, "table", description, options, encoders, progress, use_cache)


def load_table(path: PathLike, progress: ProgressFn | None = None, **options: object) -> FeatureSet:
    """:func:`load_table_items` returning only the feature set."""
    return load_table_items(path, progress=progress, **options).features  # type: ignore[arg-type]
