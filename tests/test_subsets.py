"""Tests of cmcsl_core.datasets.subsets: Table I, subset names, the exactly-one rule."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from helpers_core import exactly_one_reference, require_shared

from cmcsl_core.datasets.subsets import (
    SUBSETS_CSV,
    Subset,
    assign_labels,
    demo_counts,
    labels_from_indicator,
    load_subsets,
    resolve_subset,
    subsets_table,
)
from cmcsl_core.errors import CMCSLError

PAPER_ORDER = (
    "HR DS HM BW AM FS FW MS FM AT HMSWW FMSW FMNSSW FFW CDFS AFHMS ACMD ACCDDHMRS ABHMW ABFHSS".split()
)


def test_twenty_paper_subsets_in_table_order():
    subsets = load_subsets()
    assert list(subsets) == PAPER_ORDER
    hr = subsets["HR"]
    assert hr == Subset("HR", ("Horror", "Romance"), (2151, 4653), 6804, "binary")
    assert subsets["ACCDDHMRS"].n_classes == 9
    assert [s.kind for s in subsets.values()].count("binary") == 10
    for s in subsets.values():
        assert sum(s.class_counts) == s.total
        assert (s.kind == "binary") == (s.n_classes == 2)


def test_shipped_csv_matches_the_papers_table_i():
    paper = require_shared("paper/subsets.csv")  # Table I of the paper
    assert SUBSETS_CSV.read_bytes() == paper.read_bytes()


def test_resolve_paper_names_case_insensitive():
    assert resolve_subset("hr") is load_subsets()["HR"]
    assert resolve_subset(" abfhss ").name == "ABFHSS"
    sub = resolve_subset("HR")
    assert resolve_subset(sub) is sub


@pytest.mark.parametrize(
    "spec",
    ["Horror,Romance", "horror; romance", "HORROR+Romance", "custom:Horror+Romance", " Horror , Romance ,"],
)
def test_resolve_custom_genre_lists(spec):
    sub = resolve_subset(spec)
    assert sub.name == "custom:Horror+Romance"
    assert sub.genres == ("Horror", "Romance")
    assert sub.class_counts is None and sub.total is None and sub.kind == "custom"
    assert not sub.is_paper


def test_resolve_keeps_custom_order_and_canonical_spelling():
    assert resolve_subset("sci-fi,film-noir,war").genres == ("Sci-Fi", "Film-Noir", "War")


@pytest.mark.parametrize(
    "spec, words",
    [
        ("XY", ["unknown subset 'XY'", "HR", "ABFHSS", "Horror,Romance"]),
        ("Horror", ["unknown subset", "at least two genres"]),
        ("Horror,Romcom", ["unknown genre 'Romcom'", "Sci-Fi"]),
        ("Horror,horror", ["Horror is listed twice"]),
        ("", ["unknown subset"]),
    ],
)
def test_resolve_errors_are_clear(spec, words):
    with pytest.raises(CMCSLError) as info:
        resolve_subset(spec)
    for w in words:
        assert w in str(info.value)


def test_resolve_rejects_non_strings():
    with pytest.raises(CMCSLError, match="a subset is a name"):
        resolve_subset(3)  # type: ignore[arg-type]


def test_exactly_one_rule():
    genre_lists = [
        ["Horror"],  # 0 -> Horror
        ["Horror", "Romance"],  # both: out
        ["Drama"],  # none: out
        ["Drama", "Romance"],  # 3 -> Romance
        [],  # out
        [" romance ", "Comedy"],  # 5 -> Romance (case/space-insensitive)
        ["Horror", "Horror"],  # 6 -> Horror (duplicate tag counts once)
    ]
    rows, labels = assign_labels(genre_lists, "HR")
    assert rows.tolist() == [0, 3, 5, 6]
    assert labels.tolist() == [0, 1, 1, 0]
    assert rows.dtype == np.int64 and labels.dtype == np.int64


def test_exactly_one_rule_multiclass_label_order_follows_subset():
    genre_lists = [["War"], ["Family"], ["Sci-Fi", "Drama"], ["Musical"], ["War", "Sci-Fi"], ["Western"]]
    rows, labels = assign_labels(genre_lists, "FMSW")  # Family, Musical, Sci-Fi, War
    assert rows.tolist() == [0, 1, 2, 3]
    assert labels.tolist() == [3, 0, 2, 1]
    rows, labels = assign_labels(genre_lists, "War,Family")
    assert rows.tolist() == [0, 1, 4]
    assert labels.tolist() == [0, 1, 0]


def test_assign_labels_matches_brute_force_on_random_data():
    rng = np.random.default_rng(3)
    genres = ("Horror", "Romance", "Drama", "Comedy", "War")
    lists = [list(rng.choice(genres, size=rng.integers(0, 4), replace=False)) for _ in range(500)]
    sub = resolve_subset("War,Horror,Comedy")
    rows, labels = assign_labels(lists, sub)
    expected_rows, expected_labels = exactly_one_reference(lists, ("War", "Horror", "Comedy"))
    assert rows.tolist() == expected_rows.tolist() and labels.tolist() == expected_labels.tolist()
    # the vectorised indicator version agrees
    ind = np.array([[x in g for x in sub.genres] for g in lists], dtype=np.uint8)
    r2, l2 = labels_from_indicator(ind)
    assert np.array_equal(r2, rows) and np.array_equal(l2, labels)


def test_labels_from_indicator_empty_and_bad_shape():
    rows, labels = labels_from_indicator(np.zeros((4, 3)))
    assert rows.size == 0 and labels.size == 0
    with pytest.raises(ValueError):
        labels_from_indicator(np.zeros(4))


# 80% of Table I's counts per class (the part the paper experimented on), worked out by hand from
# the paper's Table I: e.g. Film-Noir 260 * 0.8 = 208, Musical 664 * 0.8 = 531.2 -> 531.
DEMO_COUNTS_BY_HAND = {
    "HR": (1721, 3722),  # Horror 2151, Romance 4653
    "BW": (931, 474),  # Biography 1164, Western 593
    "FMNSSW": (208, 531, 43, 354, 426, 470),  # 260, 664, 54, 442, 533, 587
    "ACCDDHMRS": (297, 1508, 73, 1197, 3042, 466, 86, 102, 94),  # 371, 1885, 91, 1496, 3802, 583, 107, 127, 118
}


@pytest.mark.parametrize("name", DEMO_COUNTS_BY_HAND)
def test_demo_counts_is_80_percent_per_class(name):
    assert demo_counts(name) == DEMO_COUNTS_BY_HAND[name]


def test_demo_counts_refuses_custom_subsets():
    with pytest.raises(CMCSLError, match="not one of the paper's subsets"):
        demo_counts("Horror,Romance")


def test_subsets_table():
    table = subsets_table()
    assert list(table.columns) == ["subset", "kind", "n_classes", "genres", "class_counts", "total", "demo_total"]
    assert table["subset"].tolist() == PAPER_ORDER
    hr = table.iloc[0]
    assert hr["genres"] == "Horror, Romance" and hr["class_counts"] == "2151, 4653"
    assert hr["total"] == 6804 and hr["demo_total"] == 1721 + 3722
    with open(SUBSETS_CSV, newline="") as fh:
        totals = [int(r["total"]) for r in csv.DictReader(fh)]
    assert table["total"].tolist() == totals
    assert table["n_classes"].tolist()[:10] == [2] * 10
