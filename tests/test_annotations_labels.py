"""Labels with human annotations, the review queue and "label these next", checked against brute force."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmcsl_core.annotations.formats import (
    export_bytes,
    export_labels,
    format_for,
    label_studio_config,
    read_label_file,
)
from cmcsl_core.annotations.provenance import labels_from_seeds, labels_with_annotations
from cmcsl_core.annotations.queue import disagreement_gap, queue_table, review_queue, scaled_distances
from cmcsl_core.annotations.store import AnnotationStore, HumanLabels
from cmcsl_core.annotations.suggest import alternative_labels, label_change_matrix, suggest_next
from cmcsl_core.errors import CMCSLError, SeedError
from cmcsl_core.method.labeling import cross_modal_labels, propagate
from cmcsl_core.method.preprocessing import preprocess_features
from cmcsl_core.method.request import LabelRequest
from cmcsl_core.method.seeds import draw_seeds
from cmcsl_core.tables import label_table
from tests.helpers_core import synthetic_features


@pytest.fixture(scope="module")
def fs():
    return synthetic_features((60, 40, 50), with_ids=True, class_names=("Horror", "Romance", "Drama"))


def human(index, labels, who="ann") -> HumanLabels:
    order = np.argsort(index)
    return HumanLabels(
        np.asarray(index, dtype=np.int64)[order],
        np.asarray(labels, dtype=np.int64)[order],
        tuple([who] * len(index)),
        np.arange(len(index), dtype=np.int64),
    )


def test_without_human_labels_it_is_plain_cmcsl(fs) -> None:
    seeds = draw_seeds(fs.y, 2, 0)
    got = labels_from_seeds(fs, seeds, HumanLabels.empty())
    ref = propagate(fs, seeds)
    assert np.array_equal(got.final_labels, ref.final_labels)
    prov = np.asarray(got.provenance)
    assert set(prov[seeds]) == {"seed"}
    agree = ~ref.disagree & ~ref.is_seed
    assert set(prov[agree]) == {"agree"}
    for m, name in enumerate(fs.modality_names):
        assert set(np.flatnonzero(prov == name)) == set(np.flatnonzero(ref.decided_by == m))
    assert set(got.annotators) == {""}


def test_human_labels_win_and_join_the_seeds(fs) -> None:
    seeds = draw_seeds(fs.y, 2, 0)
    items = np.array([int(seeds[0]), 5, 17, 33])  # a seed relabelled by a person, and three other items
    labels = np.array([(fs.y[i] + 1) % 3 for i in items])
    got = labels_from_seeds(fs, seeds, human(items, labels))
    assert np.array_equal(got.final_labels[np.sort(items)], labels[np.argsort(items)])
    assert {got.provenance[i] for i in items} == {"human"}
    assert {got.annotators[i] for i in items} == {"ann"}
    # brute force: CMCSL from the union of seeds and human items, human labels overriding
    seed_labels = {int(s): int(fs.y[s]) for s in seeds}
    seed_labels.update({int(i): int(c) for i, c in zip(items, labels)})
    idx = np.array(sorted(seed_labels))
    ref = cross_modal_labels(preprocess_features(fs.X, "l2std"), idx, np.array([seed_labels[i] for i in idx]))
    assert np.array_equal(got.final_labels, ref.final_labels)
    table = got.table(fs)
    base = label_table(fs, propagate(fs, seeds))
    assert list(table.columns) == list(base.columns) + ["provenance", "annotator"]
    assert table["is_seed"].sum() == len(seeds)
    assert table.loc[items[0], "final_label"] == fs.class_names[labels[0]]
    assert got.counts()["human"] == len(items)


def test_request_version_reads_the_store(fs, tmp_path) -> None:
    store = AnnotationStore(fs, tmp_path / "r.sqlite")
    store.label_many([2, 40], ["Drama", "Horror"], "ann")
    request = LabelRequest(preprocessing="l2", b_class=3, seed=4)
    got = labels_with_annotations(fs, request, store)
    want = labels_from_seeds(fs, request.seed_indices(fs), store.current(), "l2")
    assert got.preprocessing == "l2" and np.array_equal(got.final_labels, want.final_labels)
    assert got.provenance == want.provenance and got.counts()["seed"] == 9 - len(
        set(request.seed_indices(fs)) & {2, 40}
    )


def test_only_human_labels_no_seeds(fs) -> None:
    got = labels_from_seeds(fs, [], human([1, 2, 3], [0, 1, 2]))
    assert got.counts()["human"] == 3 and "seed" not in got.counts()
    with pytest.raises(SeedError, match="at least one seed"):
        labels_from_seeds(fs, [], HumanLabels.empty())


def test_scaled_distances_and_gap_by_brute_force(fs) -> None:
    r = propagate(fs, draw_seeds(fs.y, 2, 0))
    s = scaled_distances(r, "median")
    non_seed = ~r.is_seed
    for m in range(2):
        assert np.median(s[m, non_seed]) == pytest.approx(1.0)
        assert np.allclose(s[m], r.distances[m] / np.median(r.distances[m, non_seed]))
    rk = scaled_distances(r, "rank")
    assert rk[:, non_seed].min() >= 0 and rk[:, non_seed].max() <= 1
    for m in range(2):  # rank order equals distance order
        i, j = np.flatnonzero(non_seed)[:2]
        assert (rk[m, i] < rk[m, j]) == (r.distances[m, i] < r.distances[m, j])
    gap = disagreement_gap(r)
    assert np.array_equal(np.isfinite(gap), r.disagree)
    assert np.allclose(gap[r.disagree], np.abs(s[0] - s[1])[r.disagree])
    with pytest.raises(CMCSLError, match="unknown scaling"):
        scaled_distances(r, "zscore")


def test_gap_of_three_modalities_is_the_closest_disagreeing_pair() -> None:
    fs3 = synthetic_features((40, 30), dims=(5, 4, 3))
    r = propagate(fs3, draw_seeds(fs3.y, 2, 1))
    s = scaled_distances(r)
    gap = disagreement_gap(r)
    for i in range(fs3.n_items):
        pairs = [abs(s[a, i] - s[b, i]) for a in range(3) for b in range(a + 1, 3) if r.labels[a, i] != r.labels[b, i]]
        assert gap[i] == (min(pairs) if pairs else np.inf)


def test_review_queue_order_and_filters(fs) -> None:
    r = propagate(fs, draw_seeds(fs.y, 2, 0))
    gap = disagreement_gap(r)
    q = review_queue(r)
    assert set(q) == set(np.flatnonzero(r.disagree))
    assert np.all(np.diff(gap[q]) >= 0)
    q_text = review_queue(r, decided_by=["text"])
    assert set(q_text) == set(q[r.decided_by[q] == 1])
    assert np.array_equal(q_text, review_queue(r, decided_by=[1]))
    q_rom = review_queue(r, classes=[1])
    assert set(q_rom) == {i for i in q if 1 in r.labels[:, i]}
    done = q[:3]
    q_new = review_queue(r, reviewed=done, unreviewed_only=True)
    assert list(q_new) == [i for i in q if i not in set(done)]
    assert list(review_queue(r, reviewed=done)) == list(q)  # without the flag, reviewed items stay
    table = queue_table(fs, r, q[:5], reviewed=done)
    assert list(table["index"]) == list(q[:5]) and table["reviewed"].sum() == 3
    row = table.iloc[0]
    i = int(row["index"])
    for m, name in enumerate(fs.modality_names):
        seed_item = int(row[f"seed_{name}"])
        assert fs.class_names[fs.y[seed_item]] == row[f"label_{name}"]
        dist = np.linalg.norm(
            preprocess_features(fs.X, "l2std")[m][i] - preprocess_features(fs.X, "l2std")[m][seed_item]
        )
        assert row[f"distance_{name}"] == pytest.approx(dist)


def brute_force_changes(X, r, cand, label, frozen) -> int:
    """Rerun CMCSL with the candidate as an extra seed and count the other items whose label moved."""
    idx = np.append(r.seed_idx, cand)
    labels = np.append(r.seed_labels, label)
    new = cross_modal_labels(X, idx, labels)
    moved = new.final_labels != r.final_labels
    moved[cand] = False
    moved[frozen] = False
    return int(moved.sum())


def test_change_counts_equal_a_rerun_with_the_item_as_seed(fs) -> None:
    X = preprocess_features(fs.X, "l2std")
    r = propagate(fs, draw_seeds(fs.y, 2, 0))
    q = review_queue(r)[:25]
    alt = alternative_labels(r)
    assert np.all(alt[q] != r.final_labels[q]) and np.all(alt[~r.disagree] == -1)
    frozen = r.is_seed.copy()
    changed = label_change_matrix(X, r, q, alt[q], block=7)
    for j, c in enumerate(q):
        assert changed[j].sum() == brute_force_changes(X, r, c, alt[c], frozen), c


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), b=st.integers(1, 3), k=st.integers(1, 6))
def test_suggestions_are_greedy_coverage_of_real_changes(seed, b, k) -> None:
    fs = synthetic_features((25, 20, 15), seed=seed % 7)
    X = preprocess_features(fs.X, "l2std")
    r = propagate(fs, draw_seeds(fs.y, b, seed))
    reviewed = review_queue(r)[:2]
    sug = suggest_next(X, r, k, reviewed=reviewed)
    contested = set(review_queue(r, reviewed=reviewed, unreviewed_only=True))
    assert len(sug) == min(k, len(contested))
    assert set(sug.index) <= contested and not set(sug.index) & set(reviewed)
    assert len(set(sug.index)) == len(sug)
    frozen = r.is_seed.copy()
    frozen[reviewed] = True
    covered = np.zeros(fs.n_items, dtype=bool)
    for i, a, g, c in zip(sug.index, sug.alternative, sug.gain, sug.changes):
        assert a == alternative_labels(r)[i]
        assert c == brute_force_changes(X, r, i, a, frozen)
        new = cross_modal_labels(X, np.append(r.seed_idx, i), np.append(r.seed_labels, a)).final_labels
        moved = (new != r.final_labels) & ~frozen
        moved[i] = False
        assert g == int((moved & ~covered).sum())
        covered |= moved
    assert list(sug.gain[: np.count_nonzero(sug.gain)]) == sorted(sug.gain[: np.count_nonzero(sug.gain)], reverse=True)
    with pytest.raises(CMCSLError, match="budget"):
        suggest_next(X, r, 0)


# ---------------------------------------------------------------------------- formats


def test_export_formats_round_trip_through_import(fs, tmp_path) -> None:
    store = AnnotationStore(fs, tmp_path / "a.sqlite")
    store.label_many([4, 9, 11], ["Drama", "Horror", "Romance"], "ann")
    store.label(20, "Drama", "bob")
    seeds = draw_seeds(fs.y, 2, 0)
    got = labels_from_seeds(fs, seeds, store.current())
    for suffix in (".csv", ".parquet"):
        path = export_labels(fs, got, tmp_path / f"labels{suffix}")
        frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
        assert list(frame["provenance"]) == list(got.provenance)
        rows = read_label_file(path)
        first = 2 if suffix == ".csv" else 1  # as a spreadsheet numbers the rows
        assert rows.rows == [i + first for i in (4, 9, 11, 20)]
        other = AnnotationStore(fs, tmp_path / f"b{suffix}.sqlite")
        other.label_many(rows.items, rows.labels, rows.annotators or "import")
        assert other.current().as_dict(fs.class_names) == store.current().as_dict(fs.class_names)
        assert other.current().annotators == ("ann", "ann", "ann", "bob")
    plain = tmp_path / "plain.csv"
    plain.write_text("index,label\n3,Horror\n8,drama\n")
    rows = read_label_file(plain)
    assert rows.items == [3, 8] and rows.labels == ["Horror", "drama"] and rows.annotators is None
    assert rows.rows == [2, 3]


def test_label_studio_json_human_annotations_and_predictions(fs, tmp_path) -> None:
    seeds = draw_seeds(fs.y, 2, 0)
    got = labels_from_seeds(fs, seeds, human([7], [2], "eve"))
    path = export_labels(fs, got, tmp_path / "ls.json")
    tasks = json.loads(path.read_text())
    assert isinstance(tasks, list) and len(tasks) == fs.n_items
    for i, task in enumerate(tasks):
        assert set(task) == ({"data", "annotations", "meta"} if i == 7 else {"data", "predictions"})
        assert isinstance(task["data"]["text"], str) and task["data"]["index"] == i and task["data"]["id"] == fs.ids[i]
        (entry,) = task["annotations" if i == 7 else "predictions"]
        (res,) = entry["result"]
        assert res["type"] == "choices" and res["from_name"] == "label" and res["to_name"] == "text"
        assert res["value"]["choices"] == [fs.class_names[got.final_labels[i]]]
    assert tasks[7]["data"]["provenance"] == "human" and tasks[7]["data"]["annotator"] == "eve"
    config = label_studio_config(fs.class_names)
    assert (tmp_path / "ls.label_config.xml").read_text() == config
    assert '<Choices name="label" toName="text"' in config and '<Text name="text" value="$text"/>' in config
    assert all(f'<Choice value="{c}"/>' in config for c in fs.class_names)
    assert export_bytes(fs, got, "label-studio") == path.read_bytes()


def test_format_by_suffix_or_name() -> None:
    assert [format_for(p) for p in ("a.csv", "a.parquet", "a.json")] == ["csv", "parquet", "label-studio"]
    assert format_for("a.txt", "json") == "label-studio"
    with pytest.raises(CMCSLError, match="cannot tell the format"):
        format_for("a.txt")
    with pytest.raises(CMCSLError, match="unknown format"):
        format_for("a.csv", "xlsx")


def test_bad_label_files(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("item,class\n1,Horror\n")
    with pytest.raises(CMCSLError, match="needs the columns id \\(or index\\) and label"):
        read_label_file(bad)
    bad.write_text("index,label\nx,Horror\n")
    with pytest.raises(CMCSLError, match="row 2: index 'x' is not a whole number"):
        read_label_file(bad)
    bad.write_text("index,label\n1,\n")
    with pytest.raises(CMCSLError, match="row 2: the label is empty"):
        read_label_file(bad)
    with pytest.raises(CMCSLError, match="does not exist"):
        read_label_file(tmp_path / "missing.csv")
