"""The Streamlit side of cmcsl-studio: shared sidebar and state, cached data, figures.

Pages stay thin: ``settings = sidebar()``, then ``load_data``/``labeling`` from
:mod:`cmcsl_studio_ui.data`, then figures from :mod:`cmcsl_studio_ui.figures`.
All computation lives in :mod:`cmcsl_core` (no Streamlit there).

This ``__init__`` imports nothing, so the background UMAP worker
(:mod:`cmcsl_studio_ui.jobs`) can be imported in a fresh process without Streamlit.
"""
