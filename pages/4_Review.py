"""Review: walk the items whose modalities disagree, in the order chosen on the page, and correct their labels.

Every action is one transaction in the annotation database (:class:`AnnotationStore`); human
labels join the seeds, CMCSL reruns with them, and the page shows how the pseudo-label accuracy
and the disagreement count moved since the session started. The walk, the keys and the metrics
are pure logic in :mod:`cmcsl_studio_ui.review`; the card is :mod:`cmcsl_studio_ui.review_card`,
the rest :mod:`cmcsl_studio_ui.review_page`, each taking the page's
:class:`~cmcsl_studio_ui.review_session.ReviewContext`. Everything that moves with a label is one
fragment (:func:`~cmcsl_studio_ui.review_page.review_panel`), so a key press reruns only that.

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

import streamlit as st

from cmcsl_core.annotations import HumanLabels
from cmcsl_studio_ui.annotating import review_storage
from cmcsl_studio_ui.labels import label_request
from cmcsl_studio_ui.page import REVIEW, cli_block, start_page, user_errors
from cmcsl_studio_ui.review import key_map, labels_command
from cmcsl_studio_ui.review_page import hold_cursor, queue_controls, review_panel, selection_block, session_start
from cmcsl_studio_ui.review_session import ReviewContext, annotated
from cmcsl_studio_ui.session import inspected

settings, data = start_page(REVIEW)
fs = data.fs
st.title("Review")
st.caption(
    "The items whose modalities disagree, in the order chosen below. Accept a modality's label, choose another "
    "class or skip, with one key; every label is saved at once and joins the seeds, and CMCSL reruns with it."
)

request = label_request(data, settings)
with user_errors():
    storage = review_storage(data)  # the sidebar's Annotations: database and who labels (served: fixed, per visitor)
    human = storage.human()  # a foreign or corrupt database is refused here
    base = annotated(data, request, HumanLabels.empty())
    now = annotated(data, request, human)
start = session_start(data, request, now)

queue = queue_controls(data, base)
ctx = ReviewContext(data, request, storage, base, start, key_map(fs.modality_names, fs.class_names), queue)
hold_cursor(ctx, now, human)

st.toggle(
    "Show the label stored in the feature file",
    key="review_truth",
    help="The data's own label (hidden by default, so as not to bias the review)",
)
review_panel(ctx)
selection_block(ctx, inspected(), now, human)

st.markdown("The same labels on the command line (human labels win; CMCSL labels the rest from seeds + humans):")
cli_block(data, labels_command(request, data.features, storage.db_shown, "labels.csv"))
