"""Teacher: everyone's labels on the chosen data set, agreement between annotators, a download.

Served to a class, it opens to the teacher only (the teacher's key, or a listed login); the
view itself is :func:`cmcsl_studio_ui.teacher.teacher_view`.
"""

from __future__ import annotations

import streamlit as st

from cmcsl_studio_ui.identity import teacher_gate
from cmcsl_studio_ui.page import TEACHER, start_page, user_errors
from cmcsl_studio_ui.teacher import teacher_view

settings, data = start_page(TEACHER)
st.title("Teacher")
if teacher_gate():
    with user_errors():
        teacher_view(data)
