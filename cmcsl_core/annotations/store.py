"""Human labels in an SQLite database: every action kept, nothing ever lost.

The store is an append-only history of *actions* (standard library :mod:`sqlite3`):

``label``
    an annotator gave an item a class;
``undo``
    an annotator took back their own last label action that was not undone yet.

The current human labels are a fold of that history (:func:`fold`): an item's label
is the one of its latest ``label`` action that has not been undone. Undoing thus
never touches another annotator's later label of the same item, and undoing twice
walks further back.

Durability and concurrency
--------------------------
* WAL journal, ``synchronous=FULL``: a committed action survives a killed process
  (and a power cut).
* One transaction per action (``BEGIN IMMEDIATE``), so concurrent writers
  (browser tabs, processes) serialise instead of losing updates; a writer waits up
  to ``timeout`` seconds (``busy_timeout``) for another one, then fails with
  :class:`DatabaseLockedError` (saying how long it really waited) and writes nothing.
* A new database: SQLite answers the switch to WAL on a fresh file with BUSY at once,
  without calling the busy handler, when another connection is creating the same
  file (two annotators starting together). Every read and write is therefore retried
  on "locked" / "busy" until ``timeout`` seconds have passed in all (a few ms apart).
* One connection per thread and process, kept open (closing the last connection
  of a WAL database checkpoints and fsyncs, tripling the cost of an action); it
  is reopened after a fork, after a database error, and when the file was moved
  or replaced. A store object is thus safe to share between threads (Streamlit
  sessions) and processes.

One database per feature file
-----------------------------
The first write stores the feature file's :func:`~cmcsl_core.annotations.fingerprint.fingerprint`
in the ``meta`` table; a database written for another file is refused
(:class:`ForeignDatabaseError`). Inputs are validated before the database is
touched: an unknown class or item writes nothing (and creates no file).
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np

from cmcsl_core.annotations.fingerprint import fingerprint as feature_fingerprint
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.errors import CMCSLError
from cmcsl_core.types import PathLike

__all__ = [
    "SCHEMA_VERSION",
    "DB_ENV",
    "DEFAULT_TIMEOUT",
    "AnnotationError",
    "DatabaseLockedError",
    "CorruptDatabaseError",
    "ForeignDatabaseError",
    "Action",
    "HumanLabels",
    "AnnotationStore",
    "fold",
    "data_dir",
    "default_db_path",
    "ANNOTATOR_ENV",
    "default_annotator",
    "utc_now",
]

SCHEMA_VERSION = 1
"""Version of the tables below (stored in the ``schema_version`` table)."""

DB_ENV = "CMCSL_DB"
"""Environment variable naming the database when no path is given."""

DB_SUFFIXES = (".sqlite", ".sqlite3", ".db")
"""Names of database files: an existing empty file is made a database only when named so."""

DEFAULT_TIMEOUT = 5.0
"""Seconds a writer waits for another writer before giving up (``busy_timeout``)."""

_SCHEMA = """
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

_COLUMNS = "id, fingerprint, item, item_index, label, annotator, time, previous, kind, undoes"


class AnnotationError(CMCSLError):
    """An annotation cannot be stored or read (bad item/class, unusable database)."""


class DatabaseLockedError(AnnotationError):
    """Another connection held the database longer than the busy timeout."""


class CorruptDatabaseError(AnnotationError):
    """The file is not a (readable) cmcsl-studio annotation database."""


class ForeignDatabaseError(AnnotationError):
    """The database was written for another feature file."""


@dataclass(frozen=True)
class Action:
    """One row of the history.

    Attributes
    ----------
    id : int
        Position in the history (increasing).
    fingerprint : str
        Fingerprint of the feature file.
    item : str
        The item's id, or its index as text when the file has no ids.
    index : int
        The item's row in the feature file.
    label : str or None
        ``label``: the class given. ``undo``: the item's human label after the undo
        (None: no human label any more).
    annotator : str
        Who acted.
    time : str
        UTC time, ISO 8601 (``2026-01-31T12:00:00.000000Z``).
    previous : str or None
        The item's human label just before this action (None: none).
    kind : str
        ``"label"`` or ``"undo"``.
    undoes : int or None
        ``undo`` only: the id of the label action taken back.
    """

    id: int
    fingerprint: str
    item: str
    index: int
    label: str | None
    annotator: str
    time: str
    previous: str | None
    kind: str
    undoes: int | None

    def describe(self) -> str:
        """One line for a log or the CLI."""
        before = self.previous if self.previous is not None else "(none)"
        after = self.label if self.label is not None else "(none)"
        verb = "labelled" if self.kind == "label" else f"undid action {self.undoes} on"
        return f"#{self.id} {self.annotator} {verb} item {self.item}: {before} -> {after} at {self.time}"


@dataclass(frozen=True)
class HumanLabels:
    """The current human labels (the fold of the history), sorted by item index.

    Attributes
    ----------
    index : ndarray of int, shape (H,)
        Rows of the labelled items.
    labels : ndarray of int, shape (H,)
        Their classes (positions in ``class_names``).
    annotators : tuple of str
        Who gave each label.
    action_ids : ndarray of int, shape (H,)
        The label action in force for each item.
    """

    index: np.ndarray
    labels: np.ndarray
    annotators: tuple[str, ...]
    action_ids: np.ndarray

    @classmethod
    def empty(cls) -> "HumanLabels":
        """No human labels."""
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none.copy(), (), none.copy())

    def __len__(self) -> int:
        return int(self.index.size)

    def mask(self, n_items: int) -> np.ndarray:
        """Boolean mask (N,) of the human-labelled items."""
        out = np.zeros(n_items, dtype=bool)
        out[self.index] = True
        return out

    def as_dict(self, class_names: Sequence[str]) -> dict[int, str]:
        """``{item index: class name}``."""
        return {int(i): class_names[int(c)] for i, c in zip(self.index, self.labels)}


def fold(actions: Iterable[Action]) -> dict[int, Action]:
    """The label action in force per item: the latest ``label`` action not undone.

    Parameters
    ----------
    actions : iterable of Action
        Any part of a history that holds every action of the items concerned.

    Returns
    -------
    dict
        ``{item index: Action}`` for the items with a human label.
    """
    ordered = sorted(actions, key=lambda a: a.id)
    undone = {a.undoes for a in ordered if a.kind == "undo"}
    current: dict[int, Action] = {}
    for a in ordered:
        if a.kind == "label" and a.id not in undone:
            current[a.index] = a
    return current


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


def utc_now() -> str:
    """The current UTC time as ISO 8601 with microseconds and a ``Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_T = TypeVar("_T")


def _is_locked(exc: BaseException) -> bool:
    """Whether SQLite said the database is locked or busy (another connection holds it)."""
    if isinstance(exc, DatabaseLockedError):
        return True
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    lowered = str(exc).lower()
    return "locked" in lowered or "busy" in lowered


def _row_to_action(row: Sequence[object]) -> Action:
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


class AnnotationStore:
    """The human labels of one feature file, in an SQLite database.

    Parameters
    ----------
    fs : FeatureSet
        The feature file the labels refer to (its ids, classes and fingerprint).
    path : path, optional
        The database (created on the first write). Default :func:`default_db_path`
        for this feature file.
    timeout : float
        Seconds to wait for another writer before :class:`DatabaseLockedError`.
    fingerprint : str, optional
        ``fingerprint(fs)`` if already known (it hashes every feature array).
    independent : bool
        Annotators label independently (a served class): an action's ``previous`` label
        and an undo's resulting label are those of its annotator's own history, so that
        nothing an annotator does or sees tells them another annotator's label.

    Raises
    ------
    AnnotationError
        If ``timeout`` is negative or the path is a folder.
    """

    def __init__(
        self,
        fs: FeatureSet,
        path: PathLike | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        fingerprint: str | None = None,
        independent: bool = False,
    ) -> None:
        if not (math.isfinite(timeout) and timeout >= 0):
            raise AnnotationError(f"the busy timeout must be a number of seconds >= 0, got {timeout}")
        self.fingerprint = fingerprint or feature_fingerprint(fs)
        self._default_path = path is None
        self.path = Path(path) if path is not None else default_db_path(self.fingerprint)
        if self.path.is_dir():
            raise AnnotationError(f"annotation database {self.path} is a folder; give a file name")
        try:  # an existing empty file that is not named as a database is someone else's (an empty __init__.py)
            self._foreign_empty = self.path.stat().st_size == 0 and self.path.suffix.lower() not in DB_SUFFIXES
        except OSError:
            self._foreign_empty = False
        self.timeout = float(timeout)
        self.independent = bool(independent)
        self.n_items = fs.n_items
        self.class_names = fs.class_names
        self.ids = fs.ids
        self._id_index: dict[str, int] = {}
        for i, v in enumerate(fs.ids or ()):
            self._id_index.setdefault(v, i)  # a repeated id means its first item
        self._local = threading.local()

    # ----------------------------------------------------------- validation
    def resolve_item(self, item: int | str | np.integer) -> int:
        """The row of ``item``: an id of the file, else an index 0..N-1.

        Ids take precedence over indices (a file whose ids are numbers is addressed
        by id). Raises :class:`AnnotationError` for anything else.
        """
        if isinstance(item, (bool, np.bool_)):
            raise AnnotationError(f"item {item!r} is not an id or an index")
        if isinstance(item, str):
            key = item.strip()
            if key in self._id_index:
                return self._id_index[key]
            try:
                value = int(key)
            except ValueError:
                what = "an id of this feature file" if self.ids is not None else "an item index"
                raise AnnotationError(
                    f"item {item!r} is not {what} (items are numbered 0..{self.n_items - 1})"
                ) from None
        else:
            value = int(item)
        if not 0 <= value < self.n_items:
            raise AnnotationError(f"item {value} is out of range: items are numbered 0..{self.n_items - 1}")
        return value

    def resolve_label(self, label: str | int | np.integer) -> str:
        """The class name for ``label`` (exact, else a unique case-insensitive match)."""
        if not isinstance(label, str):
            raise AnnotationError(f"a label is a class name, got {label!r}; classes: {', '.join(self.class_names)}")
        text = label.strip()
        if text in self.class_names:
            return text
        folded = [c for c in self.class_names if c.lower() == text.lower()]
        if len(folded) == 1:
            return folded[0]
        raise AnnotationError(f"unknown class {label!r}; this feature file has {', '.join(self.class_names)}")

    def item_key(self, index: int) -> str:
        """How item ``index`` is written in the database (its id, or the index)."""
        return self.ids[index] if self.ids is not None else str(index)

    @staticmethod
    def _check_annotator(annotator: str) -> str:
        name = str(annotator).strip()
        if not name:
            raise AnnotationError("the annotator's name must not be empty")
        return name

    # ------------------------------------------------------------ database
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None, check_same_thread=False)
        con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        return con

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """This thread's open connection (reopened after a fork, or when the file was moved or replaced).

        Keeping it open matters: closing the last connection of a WAL database
        checkpoints and fsyncs, which would triple the cost of every action. A
        connection that hit a database error is closed and not reused.
        """
        local = self._local
        try:
            ident = (os.getpid(), os.stat(self.path).st_ino)
        except OSError:
            ident = (os.getpid(), -1)
        con: sqlite3.Connection | None = getattr(local, "con", None)
        if con is None or getattr(local, "ident", None) != ident or ident[1] == -1:
            self.close()
            con = self._connect()
            try:
                ident = (os.getpid(), os.stat(self.path).st_ino)
            except OSError:
                ident = (os.getpid(), -1)
            local.con, local.ident = con, ident
        try:
            yield con
        except sqlite3.Error:
            self.close()
            raise

    def close(self) -> None:
        """Close this thread's connection (it reopens on the next use)."""
        con = getattr(self._local, "con", None)
        self._local.con = None
        if con is not None:
            try:
                con.close()
            except sqlite3.Error:
                pass

    def _translate(self, exc: BaseException, waited: float | None = None) -> AnnotationError:
        message = str(exc)
        lowered = message.lower()
        if isinstance(exc, AnnotationError):
            return exc
        if _is_locked(exc):
            spent = self.timeout if waited is None else waited
            return DatabaseLockedError(
                f"annotation database {self.path} is locked by another program "
                f"(waited {spent:.2f} s); nothing was written, try again"
            )
        if isinstance(exc, sqlite3.DatabaseError) and (
            "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered or "file is" in lowered
        ):
            return CorruptDatabaseError(
                f"{self.path} is not a readable annotation database ({message}); "
                "move it aside to start a new one"
            )
        if "unable to open" in lowered or "readonly" in lowered or "read-only" in lowered:
            return AnnotationError(f"cannot write annotation database {self.path} ({message})")
        return AnnotationError(f"annotation database {self.path}: {message}")

    def _check(self, con: sqlite3.Connection, create: bool) -> bool:
        """Check (and with ``create``, set up) the schema and fingerprint; True if the tables exist."""
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            if not create:
                return False
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        con.execute(statement)
                if con.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 0:
                    con.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
                con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('fingerprint', ?)", (self.fingerprint,))
                con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('created', ?)", (utc_now(),))
                con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('n_items', ?)", (str(self.n_items),))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"schema_version", "meta", "actions"} <= tables:
            raise CorruptDatabaseError(
                f"{self.path} is an SQLite database but not a cmcsl-studio annotation database "
                f"(tables: {', '.join(sorted(tables)) or 'none'})"
            )
        row = con.execute("SELECT MAX(version) FROM schema_version").fetchone()
        version = row[0] if row else None
        if version is None or int(version) > SCHEMA_VERSION:
            raise AnnotationError(
                f"{self.path} has annotation schema version {version}; this cmcsl-studio reads version "
                f"{SCHEMA_VERSION} (upgrade cmcsl-studio)"
            )
        fp = con.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        if fp is None or fp[0] != self.fingerprint:
            theirs = fp[0] if fp is not None else "none"
            raise ForeignDatabaseError(
                f"{self.path} holds labels for another feature file (fingerprint {theirs[:12]}, "
                f"this file is {self.fingerprint[:12]}); use one database per feature file"
            )
        if create:
            mode = con.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = FULL")
        return True

    def _item_actions(self, con: sqlite3.Connection, index: int) -> list[Action]:
        rows = con.execute(f"SELECT {_COLUMNS} FROM actions WHERE item_index = ? ORDER BY id", (index,))
        return [_row_to_action(r) for r in rows]

    def _current_label(
        self, con: sqlite3.Connection, index: int, skip: int | None = None, annotator: str | None = None
    ) -> str | None:
        actions = self._item_actions(con, index)
        if self.independent and annotator is not None:
            actions = [a for a in actions if a.annotator == annotator]
        if skip is not None:
            actions = [a for a in actions if a.id != skip]
        now = fold(actions).get(index)
        return None if now is None else now.label

    def _insert(
        self,
        con: sqlite3.Connection,
        index: int,
        label: str | None,
        annotator: str,
        previous: str | None,
        kind: str,
        undoes: int | None = None,
        time: str | None = None,
    ) -> Action:
        time = time or utc_now()
        item = self.item_key(index)
        cur = con.execute(
            "INSERT INTO actions (fingerprint, item, item_index, label, annotator, time, previous, kind, undoes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.fingerprint, item, index, label, annotator, time, previous, kind, undoes),
        )
        return Action(
            id=int(cur.lastrowid or 0),
            fingerprint=self.fingerprint,
            item=item,
            index=index,
            label=label,
            annotator=annotator,
            time=time,
            previous=previous,
            kind=kind,
            undoes=undoes,
        )

    def _patiently(self, attempt: Callable[[], _T]) -> _T:
        """``attempt()``, again while SQLite answers "locked" or "busy", until ``timeout`` seconds in all.

        The busy handler covers a writer that holds the database, but not the switch
        to WAL on a new file, which fails at once while another connection creates it.
        Other errors are translated at once. The error after the timeout says how long
        was really waited.
        """
        start = time.monotonic()
        pause = 0.002
        while True:
            try:
                return attempt()
            except (sqlite3.Error, AnnotationError) as exc:
                waited = time.monotonic() - start
                if not _is_locked(exc) or waited >= self.timeout:
                    raise self._translate(exc, waited) from None
            time.sleep(min(pause, max(self.timeout - waited, 0.0)))
            pause = min(pause * 2, 0.05)

    def _write(self, work: Callable[[sqlite3.Connection], list[Action]]) -> list[Action]:
        """Run ``work(con)`` in one ``BEGIN IMMEDIATE`` transaction; errors roll everything back."""
        if self._foreign_empty:
            raise AnnotationError(
                f"{self.path} is an existing empty file, not an annotation database; give a new file name "
                f"(or one ending in {', '.join(DB_SUFFIXES)})"
            )
        if self._default_path:
            self.path.parent.mkdir(parents=True, exist_ok=True)

        def attempt() -> list[Action]:
            with self._connection() as con:
                self._check(con, create=True)
                con.execute("BEGIN IMMEDIATE")
                try:
                    actions = work(con)
                    con.execute("COMMIT")
                except BaseException:
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                    raise
                return actions

        return self._patiently(attempt)

    def _read(self, annotator: str | None = None) -> list[Action]:
        if not self.path.exists():
            return []

        def attempt() -> list[Action]:
            with self._connection() as con:
                if not self._check(con, create=False):
                    return []
                if annotator is None:
                    rows = con.execute(f"SELECT {_COLUMNS} FROM actions ORDER BY id").fetchall()
                else:
                    rows = con.execute(
                        f"SELECT {_COLUMNS} FROM actions WHERE annotator = ? ORDER BY id", (annotator,)
                    ).fetchall()
            return [_row_to_action(r) for r in rows]

        return self._patiently(attempt)

    # ------------------------------------------------------------- actions
    def label(self, item: int | str | np.integer, label: str, annotator: str) -> Action:
        """Give ``item`` the class ``label``, as ``annotator``; one committed action.

        Raises
        ------
        AnnotationError
            Unknown item or class, empty annotator (nothing written, no file
            created), or an unusable database (nothing written).
        """
        return self.label_many([item], [label], annotator)[0]

    def label_many(
        self,
        items: Sequence[int | str | np.integer],
        labels: Sequence[str],
        annotator: str | Sequence[str],
    ) -> list[Action]:
        """Label several items in ONE transaction (a lasso selection, an import): all or nothing.

        ``annotator`` is one name for all, or one per item. Every item and class is
        validated before the database is opened.
        """
        if len(items) != len(labels):
            raise AnnotationError(f"{len(items)} items but {len(labels)} labels")
        names = [annotator] * len(items) if isinstance(annotator, str) else list(annotator)
        if len(names) != len(items):
            raise AnnotationError(f"{len(items)} items but {len(names)} annotator names")
        rows = [self.resolve_item(i) for i in items]
        classes = [self.resolve_label(c) for c in labels]
        who = [self._check_annotator(n) for n in names]
        if not rows:
            return []

        def work(con: sqlite3.Connection) -> list[Action]:
            done: list[Action] = []
            time = utc_now()
            for index, cls, name in zip(rows, classes, who):
                previous = self._current_label(con, index, annotator=name)
                done.append(self._insert(con, index, cls, name, previous, "label", time=time))
            return done

        return self._write(work)

    def undo(self, annotator: str) -> Action:
        """Take back ``annotator``'s last label action that is not undone yet (recorded as an action).

        Raises
        ------
        AnnotationError
            If that annotator has nothing left to undo (nothing written).
        """
        name = self._check_annotator(annotator)

        def work(con: sqlite3.Connection) -> list[Action]:
            row = con.execute(
                f"SELECT {_COLUMNS} FROM actions AS a WHERE annotator = ? AND kind = 'label' "
                "AND NOT EXISTS (SELECT 1 FROM actions AS u WHERE u.undoes = a.id) ORDER BY id DESC LIMIT 1",
                (name,),
            ).fetchone()
            if row is None:
                raise AnnotationError(f"annotator {name!r} has nothing to undo")
            target = _row_to_action(row)
            before = self._current_label(con, target.index, annotator=name)
            after = self._current_label(con, target.index, skip=target.id, annotator=name)
            return [self._insert(con, target.index, after, name, before, "undo", undoes=target.id)]

        return self._write(work)[0]

    # -------------------------------------------------------------- reading
    def history(self, annotator: str | None = None) -> list[Action]:
        """Every action, oldest first (optionally one annotator's). Empty if no database yet."""
        return self._read(annotator)

    def current(self, annotator: str | None = None) -> HumanLabels:
        """The human labels in force (the :func:`fold` of the history).

        With ``annotator``: that annotator's own labels only (the fold of their own
        actions), as if they labelled alone; a served class works this way, so that
        every visitor labels independently and the teacher compares them.
        """
        return self.current_from(self._read(annotator))

    def current_from(self, actions: Iterable[Action]) -> HumanLabels:
        """:meth:`current` of an already read history."""
        state = fold(actions)
        if not state:
            return HumanLabels.empty()
        order = sorted(state)
        lookup = {c: i for i, c in enumerate(self.class_names)}
        return HumanLabels(
            index=np.asarray(order, dtype=np.int64),
            labels=np.asarray([lookup[str(state[i].label)] for i in order], dtype=np.int64),
            annotators=tuple(state[i].annotator for i in order),
            action_ids=np.asarray([state[i].id for i in order], dtype=np.int64),
        )

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` (``"ok"`` for a sound file)."""

        def attempt() -> str:
            with self._connection() as con:
                return "\n".join(str(r[0]) for r in con.execute("PRAGMA integrity_check"))

        return self._patiently(attempt)

    def __iter__(self) -> Iterator[Action]:
        return iter(self.history())

    def __repr__(self) -> str:
        return f"AnnotationStore({str(self.path)!r}, fingerprint={self.fingerprint[:12]!r})"

