"""Per-item row cache (cmcsl_core.cache.cached_rows) and the atomic writer's file mode (cmcsl_core.fileio)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmcsl_core import cache
from cmcsl_core.cache import MAX_SHARDS, cached_rows
from cmcsl_core.fileio import file_digest, new_file_mode, write_atomically


def row_of(key: str) -> np.ndarray:
    """A deterministic row per key (what a fake encoder would give)."""
    seed = int.from_bytes(key.encode()[:8].ljust(8, b"\0"), "little")
    return np.random.default_rng(seed).standard_normal(3).astype(np.float32)


class Counting:
    """A ``compute`` recording the keys it was asked for."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, todo: list[str]) -> dict[str, np.ndarray]:
        self.calls.append(list(todo))
        return {
            "features": np.stack([row_of(k) for k in todo]),
            "reasons": np.asarray([k[:1] for k in todo], dtype=str),
        }


def shards(identity: str = "enc") -> list[Path]:
    return sorted(cache._rows_folder("t", identity).glob("*.npz"))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.sampled_from([f"k{i}" for i in range(30)]), max_size=12), min_size=1, max_size=14))
def test_rows_are_right_and_each_key_is_computed_once(tmp_path_factory, batches) -> None:
    """Brute force: any sequence of calls gives every key its row, computing a key the first time only."""
    old = os.environ.get("CMCSL_CACHE_DIR")
    os.environ["CMCSL_CACHE_DIR"] = str(tmp_path_factory.mktemp("rows"))
    try:
        _check_calls(batches)
    finally:
        if old is None:
            os.environ.pop("CMCSL_CACHE_DIR", None)
        else:
            os.environ["CMCSL_CACHE_DIR"] = old


def _check_calls(batches: list[list[str]]) -> None:
    compute = Counting()
    seen: set[str] = set()
    for keys in batches:
        before = len(compute.calls)
        out = cached_rows("t", "enc", keys, compute)
        if not keys:
            assert out == {} and len(compute.calls) == before
            continue
        np.testing.assert_array_equal(out["features"], np.stack([row_of(k) for k in keys]))
        assert out["reasons"].tolist() == [k[:1] for k in keys]
        new = list(dict.fromkeys(k for k in keys if k not in seen))
        assert compute.calls[before:] == ([new] if new else [])
        seen.update(keys)
        assert len(shards()) <= MAX_SHARDS


def test_identities_are_separate_and_disabled_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path))
    compute = Counting()
    cached_rows("t", "enc", ["a", "b"], compute)
    cached_rows("t", "other", ["a", "b"], compute)
    assert compute.calls == [["a", "b"], ["a", "b"]]
    cached_rows("t", "third", ["a"], compute, enabled=False)
    cached_rows("t", "enc", ["a", "c"], compute, enabled=False)
    assert compute.calls[2:] == [["a"], ["a", "c"]] and not shards("third") and len(shards()) == 1


def test_merging_keeps_every_row(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path))
    compute = Counting()
    keys = [f"key{i}" for i in range(MAX_SHARDS + 3)]
    for k in keys:  # one shard per call, merged once past MAX_SHARDS
        cached_rows("t", "enc", [k], compute)
    assert len(shards()) < MAX_SHARDS
    out = cached_rows("t", "enc", keys[::-1], compute)
    assert len(compute.calls) == len(keys)  # all served from the shards
    np.testing.assert_array_equal(out["features"], np.stack([row_of(k) for k in keys[::-1]]))


def test_a_broken_or_vanished_shard_is_computed_again(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path))
    compute = Counting()
    cached_rows("t", "enc", ["a", "b"], compute)
    cached_rows("t", "enc", ["c"], compute)
    broken = next(p for p in shards() if p.stat().st_size == max(q.stat().st_size for q in shards()))
    broken.write_bytes(b"not an npz")
    out = cached_rows("t", "enc", ["a", "b", "c"], compute)
    assert compute.calls[-1] == ["a", "b"]
    np.testing.assert_array_equal(out["features"], np.stack([row_of(k) for k in "abc"]))


def test_rows_of_another_width_under_one_identity_are_recomputed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path))
    cached_rows("t", "enc", ["a"], lambda todo: {"features": np.zeros((len(todo), 5))})
    out = cached_rows("t", "enc", ["a", "b"], lambda todo: {"features": np.ones((len(todo), 2))})
    np.testing.assert_array_equal(out["features"], np.ones((2, 2)))


def test_compute_must_return_one_row_per_key(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="one row per key"):
        cached_rows("t", "enc", ["a", "b"], lambda todo: {"features": np.zeros((1, 2))})


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_files_get_the_umask_mode(tmp_path: Path, monkeypatch, umask: int) -> None:
    """Atomic writes (and so cache shards) give new files 0o666 & ~umask, not mkstemp's 0o600."""
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path / "cache"))
    old = os.umask(umask)
    try:
        assert new_file_mode() == 0o666 & ~umask
        write_atomically(tmp_path / "x.bin", lambda fh: fh.write(b"x"))
        assert (tmp_path / "x.bin").stat().st_mode & 0o777 == 0o666 & ~umask
        cached_rows("t", "enc", ["a"], Counting())
        assert {p.stat().st_mode & 0o777 for p in shards()} == {0o666 & ~umask}
    finally:
        os.umask(old)
    assert file_digest(tmp_path / "x.bin") == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    assert file_digest(tmp_path / "absent") is None
