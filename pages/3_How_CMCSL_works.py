"""How CMCSL works: the algorithm's steps on the current data, one at a time (:mod:`cmcsl_studio_ui.how_steps`)."""

from __future__ import annotations

import streamlit as st

from cmcsl_studio_ui.dominance import dominance_notice
from cmcsl_studio_ui.figures import scatter_view
from cmcsl_studio_ui.hover import hover_base
from cmcsl_studio_ui.how_steps import HowContext, Step, step_picker
from cmcsl_studio_ui.labels import is_manual, label_request, run_labeling
from cmcsl_studio_ui.page import HOW, start_page, user_errors
from cmcsl_studio_ui.projections import views


def step_views(how: HowContext, step: Step) -> None:
    """One scatter view per modality, coloured as the step says."""
    data, preprocessing = how.data, how.settings.preprocessing
    base = hover_base(data)
    names = data.fs.modality_names
    for col, (m, name), view in zip(st.columns(len(names)), enumerate(names), views(data, preprocessing)):
        with col:
            fig = scatter_view(
                view.xy, data.fs, how.result, m, step.color_mode, base, f"{name} · {view.method}",
                highlight_disagreements=step.resolved, dragmode="zoom",
            )
            st.plotly_chart(fig, key=f"how_view_{m}", config={"displaylogo": False})


settings, data = start_page(HOW)
st.title("How CMCSL works")
request = label_request(data, settings)
with user_errors():
    result = run_labeling(data, request)
how = HowContext.of(data, settings, result, manual=is_manual(request))
if how.shown_as is not None:  # another labeler than the paper's: its own steps 2 and 4
    st.caption(how.shown_as.caption)

step = step_picker()
st.info(step.explain(how), icon=":material/lightbulb:")
if step.about_disagreements:  # say when one modality decides them all
    dominance_notice(data.fs, result, settings.preprocessing)
step_views(how, step)
step.examples(how)
