"""Exception types of :mod:`cmcsl_core`.

Every mistake a user can make (a bad file, an impossible ``b_class``, an unknown
name) raises :class:`CMCSLError` or a subclass. Front ends catch exactly this type
and show its message as one line: the CLI prints ``error: <message>`` and exits
with code 2, the app shows ``st.error(<message>)``. Anything else is a bug.
"""

from __future__ import annotations

__all__ = ["CMCSLError", "FeatureFileError", "SeedError", "SourceError"]


class CMCSLError(ValueError):
    """A user mistake, reported as one clear line (never a traceback)."""


class FeatureFileError(CMCSLError):
    """A feature file is missing, malformed or unsafe to load."""


class SeedError(CMCSLError):
    """Seeds cannot be drawn or are invalid (e.g. ``b_class`` larger than a class)."""


class SourceError(CMCSLError):
    """A data source (demo, hdf5, w4k2, ...) cannot produce the requested data."""
