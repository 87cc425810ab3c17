"""cmcsl_core.method.seeds: b_class per class, without replacement, reproducible, nested; clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmcsl_core.errors import CMCSLError, SeedError
from cmcsl_core.method.seeds import check_seeds, draw_seeds, parse_seed_list, seed_order

Y = np.repeat([0, 1, 2], [30, 12, 20])[np.random.default_rng(0).permutation(62)]


@pytest.mark.parametrize("b", [1, 3, 12])
def test_b_class_per_class_distinct_sorted(b):
    seeds = draw_seeds(Y, b, random_state=5)
    assert seeds.dtype.kind == "i"
    assert np.all(np.diff(seeds) > 0)  # sorted and distinct
    assert np.bincount(Y[seeds], minlength=3).tolist() == [b, b, b]
    assert seeds.min() >= 0 and seeds.max() < Y.size


def test_reproducible_and_varies_with_random_state():
    a = draw_seeds(Y, 4, random_state=11)
    np.testing.assert_array_equal(a, draw_seeds(Y, 4, random_state=11))
    np.testing.assert_array_equal(a, draw_seeds(Y, 4, random_state=np.random.SeedSequence(11)))
    draws = {tuple(draw_seeds(Y, 4, random_state=s)) for s in range(10)}
    assert len(draws) > 5
    np.testing.assert_array_equal(draw_seeds(Y, 4, (1410, 3)), draw_seeds(Y, 4, [1410, 3]))


def test_whole_class_is_allowed():
    seeds = draw_seeds(Y, 12, random_state=0)
    np.testing.assert_array_equal(np.sort(seeds[Y[seeds] == 1]), np.flatnonzero(Y == 1))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 11))
def test_property_nested_for_growing_b(rs, b):
    small, big = draw_seeds(Y, b, random_state=rs), draw_seeds(Y, b + 1, random_state=rs)
    assert set(small) < set(big)
    order = seed_order(Y, b + 1, rs)
    np.testing.assert_array_equal(np.sort(order[:, :b].ravel()), small)
    for c in range(3):
        assert np.all(Y[order[c]] == c) and np.unique(order[c]).size == b + 1


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_property_draws_stay_within_rows(rs):
    rows = np.sort(np.random.default_rng(rs).choice(Y.size, size=40, replace=False))
    b = int(np.bincount(Y[rows], minlength=3).min())
    seeds = draw_seeds(Y, b, random_state=rs, rows=rows)
    assert set(seeds) <= set(rows)
    assert np.bincount(Y[seeds], minlength=3).tolist() == [b] * 3


def test_uniform_over_a_class():
    # every item of the small class is picked about equally often (b=1, many draws)
    counts = np.zeros(Y.size)
    for s in range(600):
        counts[draw_seeds(Y, 1, random_state=s)] += 1
    small = counts[Y == 1]
    assert small.sum() == 600 and small.min() > 20 and small.max() < 90


def test_b_class_larger_than_a_class():
    with pytest.raises(
        SeedError, match=r"b_class=13 is larger than class 'class 1', the smallest class, which has only 12 item\(s\)"
    ):
        draw_seeds(Y, 13, random_state=0)
    with pytest.raises(SeedError, match=r"class 'Romance'.*only 12 item\(s\); the largest valid b_class is 12"):
        draw_seeds(Y, 13, random_state=0, class_names=["Horror", "Romance", "Drama"])
    with pytest.raises(SeedError, match="in the training rows"):
        draw_seeds(Y, 10, random_state=0, rows=np.arange(20))
    # a class that does not occur at all (n_classes larger than the labels)
    with pytest.raises(SeedError, match="has no items, so no seed can be drawn for it"):
        draw_seeds(Y, 1, random_state=0, n_classes=4)
    assert issubclass(SeedError, CMCSLError)


def test_b_class_error_names_the_smallest_class():
    # the first class too small for b_class=6 has 5 items, but the limit is the last one's 3
    y = np.repeat([0, 1, 2], [5, 9, 3])
    with pytest.raises(
        SeedError,
        match=r"class 'satire', the smallest class, which has only 3 item\(s\); the largest valid b_class is 3$",
    ):
        draw_seeds(y, 6, random_state=0, class_names=["fake", "real", "satire"])
    assert draw_seeds(y, 3, random_state=0).size == 9
    # an empty class: no b_class can help; the message says so (main's wording for an empty class)
    with pytest.raises(SeedError, match=r"class 'class 3' has no items, so no seed can be drawn for it"):
        draw_seeds(y, 1, random_state=0, n_classes=4)


@pytest.mark.parametrize("bad", [0, -1, 1.5, 2.0, "3", True, None])
def test_bad_b_class(bad):
    with pytest.raises(SeedError, match="b_class"):
        draw_seeds(Y, bad, random_state=0)


def test_numpy_integer_b_class_ok():
    assert draw_seeds(Y, np.int64(2), random_state=0).size == 6


def test_check_seeds():
    np.testing.assert_array_equal(check_seeds([5, 1, 3], 10), [1, 3, 5])
    np.testing.assert_array_equal(check_seeds(np.array([2.0, 0.0]), 10), [0, 2])
    with pytest.raises(SeedError, match="at least one seed"):
        check_seeds([], 10)
    with pytest.raises(SeedError, match="seed index 10 is out of range: items are numbered 0..9"):
        check_seeds([1, 10], 10)
    with pytest.raises(SeedError, match="out of range"):
        check_seeds([-1], 10)
    with pytest.raises(SeedError, match="seed index 3 is given more than once"):
        check_seeds([3, 1, 3], 10)
    with pytest.raises(SeedError, match="whole numbers"):
        check_seeds([1.5], 10)
    with pytest.raises(SeedError, match="whole numbers"):
        check_seeds(["a"], 10)


def test_parse_seed_list():
    np.testing.assert_array_equal(parse_seed_list("3,17, 42", 50), [3, 17, 42])
    np.testing.assert_array_equal(parse_seed_list(" 4 2 ", 50), [2, 4])
    with pytest.raises(SeedError, match="separated by commas"):
        parse_seed_list("3;x", 50)
    with pytest.raises(SeedError, match="more than once"):
        parse_seed_list("3,3", 50)
    with pytest.raises(SeedError, match="out of range"):
        parse_seed_list("50", 50)
    with pytest.raises(SeedError, match="at least one"):
        parse_seed_list(" , ", 50)
