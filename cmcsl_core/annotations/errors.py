"""What can go wrong with an annotation database: the error types.

Every one is a :class:`~cmcsl_core.errors.CMCSLError`, so the CLI answers it with one
``error: ...`` line and the app with an ``st.error``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cmcsl_core.errors import CMCSLError

__all__ = [
    "AnnotationError",
    "DatabaseLockedError",
    "CorruptDatabaseError",
    "ForeignDatabaseError",
    "is_locked",
    "translate",
]


class AnnotationError(CMCSLError):
    """An annotation cannot be stored or read (bad item/class, unusable database)."""


class DatabaseLockedError(AnnotationError):
    """Another connection held the database longer than the busy timeout."""


class CorruptDatabaseError(AnnotationError):
    """The file is not a (readable) cmcsl-studio annotation database."""


class ForeignDatabaseError(AnnotationError):
    """The database was written for another feature file."""

def is_locked(exc: BaseException) -> bool:
    """Whether SQLite said the database is locked or busy (another connection holds it)."""
    if isinstance(exc, DatabaseLockedError):
        return True
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    lowered = str(exc).lower()
    return "locked" in lowered or "busy" in lowered


def translate(exc: BaseException, path: Path, timeout: float, waited: float | None = None) -> AnnotationError:
    """The :class:`AnnotationError` for an SQLite error on ``path`` (locked: after ``waited`` or ``timeout`` s)."""
    message = str(exc)
    lowered = message.lower()
    if isinstance(exc, AnnotationError):
        return exc
    if is_locked(exc):
        spent = timeout if waited is None else waited
        return DatabaseLockedError(
            f"annotation database {path} is locked by another program "
            f"(waited {spent:.2f} s); nothing was written, try again"
        )
    if isinstance(exc, sqlite3.DatabaseError) and (
        "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered or "file is" in lowered
    ):
        return CorruptDatabaseError(
            f"{path} is not a readable annotation database ({message}); "
            "move it aside to start a new one"
        )
    if "unable to open" in lowered or "readonly" in lowered or "read-only" in lowered:
        return AnnotationError(f"cannot write annotation database {path} ({message})")
    return AnnotationError(f"annotation database {path}: {message}")
