"""Review: walk the items whose modalities disagree, in the order chosen on the page, and correct their labels.

Every action is one transaction in the annotation database (:class:`AnnotationStore`); human
labels join the seeds, CMCSL reruns with them, and the page shows how the pseudo-label accuracy
and the disagreement count moved since the session started. The walk, the keys and the metrics
are pure logic in :mod:`cmcsl_studio_ui.review`; the review card is a fragment, so a key press
reruns only the card.

The queue is the disagreements of the run from the seeds alone (stable, so a session resumes
where the last one stopped); the card shows what the modalities propose now, with the human
labels as extra seeds.

Keys typed ahead never label an unseen item: every card has its own buttons (a press names
the card it was pressed on) and a key counts only on the card on screen, once it has been
shown for a moment (:func:`cmcsl_studio_ui.review.key_verdict`). Everything that moves with a
label (the counters, the queue, "Label these next", the history) lives in the one fragment,
so it stays live without reloading the page.
"""

from __future__ import annotations

from typing import Callable

import time
from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from cmcsl_core.annotations import (
    HUMAN,
    AnnotatedLabels,
    AnnotationStore,
    HumanLabels,
    disagreement_gap,
    labels_with_annotations,
    queue_table,
    review_queue,
    suggest_next,
)
from cmcsl_core.annotations.formats import export_bytes, label_studio_config
from cmcsl_core.annotations.queue import BATCH_ORDERS, QUEUE_ORDER_LABELS, QUEUE_ORDERS, default_queue_order, least_confident
from cmcsl_core.errors import CMCSLError
from cmcsl_studio_ui.annotating import review_storage
from cmcsl_core.method.request import LabelRequest
from cmcsl_studio_ui.item_panels import with_thumbnails
from cmcsl_studio_ui.labels import feature_graphs, label_request, labeler_name
from cmcsl_studio_ui.loading import Dataset
from cmcsl_studio_ui.neighbours import more_like_this
from cmcsl_studio_ui.page import REVIEW, cli_block, error_text, start_page, user_errors
from cmcsl_studio_ui.review import (
    KEY_DWELL,
    ReviewAction,
    ReviewCursor,
    ShownCard,
    annotator_labels,
    apply_action,
    button_key,
    filter_queue,
    key_map,
    key_verdict,
    labels_command,
    metrics_delta,
    nearest_seed_item,
    progress_metrics,
)
from cmcsl_studio_ui.answers import record_answer, session_answers_block
from cmcsl_studio_ui.review_keys import pressed_key, review_keys
from cmcsl_studio_ui.session import inspected
from cmcsl_studio_ui.text import md as _md
from cmcsl_studio_ui.thumbs import item_thumbnail
from cmcsl_studio_ui.projections import preprocessed

QUEUE_ROWS = 300  # rows of the queue table shown
NEXT_BATCH = 10  # the "label these next" order: suggestions recomputed after every batch
EXPORTS = (("csv", "labels.csv", "text/csv"), ("parquet", "labels.parquet", "application/octet-stream"),
           ("label-studio", "labels_label_studio.json", "application/json"))  # fmt: skip
LS_CONFIG = "labels_label_studio.label_config.xml"  # the labeling config the Label Studio file imports into
SUGGESTIONS = 10  # "Label these next": items suggested at a time

ss = st.session_state


# ------------------------------------------------------------------ cached pieces
def _annotated(data: Dataset, request: LabelRequest, human: HumanLabels) -> AnnotatedLabels:
    """CMCSL from the request's seeds plus ``human`` (memoised per session on the labels in force)."""
    key = (data.key, request, tuple(int(a) for a in human.action_ids))
    memo = ss.get("review_memo") or {}
    if key not in memo:
        graphs = feature_graphs(data, request.preprocessing, request.validated().labeler)
        memo = dict(list(memo.items())[-3:])  # the base run and the latest states
        memo[key] = labels_with_annotations(data.fs, request, human, graphs)
        ss["review_memo"] = memo
    return memo[key]


# ------------------------------------------------------------------ small drawing helpers
def show_item(data: Dataset, i: int, image_width: int, text_chars: int) -> None:
    """Item ``i``'s thumbnail and text (when the data has them) and its name."""
    fs = data.fs
    thumb = item_thumbnail(fs, i)  # re-encoded by the app, or the placeholder
    if thumb:
        st.image(thumb, width=image_width)
    st.markdown(f"**#{i}** {_md(fs.item_name(i))}")
    if fs.texts is not None and fs.texts[i]:
        text = fs.texts[i]
        st.markdown("> " + _md(text[:text_chars] + ("…" if len(text) > text_chars else "")))


def _flash(kind: str, message: str) -> None:
    ss["review_flash"] = (kind, message)


def _show_flash() -> None:
    flash = ss.pop("review_flash", None)
    if flash is None:
        return
    kind, message = flash
    if kind == "error":
        st.error(message, icon=":material/error:")
    else:
        st.caption(message)


# ------------------------------------------------------------------ page
settings, data = start_page(REVIEW)
fs = data.fs
names = fs.class_names
modalities = fs.modality_names
st.title("Review")
st.caption(
    "The items whose modalities disagree, in the order chosen below. Accept a modality's label, choose another "
    "class or skip, with one key; every label is saved at once and joins the seeds, and CMCSL reruns with it."
)

request = label_request(data, settings)
with user_errors():
    storage = review_storage(data)  # the sidebar's Annotations: database and who labels (served: fixed, per visitor)
    store, annotator = storage.store, storage.annotator
    human = storage.human()  # a foreign or corrupt database is refused here
    base = _annotated(data, request, HumanLabels.empty())
    now = _annotated(data, request, human)

base_gap = disagreement_gap(base.result)
start_key = (data.key, request)
starts = ss.setdefault("review_start", {})
if start_key not in starts:
    starts[start_key] = progress_metrics(fs, now)

# ------------------------------------------------------------------ the queue
c1, c2, c3, c4, c5 = st.columns([3, 2, 2, 3, 2], vertical_alignment="bottom")
queue_order = c3.selectbox(
    "Order", QUEUE_ORDERS, index=QUEUE_ORDERS.index(default_queue_order(base.result.labeler)),
    format_func=QUEUE_ORDER_LABELS.__getitem__, key="review_order",
    help="Closest call: the smallest gap between the modalities' scaled distances to their seeds. Least confident: "
    "the labeler's own confidence (for label spreading, the margin of its class distribution); of all items: every "
    f"item not labelled yet, {NEXT_BATCH} at a time from the labels in force. Label these next: "
    f"the {NEXT_BATCH} contested items whose labels would change the most others, again after every {NEXT_BATCH}. "
    "The default is what helped most in a simulation (docs/labelers.md).",
)  # fmt: skip
classes = c1.multiselect(
    "Classes", list(range(fs.n_classes)), format_func=names.__getitem__, key="review_classes",
    placeholder="all classes", help="Items for which any modality proposes one of these classes",
)  # fmt: skip
decided = c2.multiselect(
    "Decided by", list(modalities), key="review_decided", placeholder="any modality",
    help="Items whose disagreement CMCSL resolved with this modality's label",
)  # fmt: skip
query = c4.text_input(
    "Search the queue", key="review_query", placeholder="words of the text, a name, an id or #index",
    help="Keep only the queued items whose text, name or id contain this (case-insensitive)",
).strip()  # fmt: skip
unreviewed_only = c5.toggle("Not yet reviewed only", value=True, key="review_unreviewed")

suggested: tuple[int, ...] | None = ss.get("review_suggested")
next_round = ss.get("review_next_round", 0) if queue_order in BATCH_ORDERS else 0
cursor_key = (data.key, request, tuple(classes), tuple(decided), query, unreviewed_only, suggested, queue_order, next_round)
held = ss.get("review_cursor")
if held is None or held[0] != cursor_key:
    if suggested is not None:
        order = np.asarray(suggested, dtype=np.int64)
    elif queue_order == "next":  # a batch of suggestions from the labels in force now
        with user_errors():
            order = suggest_next(preprocessed(data, request.preprocessing), now.result, NEXT_BATCH, reviewed=human.index).index
    elif queue_order == "uncertain":  # a batch of the least confident items, from the labels in force now
        order = least_confident(now.result, NEXT_BATCH, reviewed=human.index)
    else:
        order = review_queue(base.result, classes or None, decided or None, human.index, unreviewed_only, order=queue_order)
    order = filter_queue(fs, order, query)
    ss["review_cursor"] = (cursor_key, ReviewCursor.start(order, human.index if unreviewed_only else ()))

KEYS = key_map(modalities, names)


def _reviewed(store: AnnotationStore) -> np.ndarray:
    return storage.human().index if unreviewed_only else np.zeros(0, dtype=np.int64)


def _on_key(key: str, item: int | None, card: AnnotatedLabels | None, timed: bool = True) -> None:
    """A key or button pressed on the card of ``item``: store the action and move the cursor (one
    transaction; errors are shown, not raised). A key pressed on a card no longer shown, a second key
    on one card, or (``timed``: a button) one pressed before the card was on screen for a moment, is
    dropped: never applied to an item the annotator has not seen."""
    action: ReviewAction = KEYS[key]
    ckey, cursor = ss["review_cursor"]
    shown = ss.get("review_shown")
    dwell = float(ss.get("review_key_dwell", KEY_DWELL))  # settable for tests, which run slower than a person
    dropped = key_verdict(item, shown, time.monotonic(), dwell=dwell, timed=timed)
    if dropped is None and item != cursor.current:
        dropped = "it was pressed on a card that is no longer shown"
    if dropped is not None:
        _flash("info", f"Ignored the key {key!r}: {dropped} (keys count only on the card you see).")
        return
    ss["review_shown"] = replace(shown, used=True)
    if action.kind == "previous":
        ss["review_cursor"] = (ckey, cursor.previous())
        return
    if (item is None and action.kind != "undo") or card is None:
        return
    try:
        done = apply_action(action, -1 if item is None else item, card.result, store, annotator)
        reviewed = _reviewed(store)
    except CMCSLError as exc:
        ss["review_shown"] = shown  # nothing done: the card's keys still count
        _flash("error", error_text(exc))
        return
    if done is None:  # skip
        cursor = cursor.skip(reviewed)
        _flash("info", f"Skipped #{item}.")
    elif done.kind == "undo":
        cursor = cursor.back_to(done.index)
        _flash("info", f"Undone: {_md(done.describe())}")
    else:
        cursor = cursor.advance(reviewed)
        _flash("info", f"Saved: {_md(done.describe())}")
        record_answer(ss, data.key, done.index, int(card.result.final_labels[done.index]), done.label, names)
    ss["review_cursor"] = (ckey, cursor)


def _on_browser_key() -> None:
    """The keyboard component sent a key (timed in the browser; each (token, seq) acts once)."""
    got = pressed_key()
    if got is None or str(got.get("key")) not in KEYS:
        return
    ident = (got.get("token"), got.get("seq"))
    if ident == ss.get("review_key_seen"):  # the same press delivered twice
        return
    ss["review_key_seen"] = ident
    item = got.get("item")
    _on_key(str(got["key"]), None if item is None else int(item), ss.get("review_card_now"), timed=False)


def _label_many(items: list[int], label: str) -> None:
    """Label ``items`` alike in one transaction (More like this, a Clusters selection); the card moves on
    when its item was among them."""
    try:
        done = store.label_many(items, [label] * len(items), annotator)
        reviewed = _reviewed(store)
    except CMCSLError as exc:
        _flash("error", error_text(exc))
        return
    ckey, cursor = ss["review_cursor"]
    if cursor.current is not None and cursor.current in items:
        ss["review_cursor"] = (ckey, cursor.advance(reviewed))
    _flash("info", f"Saved {len(done)} labels '{_md(label)}' (one transaction).")


def metrics_row(now: AnnotatedLabels, cursor: ReviewCursor, reviewed: np.ndarray, human: HumanLabels) -> None:
    """Your labels, all human labels, CMCSL accuracy and disagreements now (with their change since the
    session started), and what is left in the queue."""
    start, current = starts[start_key], progress_metrics(fs, now)
    delta = metrics_delta(start, current)

    def moved(value: float, fmt: str) -> str | None:  # no arrow before anything moved
        return None if np.isnan(value) or value == 0 else f"{value:{fmt}} this session"

    cols = st.columns(5)
    cols[0].metric("Your labels", f"{annotator_labels(human, annotator):,}", help=f"Labels in force given by {_md(annotator or 'you')}")
    everyone = "By every annotator" if storage.own is None else "Yours (served: every visitor labels on their own)"
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


def proposals(now: AnnotatedLabels, i: int) -> None:
    """Per modality: the label it proposes and the nearest seed behind it (with its picture and text)."""
    r = now.result
    final = int(r.final_labels[i])
    for col, (m, name) in zip(st.columns(len(modalities)), enumerate(modalities)):
        with col, st.container(border=True):
            label = int(r.labels[m, i])
            kept = f" · **{labeler_name(r)}'s choice**" if label == final and r.disagree[i] else ""
            st.markdown(f"**{_md(name)}** proposes **{_md(names[label])}**{kept}")
            st.caption(f"distance to its seed {r.distances[m, i]:.3f}")
            seed = nearest_seed_item(r, m, i)
            human_seed = now.provenance[seed] == HUMAN
            st.caption(f"nearest {'human-labelled item' if human_seed else 'seed'}:")
            show_item(data, seed, 120, 160)


def key_buttons(item: int | None, now: AnnotatedLabels, run: int) -> None:
    """The card's buttons (this card's own: a click names the item it was made on) and its keyboard."""
    disabled = not annotator
    accept = [(k, a) for k, a in KEYS.items() if a.kind == "modality"]
    for col, (k, a) in zip(st.columns(len(accept) + 2), accept):
        label = None if item is None else int(now.result.labels[a.value, item])
        chosen = label is not None and label == int(now.result.final_labels[item])  # CMCSL's pick: primary
        col.button(
            f"Accept {_md(modalities[a.value])}" + ("" if label is None else f": {_md(names[label])}") + f" ({k})",
            key=button_key(k, item), on_click=_on_key, args=(k, item, now),
            disabled=disabled or item is None, width="stretch", type="primary" if chosen else "secondary",
        )  # fmt: skip
    class_keys = [(k, a) for k, a in KEYS.items() if a.kind == "class"]
    for col, (k, a) in zip(st.columns(max(len(class_keys), 4)), class_keys):
        col.button(
            f"{_md(names[a.value])} ({k})", key=button_key(k, item), on_click=_on_key, args=(k, item, now),
            disabled=disabled or item is None, width="stretch",
        )  # fmt: skip
    c_prev, c_skip, c_undo, _ = st.columns([1, 1, 1, 3])
    for col, kind, title, icon in (
        (c_prev, "previous", "Previous", ":material/skip_previous:"),
        (c_skip, "skip", "Skip", ":material/skip_next:"),
        (c_undo, "undo", "Undo", ":material/undo:"),
    ):
        k = next(k for k, a in KEYS.items() if a.kind == kind)
        col.button(
            f"{title} ({k})", key=button_key(k, item), on_click=_on_key, args=(k, item, now),
            disabled=(disabled and kind != "previous") or (item is None and kind == "skip"), icon=icon, width="stretch",
        )  # fmt: skip
    captions = {}
    for k, a in KEYS.items():
        what = a.caption.split(" ", 1)[1]
        captions[k] = f"label {what}" if a.kind == "class" else what
    review_keys(KEYS, captions, item, f"{item}:{run}", run, enabled=not disabled, on_key=_on_browser_key)


def review_card(item: int | None, now: AnnotatedLabels, cursor: ReviewCursor, human: HumanLabels, run: int) -> None:
    """The item under review, what each modality proposes, and its keys."""
    with st.container(border=True, key="review_card"):
        if item is None:
            st.success(
                "Nothing left in this queue: change the filters or the search, switch off 'Not yet reviewed "
                "only', or take the suggestions below.",
                icon=":material/task_alt:",
            )
        else:
            r = now.result
            left, right = st.columns([2, 3])
            with left:
                pos = cursor.position + 1
                gap = f" · gap {base_gap[item]:.3g}" if np.isfinite(base_gap[item]) else ""
                st.caption(
                    f"Item {pos:,} of {len(cursor.queue):,} in the queue{gap} "
                    "(scaled distances to the seeds: the smaller, the closer the call)"
                )
                show_item(data, item, 260, 600)
                final = names[int(r.final_labels[item])]
                if r.disagree[item]:
                    why = " (nearer its seed)" if r.labeler == "cmcsl" else ""
                    how = f"decided by **{_md(modalities[int(r.decided_by[item])])}**{why}"
                else:
                    how = "the modalities agree now"
                st.markdown(f"{labeler_name(r)}: **{_md(final)}**, {how}")
                human_now = human.as_dict(names).get(item)
                extra = [f"human label **{_md(human_now)}**"] if human_now else []
                if st.session_state.get("review_truth"):
                    extra.append(f"label in the file **{_md(names[int(fs.y[item])])}**")
                if extra:
                    st.markdown(" · ".join(extra))
            with right:
                proposals(now, item)
        key_buttons(item, now, run)


def more_like_this_panel(item: int | None, now: AnnotatedLabels, human: HumanLabels) -> None:
    """The item's nearest neighbours per modality (built only while the expander is open)."""
    box = st.expander("More like this: the nearest items in each modality", icon=":material/join:", key="review_more_open",
                       on_change="rerun")  # fmt: skip
    if item is None or not box.open:
        return
    with box:
        more_like_this(
            data, preprocessed(data, request.preprocessing), item, now.final_labels, int(now.final_labels[item]),
            human.index, _label_many if annotator else None, key="review_more", per_row=6,
        )  # fmt: skip


def _recompute_suggestions() -> None:
    ss.pop("review_sug", None)


def suggestions_block(now: AnnotatedLabels, human: HumanLabels) -> None:
    """"Label these next": computed once per labels in force (0.3-0.5 s), then shown without the items
    labelled since; "Recompute" takes the new labels into account."""
    st.subheader("Label these next")
    c1, c2 = st.columns([1, 4], vertical_alignment="bottom")
    budget = int(c1.number_input("Budget k", min_value=1, max_value=500, value=SUGGESTIONS, step=1, key="review_budget"))
    c2.caption(
        f"The contested items whose label, once a person confirms the label {labeler_name(now.result)} rejected, would change the most "
        "other labels (greedy: each next one counts only the items the earlier ones do not change)."
    )
    memo_key = (data.key, request, budget)
    held = ss.get("review_sug")
    if held is None or held[0] != memo_key:
        X_list = preprocessed(data, request.preprocessing)
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
        st.dataframe(frame, hide_index=True, key="review_suggestions", column_config=config, row_height=56 if config else None)
    else:
        st.caption("Every suggested item is labelled now.")
    if len(human) != n_then:
        st.caption(f"Computed before your last {abs(len(human) - n_then)} label(s): recompute to count them in.")
    b1, b2, b3, _ = st.columns([2, 2, 2, 1])
    b1.button(
        f"Review these {len(rows)} next", key="review_take_suggestions", on_click=_review_suggested,
        args=(tuple(int(i) for i in rows),), disabled=not len(rows), icon=":material/playlist_play:",
    )  # fmt: skip
    b2.button("Recompute", key="review_recompute", on_click=_recompute_suggestions, icon=":material/refresh:")
    if suggested is not None:
        b3.button("Back to the disagreement queue", key="review_back_to_queue", on_click=_review_suggested, args=(None,))
        st.info(f"The review card walks the {len(suggested)} suggested items.", icon=":material/playlist_play:")


def _review_suggested(items: tuple[int, ...] | None) -> None:
    ss["review_suggested"] = items


def _exporter(fmt: str) -> Callable[[], bytes]:
    """The file's bytes, computed when the button is clicked (the labels in the database at that moment)."""

    def make() -> bytes:
        annotated = labels_with_annotations(fs, request, storage.human(), preprocessed(data, request.preprocessing))
        return export_bytes(fs, annotated, fmt)

    return make


def your_labels(human: HumanLabels) -> None:
    """The database, its counts, the downloads and the history."""
    st.subheader("Your labels")
    history = storage.history()
    st.caption(
        f"Database **{_md(storage.db_shown)}** · {len(history):,} actions · {len(human):,} human labels in force, "
        f"{annotator_labels(human, annotator):,} of them by {_md(annotator or 'you')}. Every action is saved at once "
        "(one transaction); undo is an action too, the history is kept."
    )
    cols = st.columns(len(EXPORTS) + 1)
    for col, (fmt, file_name, mime) in zip(cols, EXPORTS):
        col.download_button(
            f"Download {file_name}", _exporter(fmt), file_name=file_name, mime=mime, on_click="ignore",
            icon=":material/download:", key=f"review_download_{fmt}",
        )  # fmt: skip
    cols[-1].download_button(
        "Label Studio config (XML)", label_studio_config(names, with_image=fs.image_paths is not None),
        file_name=LS_CONFIG, mime="application/xml", on_click="ignore", icon=":material/download:",
        key="review_download_ls_config", help="The labeling config the Label Studio file imports into (see docs/review.md)",
    )  # fmt: skip
    if history:
        with st.expander("History (latest first)", icon=":material/history:"):
            st.dataframe(pd.DataFrame([vars(a) for a in reversed(history[-200:])]), hide_index=True, key="review_history")


@st.fragment
def review_panel() -> None:
    """Everything that moves with a label: counters, the card and its keys, the queue, suggestions, the
    history (reruns alone on a key press)."""
    with user_errors():
        human = storage.human()
        now = _annotated(data, request, human)
    _, cursor = ss["review_cursor"]
    reviewed = human.index if unreviewed_only else np.zeros(0, dtype=np.int64)
    metrics_row(now, cursor, reviewed, human)
    _show_flash()
    if not annotator:
        st.error("Give the annotator's name in the sidebar to save labels.", icon=":material/error:")
    item = cursor.current
    if item is None and queue_order in BATCH_ORDERS and suggested is None and cursor.queue:
        ss["review_next_round"] = next_round + 1  # this batch is done: the next one, from the labels now
        st.rerun()
    shown = ss.get("review_shown")
    drawing = shown is None or shown.item != item or shown.since is None or shown.used
    if drawing:  # a new card: its keys count KEY_DWELL seconds after this run has drawn all of it
        ss["review_shown"] = ShownCard(item)
    ss["review_card_now"] = now  # what the card proposes (a key accepts this)
    ss["review_runs"] = runs = ss.get("review_runs", 0) + 1
    review_card(item, now, cursor, human, run=runs)
    session_answers_block(ss, data.key)  # in the fragment: it follows every key press
    more_like_this_panel(item, now, human)
    with st.expander(f"The queue ({len(cursor.queue):,} items)", icon=":material/list:"):
        rows = np.asarray(cursor.queue[cursor.position : cursor.position + QUEUE_ROWS], dtype=np.int64)
        table = queue_table(fs, base.result, rows, human.index)
        table.insert(1, "name", [fs.item_name(int(i)) for i in rows])
        table, config = with_thumbnails(data, table)
        st.dataframe(table, hide_index=True, key="review_queue_table", height=260, column_config=config)
    suggestions_block(now, human)
    your_labels(human)
    if drawing:
        ss["review_shown"] = ShownCard(item, time.monotonic())


st.toggle("Show the label stored in the feature file", key="review_truth", help="The data's own label (hidden by default, so as not to bias the review)")
review_panel()

# ------------------------------------------------------------------ bulk: the Clusters page's selection
st.subheader("Label a selection")
selected = inspected()
if not selected:
    st.caption(
        "Select items with the lasso or box on the Clusters page (clicks set to only inspect them); "
        "they appear here to be labelled together."
    )
else:
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    bulk_label = c1.selectbox(
        f"Label the {len(selected):,} items selected on the Clusters page as", list(names), key="review_bulk_class"
    )
    c2.button(
        f"Label {len(selected):,} items", key="review_bulk", on_click=_label_many, args=(selected, bulk_label),
        disabled=not annotator, icon=":material/done_all:",
    )  # fmt: skip
    r = now.result
    frame, config = with_thumbnails(
        data,
        pd.DataFrame(
            {
                "index": selected,
                "name": [fs.item_name(i) for i in selected],
                labeler_name(r): [names[int(r.final_labels[i])] for i in selected],
                "human": [human.as_dict(names).get(i, "") for i in selected],
            }
        ),
    )
    st.dataframe(frame, hide_index=True, height=180, key="review_selection", column_config=config)

st.markdown("The same labels on the command line (human labels win; CMCSL labels the rest from seeds + humans):")
cli_block(data, labels_command(request, data.features, storage.db_shown, "labels.csv"))
