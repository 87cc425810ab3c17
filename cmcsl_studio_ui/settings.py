"""What the shared sidebar chooses: one frozen :class:`Settings` value, its defaults and labels.

Pure (no Streamlit): the URL codec (:mod:`.url`), the session (:mod:`.session`), the sidebar
(:mod:`.sidebar`) and the pages all speak this one type.
"""

from __future__ import annotations

from dataclasses import dataclass

from cmcsl_core.constants import DEFAULT_CLASSIFIER, DEFAULT_PREPROCESSING, LABEL_SEED
from cmcsl_core.datasets.builtin import BUILTIN_MVSA_LABEL
from cmcsl_core.datasets.sources import DEFAULT_SOURCE, DEFAULT_SUBSET, SOURCE_HELP, SOURCES, source_info
from cmcsl_core.method.labelers.registry import DEFAULT_LABELER

__all__ = [
    "Settings",
    "DEFAULTS",
    "MAX_B_CLASS",
    "MAX_SEED",
    "FILE",
    "APP_SOURCES",
    "MVSA_BUILTIN",
    "source_label",
    "path_help",
    "takes_path",
    "takes_subset",
    "takes_option",
    "option_help",
    "CLASSIFIER_LABELS",
    "TABLE_ROLES",
    "parse_columns",
    "format_columns",
]

MAX_B_CLASS = 500
"""Largest b_class the sidebar accepts (the data may allow fewer: that is reported as an error)."""

MAX_SEED = 2**31 - 1
"""Largest random seed (numpy's legacy limit, shared with the CLI's --seed)."""

FILE = "file"
"""The app's own source: a feature file written by ``export`` (a path on the server, or an upload)."""

MVSA_BUILTIN = "mvsa-builtin"
"""The built-in real data: MVSA-Single tweets shipped in ``data/mvsa_single.npz`` (no download)."""

_FIRST: tuple[str, ...] = (DEFAULT_SOURCE, MVSA_BUILTIN)
"""Sources offered first: the two that need nothing (the simulation, the built-in real tweets)."""

APP_SOURCES: tuple[str, ...] = (*[s for s in _FIRST if s in SOURCES], *[s for s in SOURCES if s not in _FIRST], FILE)
"""Data sources offered in the sidebar: the built-in ones first, then the library's other registered
sources, then a feature file."""

_SOURCE_LABELS: dict[str, str] = {
    "demo": "Built-in demo: simulated movies (no download)",
    "hdf5": "MM-IMDb hdf5 (Arevalo's multimodal_imdb.hdf5)",
    "w4k2": "Authors' features (mmIMDb_<SUBSET>_*.npy)",
    "raw": "Raw MM-IMDb archive (posters + plots)",
    MVSA_BUILTIN: BUILTIN_MVSA_LABEL,
    "mvsa": "MVSA-Single folder (tweets: images + texts)",
    "table": "Table of items (.csv / .tsv / .jsonl: image, text, label)",
    FILE: "Feature file (.npz): path or upload",
}

_PATH_HELP: dict[str, str] = {
    "hdf5": "Path of multimodal_imdb.hdf5 on the server.",
    "w4k2": "Folder holding the authors' mmIMDb_<SUBSET>_*.npy files.",
    "raw": "The extracted MM-IMDb folder (mmimdb/, holding dataset/<id>.jpeg and <id>.json; extract "
    "mmimdb.tar.gz first). Encoding all posters and plots takes a long time on a CPU; it is done once and cached.",
    "mvsa": "The MVSA-Single folder (holding labelResultAll.txt and data/<id>.jpg, data/<id>.txt). "
    "Encoding all 4,869 tweets takes a few minutes on a CPU; it is done once and cached. The built-in "
    "MVSA-Single needs none of this.",
    "table": "A .csv, .tsv or .jsonl table with columns id, image (a path relative to the table), text, label.",
    FILE: "A feature file written by `python -m cmcsl_core export` (or upload one below).",
}


def source_label(source: str) -> str:
    """How the sidebar names a source (a registered source without a label: its help line)."""
    return _SOURCE_LABELS.get(source) or f"{source}: {SOURCE_HELP[source]}"


def path_help(source: str) -> str:
    """Help of the path box for ``source``."""
    return _PATH_HELP.get(source) or SOURCE_HELP[source]


def takes_path(source: str) -> bool:
    """Whether ``source`` reads a file or folder (the sidebar shows a path box)."""
    return source == FILE or source_info(source).needs_path


def takes_subset(source: str) -> bool:
    """Whether ``source`` labels its items by an MM-IMDb subset (the sidebar shows the subset picker)."""
    return source != FILE and source_info(source).has_subset


def takes_option(source: str, option: str) -> bool:
    """Whether ``source`` accepts the loader option ``option`` (e.g. ``image_encoder``)."""
    return source != FILE and any(o.name == option for o in source_info(source).options)


def option_help(source: str, option: str) -> str:
    """The registry's help line and default of a source's option."""
    opt = source_info(source).option(option)
    return f"{opt.help} (default {opt.default})" if opt.default is not None else opt.help

TABLE_ROLES: tuple[str, ...] = ("id", "image", "text", "label")
"""The columns a table source reads (``--id-column`` ...), each with the default name of its role."""


def parse_columns(text: str) -> dict[str, str]:
    """``"image=photo, text=body"`` -> ``{"image": "photo", "text": "body"}``.

    Unknown roles and empty names are dropped.
    """
    out: dict[str, str] = {}
    for part in str(text).split(","):
        role, sep, name = part.partition("=")
        role, name = role.strip().lower(), name.strip()
        if sep and role in TABLE_ROLES and name:
            out[role] = name
    return out


def format_columns(columns: dict[str, str]) -> str:
    """The inverse of :func:`parse_columns`, roles in order, defaults (the role's own name) left out."""
    return ",".join(f"{r}={columns[r]}" for r in TABLE_ROLES if columns.get(r) and columns[r] != r)


CLASSIFIER_LABELS: dict[str, str] = {
    "gnb": "Gaussian naive Bayes (GNB)",
    "lr": "Logistic regression (LR)",
    "cart": "Decision tree (CART)",
}


@dataclass(frozen=True)
class Settings:
    """Everything the sidebar chooses (the random ``seed`` picks the seeds unless chosen by hand)."""

    source: str = DEFAULT_SOURCE
    path: str = ""
    subset: str = DEFAULT_SUBSET
    preprocessing: str = DEFAULT_PREPROCESSING
    classifier: str = DEFAULT_CLASSIFIER
    b_class: int = 5
    seed: int = LABEL_SEED
    image_encoder: str = ""
    """Image encoder of the sources that encode images (``""``: the source's default)."""
    columns: str = ""
    """A table's column names where they differ from the defaults: ``"image=photo,text=body"``
    (roles ``id``, ``image``, ``text``, ``label``; ``""``: the defaults), as ``--image-column`` etc."""
    labeler: str = DEFAULT_LABELER
    """How items are labelled from the seeds (:mod:`cmcsl_core.method.labelers`; ``cmcsl``: the paper's rule)."""


DEFAULTS = Settings()
