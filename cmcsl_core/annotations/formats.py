"""Writing labels with provenance (CSV, Parquet, Label Studio JSON) and reading label files.

Label Studio
------------
:func:`label_studio_tasks` writes Label Studio's JSON import format with
pre-annotations: a list of tasks, each ``{"data": {...}, "predictions": [...]}``.
``data`` holds ``text`` (the item's text, else its title or name), ``image`` (when the
file has image paths) and, for reference, ``index``, ``id``, ``provenance`` and
``annotator``. Each prediction is ``{"model_version", "result": [{"id",
"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices":
[class]}}]}``; :func:`label_studio_config` gives the matching labeling config.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cmcsl_core.annotations.provenance import HUMAN, AnnotatedLabels
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.fileio import write_atomically
from cmcsl_core.errors import CMCSLError
from cmcsl_core.types import PathLike

__all__ = [
    "FORMATS",
    "format_for",
    "label_studio_tasks",
    "label_studio_config",
    "export_bytes",
    "export_labels",
    "LabelRows",
    "read_label_file",
]

FORMATS: tuple[str, ...] = ("csv", "parquet", "label-studio")
"""Export formats (by ``--format`` or the output's suffix .csv, .parquet, .json)."""

_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "label-studio"}


def format_for(path: PathLike, fmt: str | None = None) -> str:
    """The export format: ``fmt`` if given (checked), else from the file's suffix."""
    if fmt is not None:
        key = str(fmt).strip().lower().replace("_", "-")
        if key in ("json", "labelstudio"):
            key = "label-studio"
        if key not in FORMATS:
            raise CMCSLError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return key
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise CMCSLError(
            f"cannot tell the format of {Path(path).name}: use a .csv, .parquet or .json name, or --format"
        )
    return _SUFFIXES[suffix]


def label_studio_config(class_names: tuple[str, ...] | list[str], with_image: bool = False) -> str:
    """A Label Studio labeling config matching :func:`label_studio_tasks` (``from_name`` label, ``to_name`` text)."""
    from xml.sax.saxutils import quoteattr

    choices = "\n".join(f"    <Choice value={quoteattr(c)}/>" for c in class_names)
    image = '  <Image name="image" value="$image"/>\n' if with_image else ""
    return (
        "<View>\n"
        f"{image}"
        '  <Text name="text" value="$text"/>\n'
        '  <Choices name="label" toName="text" choice="single">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )


def label_studio_tasks(
    fs: FeatureSet, annotated: AnnotatedLabels, model_version: str | None = None
) -> list[dict[str, Any]]:
    """Label Studio tasks with one ``choices`` prediction per item (see the module docstring)."""
    version = model_version or f"cmcsl-{annotated.preprocessing}"
    names = fs.class_names
    tasks: list[dict[str, Any]] = []
    for i in range(fs.n_items):
        if fs.texts is not None and fs.texts[i]:
            text = fs.texts[i]
        else:
            text = fs.item_name(i)
        data: dict[str, Any] = {"text": text}
        if fs.image_paths is not None:
            data["image"] = fs.image_paths[i]
        data["index"] = i
        if fs.ids is not None:
            data["id"] = fs.ids[i]
        data["provenance"] = annotated.provenance[i]
        data["annotator"] = annotated.annotators[i]
        label = names[int(annotated.final_labels[i])]
        result = {
            "id": f"cmcsl-{i}",
            "from_name": "label",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": [label]},
        }
        prediction = {
            "model_version": version if annotated.provenance[i] != HUMAN else f"human:{annotated.annotators[i]}",
            "result": [result],
        }
        tasks.append({"data": data, "predictions": [prediction]})
    return tasks


def export_bytes(fs: FeatureSet, annotated: AnnotatedLabels, fmt: str) -> bytes:
    """The export as bytes (the app's download buttons use this)."""
    fmt = format_for("", fmt)
    if fmt == "label-studio":
        return json.dumps(label_studio_tasks(fs, annotated), ensure_ascii=False, indent=1).encode()
    table = annotated.table(fs)
    if fmt == "csv":
        return table.to_csv(index=False, float_format="%.6f").encode()
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    return buf.getvalue()


def export_labels(fs: FeatureSet, annotated: AnnotatedLabels, path: PathLike, fmt: str | None = None) -> Path:
    """Write the labels with provenance to ``path`` (atomically); returns the path."""
    data = export_bytes(fs, annotated, format_for(path, fmt))
    write_atomically(path, lambda fh: fh.write(data))
    return Path(path)


@dataclass(frozen=True)
class LabelRows:
    """Rows of a label file: item keys (ids or indices), class names, (optional) annotators.

    ``rows`` numbers each entry as a spreadsheet shows the file (a CSV's header is
    row 1, so its first label is row 2; a Parquet file's first row is row 1).
    """

    items: list[int | str]
    labels: list[str]
    annotators: list[str] | None
    rows: list[int]

    def __len__(self) -> int:
        return len(self.items)


def read_label_file(path: PathLike) -> LabelRows:
    """Read labels to import from a CSV or Parquet file.

    Columns: ``id`` or ``index`` (``id`` is used when both are there), and ``label``.
    A file written by ``labels`` (which has ``final_label`` and ``provenance``
    instead of ``label``) contributes its rows of provenance ``human``. An
    ``annotator`` column, when present and non-empty, names who labelled each row.

    Raises
    ------
    CMCSLError
        If the file is missing or unreadable, lacks the columns, or holds no labels.
    """
    p = Path(path)
    if not p.is_file():
        raise CMCSLError(f"label file {p} does not exist")
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(p)
        else:  # UTF-8 (with or without BOM), else Windows-1252, as the table reader
            from cmcsl_core.datasets.sources.items import decode_text

            frame = pd.read_csv(io.StringIO(decode_text(p.read_bytes())), dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises many types for a bad file
        raise CMCSLError(f"cannot read label file {p}: {exc}") from None
    first = 1 if p.suffix.lower() in (".parquet", ".pq") else 2
    frame = frame.reset_index(drop=True)
    frame["_row"] = np.arange(len(frame)) + first
    cols = set(frame.columns)
    if "label" not in cols and {"final_label", "provenance"} <= cols:
        frame = frame[frame["provenance"].astype(str) == HUMAN].rename(columns={"final_label": "label"})
        cols = set(frame.columns)
    if "label" not in cols or not ({"id", "index"} & cols):
        shown = ", ".join(str(c) for c in frame.columns if c != "_row")
        raise CMCSLError(f"label file {p} needs the columns id (or index) and label; it has {shown}")
    rows = [int(r) for r in frame["_row"]]
    items: list[int | str]
    if "id" in cols:
        items = [str(v) for v in frame["id"]]
    else:
        items = []
        for row, v in zip(rows, frame["index"]):
            try:
                items.append(int(str(v).strip()))
            except ValueError:
                raise CMCSLError(f"label file {p}, row {row}: index {v!r} is not a whole number") from None
    labels = [str(v) for v in frame["label"]]
    empty = [row for row, v in zip(rows, labels) if not v.strip()]
    if empty:
        raise CMCSLError(f"label file {p}, row {empty[0]}: the label is empty")
    annotators = None
    if "annotator" in cols:
        values = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in frame["annotator"]]
        if all(v.strip() for v in values):
            annotators = values
    if not items:
        raise CMCSLError(f"label file {p} holds no labels")
    return LabelRows(items, labels, annotators, rows)
