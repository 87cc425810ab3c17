"""Where annotations go by default, and who the annotator is when no name is given."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DB_ENV", "DB_SUFFIXES", "data_dir", "default_db_path", "ANNOTATOR_ENV", "default_annotator"]

DB_ENV = "CMCSL_DB"
"""Environment variable naming the database when no path is given."""

DB_SUFFIXES = (".sqlite", ".sqlite3", ".db")
"""Names of database files: an existing empty file is made a database only when named so."""


def data_dir() -> Path:
    """The user's data folder for cmcsl-studio (``$XDG_DATA_HOME`` or ``~/.local/share``)."""
    root = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(root) / "cmcsl-studio"


def default_db_path(fingerprint: str | None = None, env: bool = True) -> Path:
    """Where the annotations go when no path is given.

    ``$CMCSL_DB`` if set (and ``env``); else ``<data_dir>/annotations.sqlite``, or, given a
    feature file's fingerprint, ``<data_dir>/annotations-<first 16 digits>.sqlite`` (one
    database per feature file, so switching data in the app never hits a foreign
    database). A served app uses ``env=False``: its databases are always these.
    """
    named = os.environ.get(DB_ENV) if env else None
    if named:
        return Path(named)
    name = "annotations.sqlite" if fingerprint is None else f"annotations-{fingerprint[:16]}.sqlite"
    return data_dir() / name


ANNOTATOR_ENV = "CMCSL_ANNOTATOR"
"""Environment variable naming the annotator when none is given."""


def default_annotator() -> str:
    """``$CMCSL_ANNOTATOR``, else the login name, else ``"anonymous"``."""
    name = os.environ.get(ANNOTATOR_ENV, "").strip()
    if name:
        return name
    try:
        import getpass

        return getpass.getuser().strip() or "anonymous"
    except Exception:  # no login name (containers): any failure means "unknown"
        return "anonymous"

