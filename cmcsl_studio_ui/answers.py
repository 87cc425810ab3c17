"""The annotator's own session on the Review page: labels given against how often the studio's proposal was chosen.

Every label given on the review card is recorded in the session (the item, what the
studio proposed for it at that moment: the labeler's final label, and the class the
annotator chose). The block under the card shows the running share of answers that
equalled the proposal, per number of labels given: the accuracy of the studio's labels
measured on the items this annotator reviewed, the same measure
``benchmarks/bench_review.py`` reports for a simulated annotator.
"""

from __future__ import annotations

from typing import Any, MutableMapping, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from cmcsl_core.annotations.simulate import proposal_agreement

__all__ = ["SESSION_KEY", "record_answer", "session_answers", "session_answers_block"]

SESSION_KEY = "review_answers"
"""Session-state key of the answers: ``{data key: [(item, proposed class, chosen class), ...]}``."""


def record_answer(
    state: MutableMapping[str, Any],
    data_key: str,
    item: int,
    proposed: int,
    chosen: str | None,
    class_names: Sequence[str],
) -> None:
    """Remember one answer (``chosen`` is a class name; an unknown name or None is not recorded)."""
    if chosen is None or chosen not in class_names:
        return
    answers = dict(state.get(SESSION_KEY) or {})
    answers[data_key] = [*answers.get(data_key, []), (int(item), int(proposed), list(class_names).index(chosen))]
    state[SESSION_KEY] = answers


def session_answers(state: MutableMapping[str, Any], data_key: str) -> pd.DataFrame:
    """The session's answers on ``data_key``: ``labels_given``, ``item``, ``proposed``, ``chosen``, ``agreement``
    (the running share of answers equal to the proposal)."""
    rows = (state.get(SESSION_KEY) or {}).get(data_key, [])
    frame = pd.DataFrame(rows, columns=["item", "proposed", "chosen"])
    frame.insert(0, "labels_given", np.arange(1, len(frame) + 1))
    frame["agreement"] = proposal_agreement(frame["proposed"].to_numpy(), frame["chosen"].to_numpy())
    return frame


def session_answers_block(state: MutableMapping[str, Any], data_key: str) -> None:
    """Labels given in this session and how often the studio's proposal was the answer (a metric and a line)."""
    frame = session_answers(state, data_key)
    if frame.empty:
        return
    with st.expander(f"Your session: {len(frame):,} labels given", icon=":material/insights:"):
        last = float(frame["agreement"].iloc[-1])
        c1, c2 = st.columns([1, 3])
        c1.metric(
            "Studio's proposal chosen",
            f"{last:.0%}",
            help="Share of your answers that equalled the label the studio proposed for that item at that moment: "
            "the accuracy of its labels on the items you reviewed.",
        )
        c2.line_chart(frame, x="labels_given", y="agreement", height=180, x_label="labels given",
                      y_label="proposal chosen (running share)")
