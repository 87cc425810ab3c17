"""The Review page's parts around the card: the queue's filters and walk, the counters, "More like this",
"Label these next", the downloads and history, the Clusters page's selection, and the fragment that
redraws everything that moves with a label (:func:`review_panel`).

Each part takes the page's :class:`~cmcsl_studio_ui.review_session.ReviewContext`; the page
(``pages/4_Review.py``) reads the widgets, builds it, and calls these in order.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Callable

import numpy as np
import pandas as pd
import streamlit as st

from cmcsl_core.annotations import (
    AnnotatedLabels,
    HumanLabels,
    disagreement_gap,
    labels_with_annotations,
    queue_table,
    review_queue,
    suggest_next,
)
from cmcsl_core.annotations.formats import export_bytes, label_studio_config
from cmcsl_core.annotations.queue import (
    BATCH_ORDERS,
    QUEUE_ORDER_LABELS,
    QUEUE_ORDERS,
    default_queue_order,
    least_confident,
)
from cmcsl_core.method.request import LabelRequest

from .answers import session_answers_block
from .item_panels import with_thumbnails
from .labels import labeler_name
from .loading import Dataset
from .neighbours import more_like_this
from .page import user_errors
from .projections import preprocessed
from .review import (
    ReviewCursor,
    ReviewMetrics,
    ShownCard,
    annotator_labels,
    filter_queue,
    metrics_delta,
    progress_metrics,
)
from .review_card import label_many, review_card
from .review_session import QueueChoice, ReviewContext, annotated, show_flash
from .text import md

__all__ = ["queue_controls", "hold_cursor", "session_start", "review_panel", "selection_block"]

QUEUE_ROWS = 300  # rows of the queue table shown
QUEUE_TABLE_HEIGHT = 260  # pixels of the queue table
NEXT_BATCH = 10  # the batch orders' size: suggestions (or least confident items) recomputed after every batch
SUGGESTIONS = 10  # "Label these next": items suggested at a time (the budget's default)
MAX_SUGGESTIONS = 500  # the largest budget "Label these next" accepts
THUMB_ROW_HEIGHT = 56  # pixels of a table row that shows a thumbnail
MORE_PER_ROW = 6  # "More like this": items per row
HISTORY_ROWS = 200  # actions listed in the history (latest first)
SELECTION_HEIGHT = 180  # pixels of the table of the Clusters page's selection
EXPORTS = (("csv", "labels.csv", "text/csv"), ("parquet", "labels.parquet", "application/octet-stream"),
           ("label-studio", "labels_label_studio.json", "application/json"))
LS_CONFIG = "labels_label_studio.label_config.xml"  # the labeling config the Label Studio file imports into

ss = st.session_state


# ------------------------------------------------------------------ the queue
def queue_controls(data: Dataset, base: AnnotatedLabels) -> QueueChoice:
    """The row of filters above the card: classes, decided by, order, search, not yet reviewed only."""
    fs = data.fs
    c1, c2, c3, c4, c5 = st.columns([3, 2, 2, 3, 2], vertical_alignment="bottom")
    order = c3.selectbox(
        "Order", QUEUE_ORDERS, index=QUEUE_ORDERS.index(default_queue_order(base.result.labeler)),
        format_func=QUEUE_ORDER_LABELS.__getitem__, key="review_order",
        help="Closest call: the smallest gap between the modalities' scaled distances to their seeds. Least confident: "
        "the labeler's own confidence (for label spreading, the margin of its class distribution); of all items: every "
        f"item not labelled yet, {NEXT_BATCH} at a time from the labels in force. Label these next: "
        f"the {NEXT_BATCH} contested items whose labels would change the most others, again after every {NEXT_BATCH}. "
        "The default is what helped most in a simulation (docs/labelers.md).",
    )
    classes = c1.multiselect(
        "Classes", list(range(fs.n_classes)), format_func=fs.class_names.__getitem__, key="review_classes",
        placeholder="all classes", help="Items for which any modality proposes one of these classes",
    )
    decided = c2.multiselect(
        "Decided by", list(fs.modality_names), key="review_decided", placeholder="any modality",
        help="Items whose disagreement CMCSL resolved with this modality's label",
    )
    query = c4.text_input(
        "Search the queue", key="review_query", placeholder="words of the text, a name, an id or #index",
        help="Keep only the queued items whose text, name or id contain this (case-insensitive)",
    ).strip()
    unreviewed_only = c5.toggle("Not yet reviewed only", value=True, key="review_unreviewed")
    suggested: tuple[int, ...] | None = ss.get("review_suggested")
    next_round = ss.get("review_next_round", 0) if order in BATCH_ORDERS else 0
    return QueueChoice(order, unreviewed_only, suggested, next_round, tuple(classes), tuple(decided), query)


def hold_cursor(ctx: ReviewContext, now: AnnotatedLabels, human: HumanLabels) -> None:
    """Start the walk (``ss["review_cursor"]``) anew when the queue chosen changed; keep it otherwise."""
    q, data, request = ctx.queue, ctx.data, ctx.request
    cursor_key = (
        data.key,
        request,
        q.classes,
        q.decided,
        q.query,
        q.unreviewed_only,
        q.suggested,
        q.order,
        q.next_round,
    )
    held = ss.get("review_cursor")
    if held is not None and held[0] == cursor_key:
        return
    if q.suggested is not None:
        order = np.asarray(q.suggested, dtype=np.int64)
    elif q.order == "next":  # a batch of suggestions from the labels in force now
        with user_errors():
            order = suggest_next(
                preprocessed(data, request.preprocessing), now.result, NEXT_BATCH, reviewed=human.index
            ).index
    elif q.order == "uncertain":  # a batch of the least confident items, from the labels in force now
        order = least_confident(now.result, NEXT_BATCH, reviewed=human.index)
    else:
        order = review_queue(
            ctx.base.result, q.classes or None, q.decided or None, human.index, q.unreviewed_only, order=q.order
        )
    order = filter_queue(data.fs, order, q.query)
    ss["review_cursor"] = (cursor_key, ReviewCursor.start(order, human.index if q.unreviewed_only else ()))


def session_start(data: Dataset, request: LabelRequest, now: AnnotatedLabels) -> ReviewMetrics:
    """The metrics when this session first reviewed ``request`` on ``data`` (the counters' reference)."""
    starts = ss.setdefault("review_start", {})
    key = (data.key, request)
    if key not in starts:
        starts[key] = progress_metrics(data.fs, now)
    return starts[key]


# ------------------------------------------------------------------ the panel's parts
def metrics_row(
    ctx: ReviewContext, now: AnnotatedLabels, cursor: ReviewCursor, reviewed: np.ndarray, human: HumanLabels
) -> None:
    """Your labels, all human labels, CMCSL accuracy and disagreements now (with their change since the
    session started), and what is left in the queue."""
    current = progress_metrics(ctx.fs, now)
    delta = metrics_delta(ctx.start, current)
    annotator = ctx.annotator

    def moved(value: float, fmt: str) -> str | None:  # no arrow before anything moved
        return None if np.isnan(value) or value == 0 else f"{value:{fmt}} this session"

    cols = st.columns(5)
    cols[0].metric(
        "Your labels",
        f"{annotator_labels(human, annotator):,}",
        help=f"Labels in force given by {md(annotator or 'you')}",
    )
    everyone = "By every annotator" if ctx.storage.own is None else "Yours (served: every visitor labels on their own)"
    cols[1].metric("Human labels", f"{current.human:,}", delta=moved(delta["human"], "+,.0f"), help=everyone)
    acc = "n/a" if np.isnan(current.accuracy) else f"{current.accuracy:.1%}"
    cols[2].metric(
        f"{labeler_name(now.result)} accuracy",
        acc,
        delta=moved(delta["accuracy"], "+.2%"),
        help="Pseudo-label accuracy against the feature file's labels, on the items that are neither a seed "
        "nor labelled by a person",
    )
    cols[3].metric(
        "Disagreements",
        f"{current.disagreements:,}",
        delta=moved(delta["disagreements"], "+,.0f"),
        delta_color="inverse",
        help="Items whose modalities propose different labels in CMCSL's run from the seeds plus the human labels",
    )
    cols[4].metric("Left in the queue", f"{cursor.remaining(reviewed):,}", help=f"of {len(cursor.queue):,} queued")


def more_like_this_panel(ctx: ReviewContext, item: int | None, now: AnnotatedLabels, human: HumanLabels) -> None:
    """The item's nearest neighbours per modality (built only while the expander is open)."""
    box = st.expander(
        "More like this: the nearest items in each modality",
        icon=":material/join:",
        key="review_more_open",
        on_change="rerun",
    )
    if item is None or not box.open:
        return
    data = ctx.data
    with box:
        more_like_this(
            data, preprocessed(data, ctx.request.preprocessing), item, now.final_labels, int(now.final_labels[item]),
            human.index, partial(label_many, ctx) if ctx.annotator else None, key="review_more", per_row=MORE_PER_ROW,
        )


def queue_expander(ctx: ReviewContext, cursor: ReviewCursor, human: HumanLabels) -> None:
    """The queue from the card on, as a table with thumbnails."""
    fs = ctx.fs
    with st.expander(f"The queue ({len(cursor.queue):,} items)", icon=":material/list:"):
        rows = np.asarray(cursor.queue[cursor.position : cursor.position + QUEUE_ROWS], dtype=np.int64)
        table = queue_table(fs, ctx.base.result, rows, human.index)
        table.insert(1, "name", [fs.item_name(int(i)) for i in rows])
        table, config = with_thumbnails(ctx.data, table)
        st.dataframe(table, hide_index=True, key="review_queue_table", height=QUEUE_TABLE_HEIGHT, column_config=config)


def _recompute_suggestions() -> None:
    ss.pop("review_sug", None)


def _review_suggested(items: tuple[int, ...] | None) -> None:
    ss["review_suggested"] = items


def suggestions_block(ctx: ReviewContext, now: AnnotatedLabels, human: HumanLabels) -> None:
    """"Label these next": computed once per labels in force (0.3-0.5 s), then shown without the items
    labelled since; "Recompute" takes the new labels into account."""
    data, fs, names = ctx.data, ctx.fs, ctx.names
    st.subheader("Label these next")
    c1, c2 = st.columns([1, 4], vertical_alignment="bottom")
    budget = int(
        c1.number_input(
            "Budget k", min_value=1, max_value=MAX_SUGGESTIONS, value=SUGGESTIONS, step=1, key="review_budget"
        )
    )
    c2.caption(
        f"The contested items whose label, once a person confirms the label {labeler_name(now.result)} rejected, "
        "would change the most "
        "other labels (greedy: each next one counts only the items the earlier ones do not change)."
    )
    memo_key = (data.key, ctx.request, budget)
    held = ss.get("review_sug")
    if held is None or held[0] != memo_key:
        X_list = preprocessed(data, ctx.request.preprocessing)
        with user_errors():
            held = (memo_key, suggest_next(X_list, now.result, budget, reviewed=human.index), len(human))
        ss["review_sug"] = held
    _, sug, n_then = held
    keep = ~np.isin(sug.index, human.index)  # never an item labelled since
    rows = np.asarray(sug.index)[keep]
    if len(rows):
        r = now.result
        frame = pd.DataFrame(
            {
                "index": rows,
                "name": [fs.item_name(int(i)) for i in rows],
                labeler_name(r): [names[int(r.final_labels[i])] for i in rows],
                "alternative": [names[int(a)] if a >= 0 else "" for a in np.asarray(sug.alternative)[keep]],
                "new changes": np.asarray(sug.gain)[keep],
                "changes alone": np.asarray(sug.changes)[keep],
                "gap": disagreement_gap(r)[rows].round(4),
            }
        )
        frame, config = with_thumbnails(data, frame)
        st.dataframe(
            frame,
            hide_index=True,
            key="review_suggestions",
            column_config=config,
            row_height=THUMB_ROW_HEIGHT if config else None,
        )
    else:
        st.caption("Every suggested item is labelled now.")
    if len(human) != n_then:
        st.caption(f"Computed before your last {abs(len(human) - n_then)} label(s): recompute to count them in.")
    b1, b2, b3, _ = st.columns([2, 2, 2, 1])
    b1.button(
        f"Review these {len(rows)} next", key="review_take_suggestions", on_click=_review_suggested,
        args=(tuple(int(i) for i in rows),), disabled=not len(rows), icon=":material/playlist_play:",
    )
    b2.button("Recompute", key="review_recompute", on_click=_recompute_suggestions, icon=":material/refresh:")
    suggested = ctx.queue.suggested
    if suggested is not None:
        b3.button(
            "Back to the disagreement queue", key="review_back_to_queue", on_click=_review_suggested, args=(None,)
        )
        st.info(f"The review card walks the {len(suggested)} suggested items.", icon=":material/playlist_play:")


def _exporter(ctx: ReviewContext, fmt: str) -> Callable[[], bytes]:
    """The file's bytes, computed when the button is clicked (the labels in the database at that moment)."""

    def make() -> bytes:
        data, request = ctx.data, ctx.request
        labels = labels_with_annotations(data.fs, request, ctx.human(), preprocessed(data, request.preprocessing))
        return export_bytes(data.fs, labels, fmt)

    return make


def your_labels(ctx: ReviewContext, human: HumanLabels) -> None:
    """The database, its counts, the downloads and the history."""
    storage, annotator = ctx.storage, ctx.annotator
    st.subheader("Your labels")
    history = storage.history()
    st.caption(
        f"Database **{md(storage.db_shown)}** · {len(history):,} actions · {len(human):,} human labels in force, "
        f"{annotator_labels(human, annotator):,} of them by {md(annotator or 'you')}. Every action is saved at once "
        "(one transaction); undo is an action too, the history is kept."
    )
    cols = st.columns(len(EXPORTS) + 1)
    for col, (fmt, file_name, mime) in zip(cols, EXPORTS):
        col.download_button(
            f"Download {file_name}", _exporter(ctx, fmt), file_name=file_name, mime=mime, on_click="ignore",
            icon=":material/download:", key=f"review_download_{fmt}",
        )
    cols[-1].download_button(
        "Label Studio config (XML)",
        label_studio_config(ctx.names, with_image=ctx.fs.image_paths is not None),
        file_name=LS_CONFIG,
        mime="application/xml",
        on_click="ignore",
        icon=":material/download:",
        key="review_download_ls_config",
        help="The labeling config the Label Studio file imports into (see docs/review.md)",
    )
    if history:
        with st.expander("History (latest first)", icon=":material/history:"):
            latest = reversed(history[-HISTORY_ROWS:])
            st.dataframe(pd.DataFrame([vars(a) for a in latest]), hide_index=True, key="review_history")


# ------------------------------------------------------------------ the fragment
@st.fragment
def review_panel(ctx: ReviewContext) -> None:
    """Everything that moves with a label: counters, the card and its keys, the queue, suggestions, the
    history (reruns alone on a key press, with the ``ctx`` of the page's last full run)."""
    with user_errors():
        human = ctx.human()
        now = annotated(ctx.data, ctx.request, human)
    _, cursor = ss["review_cursor"]
    reviewed = human.index if ctx.queue.unreviewed_only else np.zeros(0, dtype=np.int64)
    metrics_row(ctx, now, cursor, reviewed, human)
    show_flash()
    if not ctx.annotator:
        st.error("Give the annotator's name in the sidebar to save labels.", icon=":material/error:")
    item = cursor.current
    q = ctx.queue
    if item is None and q.order in BATCH_ORDERS and q.suggested is None and cursor.queue:
        ss["review_next_round"] = q.next_round + 1  # this batch is done: the next one, from the labels now
        st.rerun()
    shown = ss.get("review_shown")
    drawing = shown is None or shown.item != item or shown.since is None or shown.used
    if drawing:  # a new card: its keys count KEY_DWELL seconds after this run has drawn all of it
        ss["review_shown"] = ShownCard(item)
    ss["review_card_now"] = now  # what the card proposes (a key accepts this)
    ss["review_runs"] = runs = ss.get("review_runs", 0) + 1
    review_card(ctx, item, now, cursor, human, run=runs)
    session_answers_block(ss, ctx.data.key)  # in the fragment: it follows every key press
    more_like_this_panel(ctx, item, now, human)
    queue_expander(ctx, cursor, human)
    suggestions_block(ctx, now, human)
    your_labels(ctx, human)
    if drawing:
        ss["review_shown"] = ShownCard(item, time.monotonic())


# ------------------------------------------------------------------ bulk: the Clusters page's selection
def selection_block(ctx: ReviewContext, selected: list[int], now: AnnotatedLabels, human: HumanLabels) -> None:
    """Label the items selected on the Clusters page together (one transaction)."""
    fs, names = ctx.fs, ctx.names
    st.subheader("Label a selection")
    if not selected:
        st.caption(
            "Select items with the lasso or box on the Clusters page (clicks set to only inspect them); "
            "they appear here to be labelled together."
        )
        return
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    bulk_label = c1.selectbox(
        f"Label the {len(selected):,} items selected on the Clusters page as", list(names), key="review_bulk_class"
    )
    c2.button(
        f"Label {len(selected):,} items", key="review_bulk", on_click=label_many, args=(ctx, selected, bulk_label),
        disabled=not ctx.annotator, icon=":material/done_all:",
    )
    r = now.result
    frame, config = with_thumbnails(
        ctx.data,
        pd.DataFrame(
            {
                "index": selected,
                "name": [fs.item_name(i) for i in selected],
                labeler_name(r): [names[int(r.final_labels[i])] for i in selected],
                "human": [human.as_dict(names).get(i, "") for i in selected],
            }
        ),
    )
    st.dataframe(frame, hide_index=True, height=SELECTION_HEIGHT, key="review_selection", column_config=config)
