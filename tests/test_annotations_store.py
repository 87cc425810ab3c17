"""The annotation store: durable, concurrent, refuses foreign or broken databases, writes nothing on errors."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from cmcsl_core.annotations import (
    AnnotationError,
    AnnotationStore,
    CorruptDatabaseError,
    DatabaseLockedError,
    ForeignDatabaseError,
    default_db_path,
    replay,
)
from cmcsl_core.annotations.fingerprint import fingerprint
from cmcsl_core.annotations.schema import SCHEMA_VERSION
from cmcsl_core.datasets.features import load_features, save_features
from cmcsl_core.errors import CMCSLError
from tests.helpers_core import synthetic_features

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def fs():
    return synthetic_features((30, 20, 25), with_ids=True, class_names=("Horror", "Romance", "Drama"))


@pytest.fixture()
def store(fs, tmp_path):
    return AnnotationStore(fs, tmp_path / "ann.sqlite")


def test_round_trip_labels_history_and_replay(fs, store, tmp_path) -> None:
    a1 = store.label(3, "Horror", "ann")
    a2 = store.label("tt1005", "Romance", "bob")  # by id
    a3 = store.label("3", "Drama", "bob")  # an index given as text; relabels item 3
    assert (a1.previous, a3.previous) == (None, "Horror")
    assert a2.index == 5 and a2.item == "tt1005" and a1.item == "tt1003"
    assert a1.time.endswith("Z") and a1.fingerprint == fingerprint(fs)
    # a new store object on the same file (an app restart) sees the same state
    again = AnnotationStore(fs, tmp_path / "ann.sqlite")
    hist = again.history()
    assert [h.id for h in hist] == [a1.id, a2.id, a3.id]
    assert hist == [a1, a2, a3]
    cur = again.current()
    assert cur.as_dict(fs.class_names) == {3: "Drama", 5: "Romance"}
    assert cur.annotators == ("bob", "bob")
    assert list(cur.index) == [3, 5] and list(cur.labels) == [2, 1]
    assert again.integrity_check() == "ok"
    con = sqlite3.connect(tmp_path / "ann.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert con.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()[0] == fingerprint(fs)
    con.close()


def test_label_many_is_one_transaction_and_case_insensitive_class(fs, store) -> None:
    done = store.label_many([1, 2, 3], ["horror", "ROMANCE", "Drama"], "ann")
    assert [a.label for a in done] == ["Horror", "Romance", "Drama"]
    assert len({a.time for a in done}) == 1
    with pytest.raises(AnnotationError, match="unknown class 'Comedy'"):
        store.label_many([4, 5], ["Horror", "Comedy"], "ann")
    assert len(store.history()) == 3  # the valid first row was not written either


def test_undo_takes_back_own_last_action_only_and_keeps_history(fs, store) -> None:
    store.label(1, "Horror", "ann")
    store.label(2, "Horror", "ann")
    store.label(2, "Romance", "bob")  # bob overrides ann on item 2
    u = store.undo("ann")  # ann's last action: item 2 -> Horror; bob's later label stays
    assert u.kind == "undo" and u.index == 2 and u.previous == "Romance" and u.label == "Romance"
    assert store.current().as_dict(fs.class_names) == {1: "Horror", 2: "Romance"}
    u2 = store.undo("ann")  # walks further back: item 1
    assert (u2.index, u2.previous, u2.label) == (1, "Horror", None)
    assert store.current().as_dict(fs.class_names) == {2: "Romance"}
    with pytest.raises(AnnotationError, match="'ann' has nothing to undo"):
        store.undo("ann")
    u3 = store.undo("bob")  # item 2 goes back to ann's label? no: ann's was undone -> none
    assert (u3.index, u3.previous, u3.label) == (2, "Romance", None)
    hist = store.history()
    assert [h.kind for h in hist] == ["label", "label", "label", "undo", "undo", "undo"]
    assert len(store.current()) == 0
    # the replay of the stored history equals the replay recomputed from scratch
    assert replay(hist) == {}


def test_undo_restores_the_earlier_label_of_another_annotator(fs, store) -> None:
    store.label(7, "Horror", "ann")
    store.label(7, "Drama", "bob")
    u = store.undo("bob")
    assert (u.previous, u.label) == ("Drama", "Horror")
    assert store.current().as_dict(fs.class_names) == {7: "Horror"}
    assert store.current().annotators == ("ann",)


def test_replay_matches_a_brute_force_replay_on_random_histories(fs, store) -> None:
    rng = np.random.default_rng(0)
    who = ["a", "b", "c"]
    expected: dict[int, list[tuple[str, str, int]]] = {}  # item -> stack of (label, annotator, id)
    for _step in range(120):
        name = who[rng.integers(3)]
        if rng.random() < 0.3:
            try:
                u = store.undo(name)
            except AnnotationError:
                continue
            stack = expected[u.index]
            pos = max(i for i, e in enumerate(stack) if e[2] == u.undoes)
            stack.pop(pos)
        else:
            item = int(rng.integers(10))
            cls = fs.class_names[int(rng.integers(3))]
            a = store.label(item, cls, name)
            expected.setdefault(item, []).append((cls, name, a.id))
    want = {i: s[-1][0] for i, s in expected.items() if s}
    assert store.current().as_dict(fs.class_names) == want


@pytest.mark.parametrize(
    "item, label, annotator, message",
    [
        (75, "Horror", "ann", "item 75 is out of range"),
        (-1, "Horror", "ann", "out of range"),
        ("tt9999", "Horror", "ann", "not an id of this feature file"),
        (1, "Comedy", "ann", "unknown class 'Comedy'; this feature file has Horror, Romance, Drama"),
        (1, "Horror", "  ", "annotator's name must not be empty"),
    ],
)
def test_bad_input_writes_nothing_and_creates_no_file(fs, tmp_path, item, label, annotator, message) -> None:
    path = tmp_path / "new.sqlite"
    st = AnnotationStore(fs, path)
    with pytest.raises(AnnotationError, match=message):
        st.label(item, label, annotator)
    assert not path.exists()
    st.label(0, "Horror", "ann")
    with pytest.raises(CMCSLError, match=message):
        st.label(item, label, annotator)
    assert len(st.history()) == 1


def test_foreign_fingerprint_is_refused(fs, store, tmp_path) -> None:
    store.label(0, "Horror", "ann")
    other = synthetic_features((30, 20, 25), with_ids=True, class_names=("Horror", "Romance", "Drama"), seed=1)
    foreign = AnnotationStore(other, tmp_path / "ann.sqlite")
    with pytest.raises(ForeignDatabaseError, match="labels for another feature file"):
        foreign.label(0, "Horror", "ann")
    with pytest.raises(ForeignDatabaseError):
        foreign.current()
    assert len(store.history()) == 1


def test_fingerprint_is_stable_and_content_sensitive(fs, tmp_path) -> None:
    path = save_features(fs, tmp_path / "f.npz")
    assert fingerprint(load_features(path)) == fingerprint(fs)
    X = [x.copy() for x in fs.X]
    X[1][4, 2] += 1e-9
    changed = type(fs)(fs.modality_names, tuple(X), fs.y, fs.class_names, ids=fs.ids)
    assert fingerprint(changed) != fingerprint(fs)
    renamed = type(fs)(fs.modality_names, fs.X, fs.y, ("Horror", "Romance", "Comedy"), ids=fs.ids)
    assert fingerprint(renamed) != fingerprint(fs)
    reordered = fs.subset(np.arange(fs.n_items)[::-1])
    assert fingerprint(reordered) != fingerprint(fs)
    relabelled = type(fs)(fs.modality_names, fs.X, np.roll(fs.y, 1), fs.class_names, ids=fs.ids)
    assert fingerprint(relabelled) == fingerprint(fs)  # true labels are not part of the identity


def test_corrupt_file_is_one_clear_error_and_left_alone(fs, tmp_path) -> None:
    path = tmp_path / "garbage.sqlite"
    junk = os.urandom(8192)
    path.write_bytes(junk)
    st = AnnotationStore(fs, path)
    for call in (lambda: st.label(0, "Horror", "ann"), st.current, st.history):
        with pytest.raises(CorruptDatabaseError, match="is not a readable annotation database"):
            call()
    assert path.read_bytes() == junk


def test_truncated_database_is_reported(fs, store) -> None:
    for i in range(50):
        store.label(i, "Horror", "ann")
    con = sqlite3.connect(store.path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = store.path.read_bytes()
    store.path.write_bytes(data[:100] + b"\xff" * 200 + data[300:])  # smash the header's page-size area
    with pytest.raises(CorruptDatabaseError):
        store.current()


def test_another_sqlite_database_is_refused(fs, tmp_path) -> None:
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE people (name TEXT)")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(CorruptDatabaseError, match="not a cmcsl-studio annotation database"):
        AnnotationStore(fs, path).label(0, "Horror", "ann")
    assert path.read_bytes() == before


def test_locked_database_fails_after_the_busy_timeout_and_writes_nothing(fs, store) -> None:
    store.label(0, "Horror", "ann")
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        quick = AnnotationStore(fs, store.path, timeout=0.3)
        t0 = time.perf_counter()
        with pytest.raises(DatabaseLockedError, match="is locked by another program .*nothing was written"):
            quick.label(1, "Romance", "ann")
        assert time.perf_counter() - t0 >= 0.25  # it did wait for the busy timeout
        with pytest.raises(DatabaseLockedError):
            quick.undo("ann")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert [a.index for a in store.history()] == [0]


def test_default_path_uses_env_then_xdg(fs, monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("CMCSL_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    fp = fingerprint(fs)
    assert default_db_path() == tmp_path / "xdg" / "cmcsl-studio" / "annotations.sqlite"
    assert default_db_path(fp) == tmp_path / "xdg" / "cmcsl-studio" / f"annotations-{fp[:16]}.sqlite"
    st = AnnotationStore(fs)
    st.label(0, "Drama", "ann")  # creates the data folder
    assert st.path == default_db_path(fp) and st.path.exists()
    monkeypatch.setenv("CMCSL_DB", str(tmp_path / "env.sqlite"))
    assert AnnotationStore(fs).path == tmp_path / "env.sqlite"


# ------------------------------------------------------------------ other processes

WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from cmcsl_core.annotations.store import AnnotationStore
    from cmcsl_core.datasets.features import load_features
    fs = load_features(sys.argv[1])
    store = AnnotationStore(fs, sys.argv[2], timeout=30)
    name, count = sys.argv[3], int(sys.argv[4])
    import os, time
    if len(sys.argv) > 5:  # start together: announce readiness, wait for the go file
        open(sys.argv[5] + "." + name, "w").close()
        while not os.path.exists(sys.argv[5]):
            time.sleep(0.005)
    for k in range(count):
        item = k % fs.n_items
        a = store.label(item, fs.class_names[(k + len(name)) % fs.n_items % len(fs.class_names)], name)
        print(a.id, a.index, a.label, flush=True)
        if len(sys.argv) > 5:
            time.sleep(0.002)  # a breath between actions, or SQLite's busy handler lets one writer starve the other
    """
)


def _writer(tmp_path: Path, fs) -> tuple[Path, Path]:
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=str(REPO_ROOT)))
    features = save_features(fs, tmp_path / "f.npz")
    return script, features


def test_two_processes_writing_at_once_lose_nothing(fs, tmp_path) -> None:
    script, features = _writer(tmp_path, fs)
    db = tmp_path / "shared.sqlite"
    count = 300
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(features), str(db), name, str(count), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("ann", "bob")
    ]
    deadline = time.monotonic() + 120
    while not all(Path(f"{go}.{n}").exists() for n in ("ann", "bob")) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    hist = AnnotationStore(fs, db).history()
    assert len(hist) == 2 * count
    assert sorted(h.id for h in hist) == list(range(1, 2 * count + 1))
    by_id = {h.id: h for h in hist}
    for name, rows in zip(("ann", "bob"), [o[0].splitlines() for o in outs]):
        assert len(rows) == count
        for line in rows:
            id_, index, label = line.split()
            h = by_id[int(id_)]
            assert (h.annotator, h.index, h.label) == (name, int(index), label)
    # 'previous' was read inside each write transaction: replaying the history reproduces it
    state: dict[int, str] = {}
    for h in hist:
        assert h.previous == state.get(h.index)
        state[h.index] = str(h.label)
    # the writers really ran at the same time: their actions interleave
    ids = {name: [h.id for h in hist if h.annotator == name] for name in ("ann", "bob")}
    assert min(ids["ann"]) < max(ids["bob"]) and min(ids["bob"]) < max(ids["ann"])


def test_writer_killed_mid_write_keeps_every_acknowledged_label(fs, tmp_path) -> None:
    script, features = _writer(tmp_path, fs)
    db = tmp_path / "killed.sqlite"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(features), str(db), "ann", "1000000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acked: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while len(acked) < 150 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acked.append(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    acked += proc.stdout.read().splitlines()  # lines printed before the kill
    proc.stdout.close()
    proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) >= 150
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    st = AnnotationStore(fs, db)
    assert st.integrity_check() == "ok"
    by_id = {h.id: h for h in st.history()}
    for line in acked:
        id_, index, label = line.split()
        assert by_id[int(id_)].index == int(index) and by_id[int(id_)].label == label
    # and the database is still writable
    st.label(0, "Drama", "after")
    assert st.current().as_dict(fs.class_names)[0] == "Drama"


def test_moving_the_database_aside_starts_a_new_one(fs, store) -> None:
    store.label(0, "Horror", "ann")  # the store keeps a connection open
    aside = store.path.with_name("old.sqlite")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(store.path) + suffix)
        if src.exists():
            src.rename(str(aside) + suffix)
    store.label(1, "Drama", "ann")
    assert store.current().as_dict(fs.class_names) == {1: "Drama"}
    assert AnnotationStore(fs, aside).current().as_dict(fs.class_names) == {0: "Horror"}


def test_threads_sharing_one_store_lose_nothing(fs, store) -> None:
    import threading

    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            for k in range(40):
                store.label(k % fs.n_items, "Drama", name)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(store.history()) == 160
