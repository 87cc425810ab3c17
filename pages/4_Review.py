"""Review: walk the items whose modalities disagree, closest calls first, and correct their labels.

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

from pathlib import Path
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
    default_db_path,
    disagreement_gap,
    labels_with_annotations,
    queue_table,
    review_queue,
    suggest_next,
)
from cmcsl_core.annotations.formats import export_bytes, label_studio_config
from cmcsl_core.annotations.store import default_annotator
from cmcsl_core.errors import CMCSLError
from cmcsl_core.method.request import LabelRequest
from cmcsl_studio_ui.annotating import data_fingerprint, open_store
from cmcsl_studio_ui.items import with_thumbnails
from cmcsl_studio_ui.labels import label_request
from cmcsl_studio_ui.loading import Dataset
from cmcsl_studio_ui.neighbours import more_like_this
from cmcsl_studio_ui.page import REVIEW, cli_block, start_page, user_errors
from cmcsl_studio_ui.pictures import picture
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
from cmcsl_studio_ui.review_keys import pressed_key, review_keys
from cmcsl_studio_ui.session import inspected
from cmcsl_studio_ui.views import preprocessed

QUEUE_ROWS = 300  # rows of the queue table shown
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
        X_list = preprocessed(data, request.preprocessing)
        memo = dict(list(memo.items())[-3:])  # the base run and the latest states
        memo[key] = labels_with_annotations(data.fs, request, human, X_list)
        ss["review_memo"] = memo
    return memo[key]


# ------------------------------------------------------------------ small drawing helpers
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()#+-.!|<>$~"})


def _md(text: str) -> str:
    """Text shown literally in markdown (tweets and plots hold *, #, $ ...)."""
    return text.translate(_MD_SPECIAL)


def show_item(data: Dataset, i: int, image_width: int, text_chars: int) -> None:
    """Item ``i``'s thumbnail and text (when the data has them) and its name."""
    fs = data.fs
    pic = picture(fs, i)
    if pic is not None:
        st.image(pic, width=image_width)
    st.markdown(f"**#{i}** {_md(fs.item_name(i))}")
    if fs.texts is not None and fs.texts[i]:
        text = fs.texts[i]
        st.markdown(f"> {_md(text[:text_chars])}{'…' if len(text) > text_chars else ''}")


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


def _persisted_text(key: str, default: str) -> None:
    """Give the text field ``key`` its value kept across page switches (or ``default``)."""
    if key not in ss:
        ss[key] = ss.get(f"{key}_kept", default)


def _keep(key: str) -> None:
    ss[f"{key}_kept"] = ss[key]


# ------------------------------------------------------------------ page
settings, data = start_page(REVIEW)
fs = data.fs
names = fs.class_names
modalities = fs.modality_names
st.title("Review")
st.caption(
    "The items whose modalities disagree, closest calls first. Accept a modality's label, choose another "
    "class or skip, with one key; every label is saved at once and joins the seeds, and CMCSL reruns with it."
)

fp = data_fingerprint(data)
default_db = str(default_db_path(fp))
if ss.get("review_db_for") != fp:  # another data set: its own database by default
    ss["review_db"] = ss["review_db_kept"] = default_db
    ss["review_db_for"] = fp
_persisted_text("review_db", default_db)
_persisted_text("review_by", default_annotator())
with st.sidebar:
    st.subheader("Annotations", divider="gray")
    st.text_input(
        "Database",
        key="review_db",
        on_change=_keep,
        args=("review_db",),
        help=f"SQLite file of the human labels (one per feature file). Default: {default_db}",
    )
    st.text_input("Annotator", key="review_by", on_change=_keep, args=("review_by",), help="Your name, saved with every label")
_keep("review_db")
_keep("review_by")
db_text = str(ss["review_db"]).strip()
annotator = str(ss["review_by"]).strip()

if not db_text:
    st.error(f"Give the path of the annotation database in the sidebar (default {default_db}).", icon=":material/error:")
    st.stop()
db_path = str(Path(db_text).expanduser())
request = label_request(data, settings)
with user_errors():
    store = open_store(data, db_path)
    human = store.current()  # a foreign or corrupt database is refused here
    base = _annotated(data, request, HumanLabels.empty())
    now = _annotated(data, request, human)

base_gap = disagreement_gap(base.result)
start_key = (data.key, request)
starts = ss.setdefault("review_start", {})
if start_key not in starts:
    starts[start_key] = progress_metrics(fs, now)

# ------------------------------------------------------------------ the queue
c1, c2, c3, c4 = st.columns([3, 2, 3, 2], vertical_alignment="bottom")
classes = c1.multiselect(
    "Classes", list(range(fs.n_classes)), format_func=names.__getitem__, key="review_classes",
    placeholder="all classes", help="Items for which any modality proposes one of these classes",
)  # fmt: skip
decided = c2.multiselect(
    "Decided by", list(modalities), key="review_decided", placeholder="any modality",
    help="Items whose disagreement CMCSL resolved with this modality's label",
)  # fmt: skip
query = c3.text_input(
    "Search the queue", key="review_query", placeholder="words of the text, a name, an id or #index",
    help="Keep only the queued items whose text, name or id contain this (case-insensitive)",
).strip()  # fmt: skip
unreviewed_only = c4.toggle("Not yet reviewed only", value=True, key="review_unreviewed")

suggested: tuple[int, ...] | None = ss.get("review_suggested")
cursor_key = (data.key, request, tuple(classes), tuple(decided), query, unreviewed_only, suggested)
held = ss.get("review_cursor")
if held is None or held[0] != cursor_key:
    if suggested is not None:
        order = np.asarray(suggested, dtype=np.int64)
    else:
        order = review_queue(base.result, classes or None, decided or None, human.index, unreviewed_only)
    order = filter_queue(fs, order, query)
    ss["review_cursor"] = (cursor_key, ReviewCursor.start(order, human.index if unreviewed_only else ()))

KEYS = key_map(modalities, names)


def _reviewed(store: AnnotationStore) -> np.ndarray:
    return store.current().index if unreviewed_only else np.zeros(0, dtype=np.int64)


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
        _flash("error", str(exc))
        return
    if done is None:  # skip
        cursor = cursor.skip(reviewed)
        _flash("info", f"Skipped #{item}.")
    elif done.kind == "undo":
        cursor = cursor.back_to(done.index)
        _flash("info", f"Undone: {done.describe()}")
    else:
        cursor = cursor.advance(reviewed)
        _flash("info", f"Saved: {done.describe()}")
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
        _flash("error", str(exc))
        return
    ckey, cursor = ss["review_cursor"]
    if cursor.current is not None and cursor.current in items:
        ss["review_cursor"] = (ckey, cursor.advance(reviewed))
    _flash("info", f"Saved {len(done)} labels '{label}' (one transaction).")


def metrics_row(now: AnnotatedLabels, cursor: ReviewCursor, reviewed: np.ndarray, human: HumanLabels) -> None:
    """Your labels, all human labels, CMCSL accuracy and disagreements now (with their change since the
    session started), and what is left in the queue."""
    start, current = starts[start_key], progress_metrics(fs, now)
    delta = metrics_delta(start, current)

    def moved(value: float, fmt: str) -> str | None:  # no arrow before anything moved
        return None if np.isnan(value) or value == 0 else f"{value:{fmt}} this session"

    cols = st.columns(5)
    cols[0].metric("Your labels", f"{annotator_labels(human, annotator):,}", help=f"Labels in force given by {annotator or 'you'}")
    cols[1].metric("Human labels", f"{current.human:,}", delta=moved(delta["human"], "+,.0f"), help="By every annotator")
    acc = "n/a" if np.isnan(current.accuracy) else f"{current.accuracy:.1%}"
    cols[2].metric(
        "CMCSL accuracy",
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
            kept = " · **CMCSL's choice**" if label == final and r.disagree[i] else ""
            st.markdown(f"**{name}** proposes **{_md(names[label])}**{kept}")
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
            f"Accept {modalities[a.value]}" + ("" if label is None else f": {names[label]}") + f" ({k})",
            key=button_key(k, item), on_click=_on_key, args=(k, item, now),
            disabled=disabled or item is None, width="stretch", type="primary" if chosen else "secondary",
        )  # fmt: skip
    class_keys = [(k, a) for k, a in KEYS.items() if a.kind == "class"]
    for col, (k, a) in zip(st.columns(max(len(class_keys), 4)), class_keys):
        col.button(
            f"{names[a.value]} ({k})", key=button_key(k, item), on_click=_on_key, args=(k, item, now),
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
                    how = f"decided by **{modalities[int(r.decided_by[item])]}** (nearer its seed)"
                else:
                    how = "the modalities agree now"
                st.markdown(f"CMCSL: **{_md(final)}**, {how}")
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
        "The contested items whose label, once a person confirms the label CMCSL rejected, would change the most "
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
                "CMCSL": [names[int(r.final_labels[i])] for i in rows],
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
        annotated = labels_with_annotations(fs, request, store, preprocessed(data, request.preprocessing))
        return export_bytes(fs, annotated, fmt)

    return make


def your_labels(human: HumanLabels) -> None:
    """The database, its counts, the downloads and the history."""
    st.subheader("Your labels")
    history = store.history()
    st.caption(
        f"Database **{store.path}** · {len(history):,} actions · {len(human):,} human labels in force, "
        f"{annotator_labels(human, annotator):,} of them by {annotator or 'you'}. Every action is saved at once "
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
        human = store.current()
        now = _annotated(data, request, human)
    _, cursor = ss["review_cursor"]
    reviewed = human.index if unreviewed_only else np.zeros(0, dtype=np.int64)
    metrics_row(now, cursor, reviewed, human)
    _show_flash()
    if not annotator:
        st.error("Give the annotator's name in the sidebar to save labels.", icon=":material/error:")
    item = cursor.current
    shown = ss.get("review_shown")
    drawing = shown is None or shown.item != item or shown.since is None or shown.used
    if drawing:  # a new card: its keys count KEY_DWELL seconds after this run has drawn all of it
        ss["review_shown"] = ShownCard(item)
    ss["review_card_now"] = now  # what the card proposes (a key accepts this)
    ss["review_runs"] = runs = ss.get("review_runs", 0) + 1
    review_card(item, now, cursor, human, run=runs)
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
                "CMCSL": [names[int(r.final_labels[i])] for i in selected],
                "human": [human.as_dict(names).get(i, "") for i in selected],
            }
        ),
    )
    st.dataframe(frame, hide_index=True, height=180, key="review_selection", column_config=config)

st.markdown("The same labels on the command line (human labels win; CMCSL labels the rest from seeds + humans):")
cli_block(data, labels_command(request, data.features, db_path, "labels.csv"))
