"""The Review page's card: the item under review, what each modality proposes, its buttons and keys.

Keys typed ahead never label an unseen item: every card has its own buttons (a press names
the card it was pressed on) and a key counts only on the card on screen, once it has been
shown for a moment (:func:`cmcsl_studio_ui.review.key_verdict`). The callbacks here
(:func:`on_key`, :func:`label_many`) store the action in one transaction and move the cursor
held in ``st.session_state["review_cursor"]``; errors are shown on the card, never raised.
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial

import numpy as np
import streamlit as st

from cmcsl_core.annotations import HUMAN, AnnotatedLabels, HumanLabels
from cmcsl_core.errors import CMCSLError

from .answers import record_answer
from .labels import labeler_name
from .loading import Dataset
from .page import error_text
from .review import KEY_DWELL, ReviewAction, ReviewCursor, apply_action, button_key, key_verdict, nearest_seed_item
from .review_keys import pressed_key, review_keys
from .review_session import ReviewContext, flash
from .text import md
from .thumbs import item_thumbnail

__all__ = ["show_item", "on_key", "label_many", "review_card"]

CARD_IMAGE_WIDTH = 260
"""Pixels of the picture of the item under review."""
CARD_TEXT_CHARS = 600
"""Characters of its text shown (the rest is cut with an ellipsis)."""
SEED_IMAGE_WIDTH = 120
"""Pixels of the picture of the seed behind a modality's proposal."""
SEED_TEXT_CHARS = 160
"""Characters of that seed's text."""
CLASS_COLUMNS = 4
"""Columns the class buttons share at least (with two classes, each button keeps a quarter of the card)."""

_CURSOR = "review_cursor"
_SHOWN = "review_shown"


def show_item(data: Dataset, i: int, image_width: int, text_chars: int) -> None:
    """Item ``i``'s thumbnail and text (when the data has them) and its name."""
    fs = data.fs
    thumb = item_thumbnail(fs, i)  # re-encoded by the app, or the placeholder
    if thumb:
        st.image(thumb, width=image_width)
    st.markdown(f"**#{i}** {md(fs.item_name(i))}")
    if fs.texts is not None and fs.texts[i]:
        text = fs.texts[i]
        st.markdown("> " + md(text[:text_chars] + ("…" if len(text) > text_chars else "")))


# ------------------------------------------------------------------ callbacks
def on_key(ctx: ReviewContext, key: str, item: int | None, card: AnnotatedLabels | None, timed: bool = True) -> None:
    """A key or button pressed on the card of ``item``: store the action and move the cursor (one
    transaction; errors are shown, not raised). A key pressed on a card no longer shown, a second key
    on one card, or (``timed``: a button) one pressed before the card was on screen for a moment, is
    dropped: never applied to an item the annotator has not seen."""
    ss = st.session_state
    action: ReviewAction = ctx.keys[key]
    ckey, cursor = ss[_CURSOR]
    shown = ss.get(_SHOWN)
    dwell = float(ss.get("review_key_dwell", KEY_DWELL))  # settable for tests, which run slower than a person
    dropped = key_verdict(item, shown, time.monotonic(), dwell=dwell, timed=timed)
    if dropped is None and item != cursor.current:
        dropped = "it was pressed on a card that is no longer shown"
    if dropped is not None:
        flash("info", f"Ignored the key {key!r}: {dropped} (keys count only on the card you see).")
        return
    ss[_SHOWN] = replace(shown, used=True)
    if action.kind == "previous":
        ss[_CURSOR] = (ckey, cursor.previous())
        return
    if (item is None and action.kind != "undo") or card is None:
        return
    try:
        done = apply_action(action, -1 if item is None else item, card.result, ctx.store, ctx.annotator)
        reviewed = ctx.reviewed()
    except CMCSLError as exc:
        ss[_SHOWN] = shown  # nothing done: the card's keys still count
        flash("error", error_text(exc))
        return
    if done is None:  # skip
        cursor = cursor.skip(reviewed)
        flash("info", f"Skipped #{item}.")
    elif done.kind == "undo":
        cursor = cursor.back_to(done.index)
        flash("info", f"Undone: {md(done.describe())}")
    else:
        cursor = cursor.advance(reviewed)
        flash("info", f"Saved: {md(done.describe())}")
        record_answer(ss, ctx.data.key, done.index, int(card.result.final_labels[done.index]), done.label, ctx.names)
    ss[_CURSOR] = (ckey, cursor)


def on_browser_key(ctx: ReviewContext) -> None:
    """The keyboard component sent a key (timed in the browser; each (token, seq) acts once)."""
    ss = st.session_state
    got = pressed_key()
    if got is None or str(got.get("key")) not in ctx.keys:
        return
    ident = (got.get("token"), got.get("seq"))
    if ident == ss.get("review_key_seen"):  # the same press delivered twice
        return
    ss["review_key_seen"] = ident
    item = got.get("item")
    on_key(ctx, str(got["key"]), None if item is None else int(item), ss.get("review_card_now"), timed=False)


def label_many(ctx: ReviewContext, items: list[int], label: str) -> None:
    """Label ``items`` alike in one transaction (More like this, a Clusters selection); the card moves on
    when its item was among them."""
    ss = st.session_state
    try:
        done = ctx.store.label_many(items, [label] * len(items), ctx.annotator)
        reviewed = ctx.reviewed()
    except CMCSLError as exc:
        flash("error", error_text(exc))
        return
    ckey, cursor = ss[_CURSOR]
    if cursor.current is not None and cursor.current in items:
        ss[_CURSOR] = (ckey, cursor.advance(reviewed))
    flash("info", f"Saved {len(done)} labels '{md(label)}' (one transaction).")


# ------------------------------------------------------------------ drawing
def proposals(ctx: ReviewContext, now: AnnotatedLabels, i: int) -> None:
    """Per modality: the label it proposes and the nearest seed behind it (with its picture and text)."""
    r = now.result
    final = int(r.final_labels[i])
    for col, (m, name) in zip(st.columns(len(ctx.modalities)), enumerate(ctx.modalities)):
        with col, st.container(border=True):
            label = int(r.labels[m, i])
            kept = f" · **{labeler_name(r)}'s choice**" if label == final and r.disagree[i] else ""
            st.markdown(f"**{md(name)}** proposes **{md(ctx.names[label])}**{kept}")
            st.caption(f"distance to its seed {r.distances[m, i]:.3f}")
            seed = nearest_seed_item(r, m, i)
            human_seed = now.provenance[seed] == HUMAN
            st.caption(f"nearest {'human-labelled item' if human_seed else 'seed'}:")
            show_item(ctx.data, seed, SEED_IMAGE_WIDTH, SEED_TEXT_CHARS)


def key_buttons(ctx: ReviewContext, item: int | None, now: AnnotatedLabels, run: int) -> None:
    """The card's buttons (this card's own: a click names the item it was made on) and its keyboard."""
    keys, names = ctx.keys, ctx.names
    disabled = not ctx.annotator
    accept = [(k, a) for k, a in keys.items() if a.kind == "modality"]
    for col, (k, a) in zip(st.columns(len(accept) + 2), accept):
        label = None if item is None else int(now.result.labels[a.value, item])
        chosen = label is not None and label == int(now.result.final_labels[item])  # CMCSL's pick: primary
        col.button(
            f"Accept {md(ctx.modalities[a.value])}" + ("" if label is None else f": {md(names[label])}") + f" ({k})",
            key=button_key(k, item), on_click=on_key, args=(ctx, k, item, now),
            disabled=disabled or item is None, width="stretch", type="primary" if chosen else "secondary",
        )
    class_keys = [(k, a) for k, a in keys.items() if a.kind == "class"]
    for col, (k, a) in zip(st.columns(max(len(class_keys), CLASS_COLUMNS)), class_keys):
        col.button(
            f"{md(names[a.value])} ({k})", key=button_key(k, item), on_click=on_key, args=(ctx, k, item, now),
            disabled=disabled or item is None, width="stretch",
        )
    c_prev, c_skip, c_undo, _ = st.columns([1, 1, 1, 3])
    for col, kind, title, icon in (
        (c_prev, "previous", "Previous", ":material/skip_previous:"),
        (c_skip, "skip", "Skip", ":material/skip_next:"),
        (c_undo, "undo", "Undo", ":material/undo:"),
    ):
        k = next(k for k, a in keys.items() if a.kind == kind)
        col.button(
            f"{title} ({k})", key=button_key(k, item), on_click=on_key, args=(ctx, k, item, now),
            disabled=(disabled and kind != "previous") or (item is None and kind == "skip"), icon=icon, width="stretch",
        )
    captions = {}
    for k, a in keys.items():
        what = a.caption.split(" ", 1)[1]
        captions[k] = f"label {what}" if a.kind == "class" else what
    review_keys(keys, captions, item, f"{item}:{run}", run, enabled=not disabled, on_key=partial(on_browser_key, ctx))


def _verdict_line(ctx: ReviewContext, now: AnnotatedLabels, human: HumanLabels, item: int) -> None:
    """The labeler's label for ``item`` and who decided it, the human label and (asked for) the file's."""
    r = now.result
    final = ctx.names[int(r.final_labels[item])]
    if r.disagree[item]:
        why = " (nearer its seed)" if r.labeler == "cmcsl" else ""
        how = f"decided by **{md(ctx.modalities[int(r.decided_by[item])])}**{why}"
    else:
        how = "the modalities agree now"
    st.markdown(f"{labeler_name(r)}: **{md(final)}**, {how}")
    human_now = human.as_dict(ctx.names).get(item)
    extra = [f"human label **{md(human_now)}**"] if human_now else []
    if st.session_state.get("review_truth"):
        extra.append(f"label in the file **{md(ctx.names[int(ctx.fs.y[item])])}**")
    if extra:
        st.markdown(" · ".join(extra))


def review_card(
    ctx: ReviewContext, item: int | None, now: AnnotatedLabels, cursor: ReviewCursor, human: HumanLabels, run: int
) -> None:
    """The item under review, what each modality proposes, and its keys."""
    with st.container(border=True, key="review_card"):
        if item is None:
            st.success(
                "Nothing left in this queue: change the filters or the search, switch off 'Not yet reviewed "
                "only', or take the suggestions below.",
                icon=":material/task_alt:",
            )
        else:
            left, right = st.columns([2, 3])
            with left:
                pos = cursor.position + 1
                gap_of = ctx.base_gap[item]
                gap = f" · gap {gap_of:.3g}" if np.isfinite(gap_of) else ""
                st.caption(
                    f"Item {pos:,} of {len(cursor.queue):,} in the queue{gap} "
                    "(scaled distances to the seeds: the smaller, the closer the call)"
                )
                show_item(ctx.data, item, CARD_IMAGE_WIDTH, CARD_TEXT_CHARS)
                _verdict_line(ctx, now, human, item)
            with right:
                proposals(ctx, now, item)
        key_buttons(ctx, item, now, run)
