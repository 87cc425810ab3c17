"""Writing labels with provenance (CSV, Parquet, Label Studio JSON) and reading label files.

Label Studio
------------
:func:`label_studio_tasks` writes Label Studio's JSON import format (a list of tasks,
see https://labelstud.io/guide/tasks.html#Basic-Label-Studio-JSON-format), which
imports as it is into a project set up with :func:`label_studio_config`:

* ``data`` holds ``text`` (the item's text, else its name) and, when the feature file
  knows its images, ``image``: a Label Studio *local files* URL
  ``/data/local-files/?d=<path relative to the document root>`` (see
  :func:`label_studio_image_url`; Label Studio serves it when started with
  ``LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true`` and
  ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=<root>``, and the project has a Local files
  storage on a folder holding the images). For reference, ``data`` also holds
  ``index`` (the row), ``id``, ``provenance`` and ``annotator``.
* a **human** label is an ``annotations`` entry (a finished annotation, its annotator
  in the task's ``data.annotator`` and ``meta.annotator``: Label Studio's
  ``completed_by`` must name one of its own users, so it is left out and the importing
  user owns the annotation);
* every other label (a seed's, or CMCSL's) is a ``predictions`` entry with a
  ``model_version`` and a ``score``: 1.0 for a seed and where all modalities agree,
  else the share of modalities proposing the label (0.5 in a two-modality
  disagreement), unless the caller passes its own scores.

Every result is ``{"id", "from_name": "label", "to_name": "text", "type": "choices",
"value": {"choices": [class]}}``; the ids are unique in the file.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote

import numpy as np
import pandas as pd

from cmcsl_core.annotations.provenance import HUMAN, SEED, AnnotatedLabels
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.errors import CMCSLError
from cmcsl_core.fileio import write_atomically
from cmcsl_core.types import PathLike

__all__ = [
    "FORMATS",
    "format_for",
    "label_studio_tasks",
    "label_studio_config",
    "label_studio_config_path",
    "label_studio_document_root",
    "label_studio_image_url",
    "label_scores",
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


LS_CHOICES = "label"
"""``name`` of the labeling config's ``<Choices>`` (every result's ``from_name``)."""

LS_TEXT = "text"
"""``name`` of the config's ``<Text>`` object (every result's ``to_name``) and its data key."""

LS_IMAGE = "image"
"""``name`` of the config's ``<Image>`` object and its data key."""

LS_LOCAL_FILES = "/data/local-files/?d="
"""Prefix of Label Studio's URLs of local files (relative to ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT``)."""


def label_studio_config(class_names: tuple[str, ...] | list[str], with_image: bool = False) -> str:
    """The Label Studio labeling config (XML) matching :func:`label_studio_tasks`.

    One ``<Choices name="label" toName="text">`` with a ``<Choice>`` per class, the
    ``<Text name="text" value="$text"/>`` object and (``with_image``) an
    ``<Image name="image" value="$image"/>`` above it.
    """
    from xml.sax.saxutils import quoteattr

    choices = "\n".join(f"    <Choice value={quoteattr(c)}/>" for c in class_names)
    image = f'  <Image name="{LS_IMAGE}" value="${LS_IMAGE}" maxWidth="480px"/>\n' if with_image else ""
    return (
        "<View>\n"
        f"{image}"
        f'  <Text name="{LS_TEXT}" value="${LS_TEXT}"/>\n'
        f'  <Choices name="{LS_CHOICES}" toName="{LS_TEXT}" choice="single" showInLine="true">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )


def label_studio_document_root(image_paths: Sequence[str]) -> Path | None:
    """The folder the images' local-files URLs are relative to: the deepest folder holding them all.

    None when no image path is absolute (URLs and empty paths are left as they are).
    """
    folders = [os.path.dirname(os.path.abspath(p)) for p in image_paths if p and os.path.isabs(p)]
    if not folders:
        return None
    try:
        return Path(os.path.commonpath(folders))
    except ValueError:  # paths on different drives (Windows): no common root
        return None


def label_studio_image_url(path: str, root: PathLike | None) -> str:
    """Label Studio's URL of an image: a web or cloud URL as it is, a local file under ``root`` as
    ``/data/local-files/?d=<relative path>`` (slashes kept, the rest percent-encoded), else the path."""
    if not path or "://" in path or root is None or not os.path.isabs(path):
        return path
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return path
    if rel.startswith(".."):
        return path
    return LS_LOCAL_FILES + quote(Path(rel).as_posix(), safe="/")


def _choice(uid: str, label: str) -> dict[str, Any]:
    return {"id": uid, "from_name": LS_CHOICES, "to_name": LS_TEXT, "type": "choices", "value": {"choices": [label]}}


def label_scores(annotated: AnnotatedLabels) -> np.ndarray:
    """Per item, the share of modalities proposing its final label (1.0 for seeds and human labels)."""
    labels = np.asarray(annotated.result.labels)
    share = (labels == np.asarray(annotated.final_labels)[None, :]).mean(axis=0)
    fixed = np.isin(np.asarray(annotated.provenance, dtype=object), [HUMAN, SEED])
    return np.where(fixed, 1.0, share)


def label_studio_tasks(
    fs: FeatureSet,
    annotated: AnnotatedLabels,
    model_version: str | None = None,
    image_root: PathLike | None = None,
    scores: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Label Studio tasks: human labels as annotations, the other labels as scored predictions.

    Parameters
    ----------
    fs : FeatureSet
    annotated : AnnotatedLabels
        The labels (:func:`~cmcsl_core.annotations.provenance.labels_with_annotations`).
    model_version : str, optional
        The predictions' ``model_version`` (default ``cmcsl-<preprocessing>``; seeds get
        ``seed``).
    image_root : path, optional
        The folder local-files URLs are relative to (Label Studio's document root);
        default :func:`label_studio_document_root` of the image paths.
    scores : ndarray of shape (N,), optional
        The predictions' scores (default :func:`label_scores`).

    See the module docstring for the format.
    """
    version = model_version or f"cmcsl-{annotated.preprocessing}"
    names = fs.class_names
    score = label_scores(annotated) if scores is None else np.asarray(scores, dtype=np.float64)
    root = None
    if fs.image_paths is not None:
        root = Path(image_root) if image_root is not None else label_studio_document_root(fs.image_paths)
    tasks: list[dict[str, Any]] = []
    for i in range(fs.n_items):
        text = fs.texts[i] if fs.texts is not None and fs.texts[i] else fs.item_name(i)
        data: dict[str, Any] = {LS_TEXT: text}
        if fs.image_paths is not None:
            data[LS_IMAGE] = label_studio_image_url(fs.image_paths[i], root)
        provenance, annotator = annotated.provenance[i], annotated.annotators[i]
        data["index"] = i
        if fs.ids is not None:
            data["id"] = fs.ids[i]
        data["provenance"] = provenance
        data["annotator"] = annotator
        label = names[int(annotated.final_labels[i])]
        task: dict[str, Any] = {"data": data}
        if provenance == HUMAN:
            task["annotations"] = [
                {"result": [_choice(f"human-{i}", label)], "ground_truth": False, "was_cancelled": False}
            ]
            task["meta"] = {"annotator": annotator}
        else:
            task["predictions"] = [
                {
                    "model_version": "seed" if provenance == SEED else version,
                    "score": round(float(score[i]), 4),
                    "result": [_choice(f"cmcsl-{i}", label)],
                }
            ]
        tasks.append(task)
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


def label_studio_config_path(out: PathLike) -> Path:
    """Where the labeling config of the Label Studio export ``out`` goes: ``<out stem>.label_config.xml`` beside it."""
    out = Path(out)
    return out.with_name(out.stem + ".label_config.xml")


def export_labels(fs: FeatureSet, annotated: AnnotatedLabels, path: PathLike, fmt: str | None = None) -> Path:
    """Write the labels with provenance to ``path`` (atomically); returns the path.

    The Label Studio format also writes its labeling config beside it (:func:`label_studio_config_path`).
    """
    fmt = format_for(path, fmt)
    data = export_bytes(fs, annotated, fmt)
    write_atomically(path, lambda fh: fh.write(data))
    if fmt == "label-studio":
        config = label_studio_config(fs.class_names, with_image=fs.image_paths is not None).encode()
        write_atomically(label_studio_config_path(path), lambda fh: fh.write(config))
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
