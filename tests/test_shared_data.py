"""Tests that need ``../shared`` fail (not skip) when it is missing, unless CMCSL_ALLOW_NO_SHARED=1."""

from __future__ import annotations

import pytest
from helpers_core import ALLOW_NO_SHARED_ENV, SHARED_DIR, require_shared


def test_a_missing_shared_file_fails_the_test_with_a_clear_message(monkeypatch) -> None:
    monkeypatch.delenv(ALLOW_NO_SHARED_ENV, raising=False)
    with pytest.raises(pytest.fail.Exception) as info:
        require_shared("paper/no-such-file.npy")
    message = str(info.value)
    assert message.startswith("../shared/paper/no-such-file.npy is missing")
    assert str(SHARED_DIR / "paper" / "no-such-file.npy") in message and ALLOW_NO_SHARED_ENV in message


@pytest.mark.parametrize("value, skips", [("1", True), ("0", False), ("", False)])
def test_only_the_documented_opt_out_skips(monkeypatch, value: str, skips: bool) -> None:
    monkeypatch.setenv(ALLOW_NO_SHARED_ENV, value)
    expected = pytest.skip.Exception if skips else pytest.fail.Exception
    with pytest.raises(expected, match="is missing"):
        require_shared("no-such-folder")


def test_the_shared_data_is_here() -> None:
    """CI has ../shared: the tests that need it run (this fails, clearly, where it is missing)."""
    for relative in ("paper/subsets.csv", "mvsa-single/labelResultAll.txt", "mvsa-single/data"):
        assert require_shared(relative).exists()
