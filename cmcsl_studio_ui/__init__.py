"""The Streamlit side of cmcsl-studio: the pages' shared frame, state, data, figures.

Pages stay thin: ``settings, data = start_page(PAGE)`` (:mod:`.page`), then a request
(:mod:`.labels`, :mod:`.curves`) run by :mod:`cmcsl_core`, then figures (:mod:`.figures`).
All computation lives in :mod:`cmcsl_core` (no Streamlit there); every command line the
app shows is rendered by a request type's ``.command()``.

=============  ==================================================================
settings       :class:`Settings` (what the sidebar chooses), defaults, labels (pure)
url            Settings <-> URL query parameters (pure)
session        st.session_state accessors: settings, hand-picked seeds, inspected items
sidebar        the shared sidebar widgets
loading        :class:`Dataset`: a feature set loaded from a frozen ``SourceSpec`` (cached)
page           page registry + :func:`start_page` (navigation, sidebar, data), errors, command block
labels         the session's seeds as a ``LabelRequest``, run by the library
views          2-D views (shipped/cached UMAP, else PCA) and background-UMAP polling
jobs           background UMAP worker processes (no Streamlit import)
hover          hover HTML of the scatter points
figures        plotly/matplotlib figures (no Streamlit import)
seeding        picking seeds: chart selections, seed list, item table
items          one item in detail (:func:`item_details`), thumbnail columns, galleries
thumbs         item thumbnails as data URLs, square-padded for galleries (no Streamlit)
human          the annotators' own image-vs-text disagreement vs CMCSL's (metrics block)
wording        data-aware wording: tweets / movies / items, modality nouns (pure)
curves         BAC curves: cached ``CurveConfig`` runs, the paper overlay, image export
=============  ==================================================================

This ``__init__`` imports nothing, so the background UMAP worker
(:mod:`cmcsl_studio_ui.jobs`) can be imported in a fresh process without Streamlit.
"""
