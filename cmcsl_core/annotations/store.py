"""Human labels in an SQLite database: every action kept, nothing ever lost.

The store is an append-only history of *actions* (standard library :mod:`sqlite3`):

``label``
    an annotator gave an item a class;
``undo``
    an annotator took back their own last label action that was not undone yet.

The current human labels are the replay of that history
(:func:`~cmcsl_core.annotations.actions.replay`): an item's label is the one of its
latest ``label`` action that has not been undone. Undoing thus never touches another
annotator's later label of the same item, and undoing twice walks further back.

This module holds the store; its values are in :mod:`~cmcsl_core.annotations.actions`,
its errors in :mod:`~cmcsl_core.annotations.errors`, its tables in
:mod:`~cmcsl_core.annotations.schema` and its default paths in
:mod:`~cmcsl_core.annotations.paths`.

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
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np

from cmcsl_core.annotations.actions import Action, HumanLabels, replay, utc_now
from cmcsl_core.annotations.errors import (
    AnnotationError,
    is_locked,
    translate,
)
from cmcsl_core.annotations.fingerprint import fingerprint as feature_fingerprint
from cmcsl_core.annotations.paths import DB_SUFFIXES, default_db_path
from cmcsl_core.annotations.schema import COLUMNS, check_schema, row_to_action
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.types import PathLike

# Action and HumanLabels are re-exported: the store's readers and writers return them.
__all__ = ["DEFAULT_TIMEOUT", "AnnotationStore", "Action", "HumanLabels"]

DEFAULT_TIMEOUT = 5.0
"""Seconds a writer waits for another writer before giving up (``busy_timeout``)."""

_T = TypeVar("_T")


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

    def _item_actions(self, con: sqlite3.Connection, index: int) -> list[Action]:
        rows = con.execute(f"SELECT {COLUMNS} FROM actions WHERE item_index = ? ORDER BY id", (index,))
        return [row_to_action(r) for r in rows]

    def _current_label(
        self, con: sqlite3.Connection, index: int, skip: int | None = None, annotator: str | None = None
    ) -> str | None:
        actions = self._item_actions(con, index)
        if self.independent and annotator is not None:
            actions = [a for a in actions if a.annotator == annotator]
        if skip is not None:
            actions = [a for a in actions if a.id != skip]
        now = replay(actions).get(index)
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
                if not is_locked(exc) or waited >= self.timeout:
                    raise translate(exc, self.path, self.timeout, waited) from None
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
                check_schema(con, self.path, self.fingerprint, self.n_items, create=True)
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
                if not check_schema(con, self.path, self.fingerprint, self.n_items, create=False):
                    return []
                if annotator is None:
                    rows = con.execute(f"SELECT {COLUMNS} FROM actions ORDER BY id").fetchall()
                else:
                    rows = con.execute(
                        f"SELECT {COLUMNS} FROM actions WHERE annotator = ? ORDER BY id", (annotator,)
                    ).fetchall()
            return [row_to_action(r) for r in rows]

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
                f"SELECT {COLUMNS} FROM actions AS a WHERE annotator = ? AND kind = 'label' "
                "AND NOT EXISTS (SELECT 1 FROM actions AS u WHERE u.undoes = a.id) ORDER BY id DESC LIMIT 1",
                (name,),
            ).fetchone()
            if row is None:
                raise AnnotationError(f"annotator {name!r} has nothing to undo")
            target = row_to_action(row)
            before = self._current_label(con, target.index, annotator=name)
            after = self._current_label(con, target.index, skip=target.id, annotator=name)
            return [self._insert(con, target.index, after, name, before, "undo", undoes=target.id)]

        return self._write(work)[0]

    # -------------------------------------------------------------- reading
    def history(self, annotator: str | None = None) -> list[Action]:
        """Every action, oldest first (optionally one annotator's). Empty if no database yet."""
        return self._read(annotator)

    def current(self, annotator: str | None = None) -> HumanLabels:
        """The human labels in force (the :func:`~cmcsl_core.annotations.actions.replay` of the history).

        With ``annotator``: that annotator's own labels only (the replay of their own
        actions), as if they labelled alone; a served class works this way, so that
        every visitor labels independently and the teacher compares them.
        """
        return self.current_from(self._read(annotator))

    def current_from(self, actions: Iterable[Action]) -> HumanLabels:
        """:meth:`current` of an already read history."""
        state = replay(actions)
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

