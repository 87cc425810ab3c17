"""The teacher's view: everyone's labels on the chosen data set, and how well the annotators agree.

Served, it reads the class's fixed database of the data set (:func:`.annotating.served_store`)
and opens to the teacher only (:func:`.identity.teacher_gate`); locally it reads the Review
page's database. Labels per annotator, Cohen's kappa for every pair of annotators on the items
both labelled, Fleiss' kappa over the items labelled by two or more
(:mod:`cmcsl_core.annotations.agreement`), and a download of everyone's labels with provenance.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import streamlit as st

from cmcsl_core.annotations.agreement import agreement, labels_table

from .annotating import served_store, shared_store
from .loading import Dataset
from .serving import serving
from .text import md

__all__ = ["teacher_view", "EVERYONE_CSV", "kappa_words"]

EVERYONE_CSV = "labels_everyone.csv"
"""File name of the download of everyone's labels."""


def kappa_words(kappa: float) -> str:
    """Landis and Koch's words for a kappa (a rough guide)."""
    if math.isnan(kappa):
        return "not defined yet"
    for bound, words in ((0.0, "poor"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial")):
        if kappa <= bound:
            return words
    return "almost perfect"


def _store(data: Dataset):  # noqa: ANN202 - an AnnotationStore
    if serving():
        return served_store(data)
    kept = st.session_state.get("review_db_kept")
    return shared_store(data, str(Path(kept).expanduser()) if kept else None)


def _fmt(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:.3f}"


def teacher_view(data: Dataset) -> None:
    """Draw the view for ``data`` (errors: CMCSLError, for the page's ``user_errors``)."""
    fs = data.fs
    store = _store(data)
    actions = store.history()
    report = agreement(actions, fs.class_names)
    where = "the class's database" if serving() else f"database {store.path}"
    st.caption(f"Everyone's labels on this data set, from {md(where)}; the page reads it anew at every visit.")
    st.button("Refresh", key="teacher_refresh", icon=":material/refresh:")
    cols = st.columns(5)
    cols[0].metric("Annotators", len(report.annotators))
    cols[1].metric(
        "Labels in force", f"{sum(report.labels.values()):,}", help="Each annotator's own labels, undone ones left out"
    )
    cols[2].metric("Items labelled", f"{report.n_items:,}")
    cols[3].metric("Labelled by 2 or more", f"{report.n_shared:,}", help="The items the agreement is measured on")
    cols[4].metric(
        "Fleiss' kappa",
        _fmt(report.fleiss),
        help=f"All annotators together on the shared items: {kappa_words(report.fleiss)}",
    )
    if not actions:
        st.info("No labels yet. Visitors label on the Review page.", icon=":material/info:")
        return
    per: dict[str, dict[str, object]] = {}
    for a in actions:
        row = per.setdefault(
            a.annotator,
            {"annotator": a.annotator, "labels in force": 0, "actions": 0, "undos": 0, "last action (UTC)": ""},
        )
        row["actions"] = int(row["actions"]) + 1  # type: ignore[call-overload]
        row["undos"] = int(row["undos"]) + (a.kind == "undo")  # type: ignore[call-overload]
        row["last action (UTC)"] = a.time
    for name, n in report.labels.items():
        per[name]["labels in force"] = n
    st.subheader("Labels per annotator")
    st.dataframe(pd.DataFrame(list(per.values())), hide_index=True, key="teacher_annotators")
    st.subheader("Agreement between annotators")
    if report.pairs:
        pairs = report.pairs_frame()
        pairs["agreement"] = [kappa_words(k) for k in pairs["Cohen's kappa"]]
        st.dataframe(pairs.round(3), hide_index=True, key="teacher_pairs")
        st.caption(
            "Cohen's kappa per pair on the items both labelled (1: always agree; 0: no more than chance; below 0: "
            "less than chance). Words after Landis and Koch (1977), a rough guide."
        )
    else:
        st.caption("No item has been labelled by two annotators yet.")
    names = [fs.item_name(i) for i in range(fs.n_items)]
    st.download_button(
        f"Download everyone's labels ({EVERYONE_CSV})",
        lambda: labels_table(store.history(), names).to_csv(index=False).encode(),
        file_name=EVERYONE_CSV, mime="text/csv", on_click="ignore", icon=":material/download:", key="teacher_download",
    )
    st.caption(
        "One row per item and annotator: the item, the annotator, the label in force, when it was given, the "
        "action's number in the database's history and how many annotators labelled the item."
    )
