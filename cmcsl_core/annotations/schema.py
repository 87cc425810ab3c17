"""The annotation database's tables: their layout, their set-up and check, a row as an :class:`Action`."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Sequence

from cmcsl_core.annotations.actions import Action, utc_now
from cmcsl_core.annotations.errors import AnnotationError, CorruptDatabaseError, ForeignDatabaseError

__all__ = ["SCHEMA_VERSION", "SCHEMA", "COLUMNS", "row_to_action", "check_schema"]

SCHEMA_VERSION = 1
"""Version of the tables below (stored in the ``schema_version`` table)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL,
    item TEXT NOT NULL,
    item_index INTEGER NOT NULL,
    label TEXT,
    annotator TEXT NOT NULL,
    time TEXT NOT NULL,
    previous TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('label', 'undo')),
    undoes INTEGER REFERENCES actions(id),
    CHECK ((kind = 'label' AND label IS NOT NULL AND undoes IS NULL)
           OR (kind = 'undo' AND undoes IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS actions_by_item ON actions(item_index, id);
CREATE INDEX IF NOT EXISTS actions_by_annotator ON actions(annotator, kind, id);
CREATE UNIQUE INDEX IF NOT EXISTS actions_undone_once ON actions(undoes) WHERE undoes IS NOT NULL;
"""

COLUMNS = "id, fingerprint, item, item_index, label, annotator, time, previous, kind, undoes"


def row_to_action(row: Sequence[object]) -> Action:
    id_, fp, item, index, label, annotator, time, previous, kind, undoes = row
    return Action(
        id=int(id_),  # type: ignore[call-overload]
        fingerprint=str(fp),
        item=str(item),
        index=int(index),  # type: ignore[call-overload]
        label=None if label is None else str(label),
        annotator=str(annotator),
        time=str(time),
        previous=None if previous is None else str(previous),
        kind=str(kind),
        undoes=None if undoes is None else int(undoes),  # type: ignore[call-overload]
    )


def check_schema(con: sqlite3.Connection, path: Path, fingerprint: str, n_items: int, create: bool) -> bool:
    """Check (and with ``create``, set up) the tables and the feature file's fingerprint; True if they exist.

    Raises :class:`CorruptDatabaseError` (not our tables), :class:`ForeignDatabaseError`
    (another feature file's labels) or :class:`AnnotationError` (a newer schema).
    """
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        if not create:
            return False
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("BEGIN IMMEDIATE")
        try:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    con.execute(statement)
            if con.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 0:
                con.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('fingerprint', ?)", (fingerprint,))
            con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('created', ?)", (utc_now(),))
            con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('n_items', ?)", (str(n_items),))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"schema_version", "meta", "actions"} <= tables:
        raise CorruptDatabaseError(
            f"{path} is an SQLite database but not a cmcsl-studio annotation database "
            f"(tables: {', '.join(sorted(tables)) or 'none'})"
        )
    row = con.execute("SELECT MAX(version) FROM schema_version").fetchone()
    version = row[0] if row else None
    if version is None or int(version) > SCHEMA_VERSION:
        raise AnnotationError(
            f"{path} has annotation schema version {version}; this cmcsl-studio reads version "
            f"{SCHEMA_VERSION} (upgrade cmcsl-studio)"
        )
    fp = con.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
    if fp is None or fp[0] != fingerprint:
        theirs = fp[0] if fp is not None else "none"
        raise ForeignDatabaseError(
            f"{path} holds labels for another feature file (fingerprint {theirs[:12]}, "
            f"this file is {fingerprint[:12]}); use one database per feature file"
        )
    if create:
        mode = con.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = FULL")
    return True
