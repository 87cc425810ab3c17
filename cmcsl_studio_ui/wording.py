"""Data-aware wording: what the pages call the items and their modalities (pure, no Streamlit).

The home and "How CMCSL works" pages speak of movie posters and plots on MM-IMDb data,
of tweet images and texts on MVSA-Single, and of plain items otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from cmcsl_core.datasets.features import FeatureSet

from .text import md

__all__ = ["Wording", "wording"]

_MOVIE_SOURCES = ("demo", "hdf5", "w4k2", "raw")


@dataclass(frozen=True)
class Wording:
    """How to speak of one data set's items.

    Attributes
    ----------
    item, items : str
        The noun for one item and for several ("tweet", "tweets").
    nouns : dict of str to str
        Per modality name, what that modality of an item is ("posters", "tweet images").
    conflict : str
        One sentence on why two modalities may label an item differently.
    """

    item: str
    items: str
    nouns: dict[str, str]
    conflict: str

    def modalities(self) -> str:
        """``movie **posters** = *visual*, **plots** = *text*``-style list of the modalities."""
        return ", ".join(f"**{md(noun)}** = *{md(name)}*" for name, noun in self.nouns.items())


def _kind(source: str) -> str:
    name = (source or "").split(":", 1)[0].strip().lower()
    if name.startswith("mvsa"):
        return "tweets"
    if name in _MOVIE_SOURCES:
        return "movies"
    return "items"


def wording(fs: FeatureSet) -> Wording:
    """The wording for ``fs`` (from its ``source``: MM-IMDb movies, MVSA tweets, or generic items)."""
    kind = _kind(fs.source)
    names = fs.modality_names

    def noun(name: str, image: str, text: str) -> str:
        return text if "text" in name.lower() else image

    if kind == "tweets":
        return Wording(
            "tweet",
            "tweets",
            {n: noun(n, "tweet images", "tweet texts") for n in names},
            "A photo may look cheerful while the words are sarcastic or sad: which one to trust?",
        )
    if kind == "movies":
        return Wording(
            "movie",
            "movies",
            {n: noun(n, "movie posters", "plots") for n in names},
            "A poster may look like a horror film while the plot reads like a romance: which one to trust?",
        )
    return Wording(
        "item",
        "items",
        {n: noun(n, "images", "texts") if n.lower() in ("image", "visual", "text") else n for n in names},
        "An item's image may suggest one class while its text suggests another: which one to trust?",
    )
