"""Source ``demo``: a deterministic *simulation* of the paper's 20 MM-IMDb subsets.

No movie in it is real. It exists so that the dashboard works without a download,
and it is calibrated so that the lessons it teaches are true ones: per subset and
modality, GaussianNB under the paper's protocol (L2STD, 5 x 2 CV, "oracle" class
weights) reaches the paper's published FULL level (within 0.03) and UNI level
averaged over ``b_class = 1..20`` (within 0.05). PRE and CMCSL are *not* calibrated;
how they compare with the paper is whatever emerges (PRE lands within 0.05 of the
paper's everywhere, because single features are weak: see :data:`BASE_NOISE`).

The model
---------
Each subset keeps 80% of Table I's movies per genre (the part the paper
experimented on). For every modality, each class has a prototype; an item is its
class's prototype plus strong isotropic noise and a class-independent "style"
offset in a low-dimensional subspace, except that with some probability
it is *ambiguous*: it lies partway, by an amount ``a`` in ``[0, 1]``, towards the
prototype of another class (``x = (1 - a) p_true + a p_other + style + noise``). Items with
``a > 0.5`` sit nearer the other class, so no classifier gets them right.

Two constants per subset and modality, fitted by ``scripts/calibrate_demo.py`` and
stored in ``data/demo_calibration.json``:

``wrong``  the fraction of items placed past the midpoint (sets the FULL level);
``nuisance``  the spread of items along a few class-independent "style" directions
              (like poster colour or the wording of a plot). Nearest-seed propagation
              is misled by them (an item's nearest seed is often one of similar style),
              GNB much less, so this sets the gap between UNI and FULL.

Ambiguity is drawn per modality, linked by a Gaussian copula (correlation
:data:`CROSS_MODAL_CORRELATION`) and sharing the other class, so the modalities err
on partly different items and some items are hard in both.

The scales differ as in the paper: the visual modality (512 features, like pooled
CNN activations) is a ReLU of the latent point, times heterogeneous per-feature
scales and a per-item magnitude; the text modality (384 features, like MiniLM) is
L2-normalised. RAW, L2 and L2STD preprocessing therefore give visibly different
CMCSL results, in the paper's pattern: under RAW the unit-norm text rows always look
nearer (CMCSL keeps text's UNI labels); under L2 alone the visual rows, which share
a large positive mean and so point in similar directions, always look nearer
(CMCSL keeps visual's UNI labels, which hurts text); L2STD balances the two.

Everything is deterministic (NumPy ``default_rng`` streams keyed by the subset
and generator version) and cached on disk.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import numpy as np

from cmcsl_core.cache import cache_key, cached_arrays
from cmcsl_core.datasets.features import FeatureSet
from cmcsl_core.datasets.subsets import DATA_DIR, Subset, demo_counts, load_subsets, resolve_subset
from cmcsl_core.errors import SourceError

__all__ = [
    "GENERATOR_VERSION",
    "MODALITY_NAMES",
    "DIMENSIONS",
    "CALIBRATION_FILE",
    "ModalityConstants",
    "NUISANCE_RANK",
    "BASE_NOISE",
    "load_calibration",
    "demo_constants",
    "simulate",
    "make_demo",
]

GENERATOR_VERSION = 3
"""Bump when the generator changes (it is part of the cache key and the calibration file)."""

MODALITY_NAMES: tuple[str, str] = ("visual", "text")
DIMENSIONS: dict[str, int] = {"visual": 512, "text": 384}
CALIBRATION_FILE = DATA_DIR / "demo_calibration.json"

CROSS_MODAL_CORRELATION = 0.5
"""Correlation (Gaussian copula) of an item's ambiguity in the two modalities."""

NUISANCE_RANK = 8
"""Number of class-independent style directions per modality."""

BASE_NOISE: dict[str, float] = {"visual": 1.6, "text": 3.0}
"""Per-coordinate standard deviation of the isotropic noise, per modality (prototype entries have sd 1).

Large on purpose: as in real deep features, each single feature carries little class
information and the classes separate only in aggregate over hundreds of features, so
GNB fitted on a handful of labelled seeds (PRE) estimates its means and, above all,
its per-feature variances poorly and learns slowly with ``b_class``, while nearest-seed
propagation followed by GNB on thousands of pseudo-labelled items (UNI) suffers much less."""

_VISUAL_OFFSET = 2.0  # ReLU threshold: a few % of visual activations are zero; rows share a large mean
_VISUAL_SCALE_SPREAD = 0.8  # log-sd of the per-feature scales
_VISUAL_MAGNITUDE_SPREAD = 0.3  # log-sd of the per-item magnitude (removed by L2)
_TEXT_COMMON = 0.6  # weight of the direction all plot embeddings share
_MODALITY_STREAM = {"visual": 1, "text": 2}


@dataclass(frozen=True)
class ModalityConstants:
    """The two calibrated constants of one subset and modality.

    Attributes
    ----------
    wrong : float
        Fraction of items (per class) placed past the midpoint towards another class, in ``[0, 0.95]``.
    nuisance : float
        Standard deviation of the items' coordinates in the :data:`NUISANCE_RANK` style
        directions (each direction, like each prototype, has entries of sd 1).
    """

    wrong: float
    nuisance: float

    def ambiguity(self) -> tuple[float, float]:
        """``(rate, power)``: ambiguous with probability ``rate``, amount ``a = U ** power``."""
        w = float(np.clip(self.wrong, 0.0, 0.95))
        if w <= 0.5:
            return 2.0 * w, 1.0
        return 1.0, float(np.log(0.5) / np.log(1.0 - w))


@lru_cache(maxsize=1)
def load_calibration(path: Path = CALIBRATION_FILE) -> dict:
    """The calibration file ``data/demo_calibration.json`` as a dict.

    Raises
    ------
    SourceError
        If the file is missing or unreadable.
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SourceError(f"the demo calibration file {path} cannot be read ({exc}); reinstall cmcsl-studio") from None


def demo_constants(subset: "str | Subset") -> dict[str, ModalityConstants]:
    """The calibrated constants of a paper subset, per modality name."""
    sub = resolve_subset(subset)
    entry = load_calibration().get("subsets", {}).get(sub.name)
    if entry is None:
        raise SourceError(
            f"the demo source simulates only the paper's subsets ({', '.join(load_subsets())}); "
            f"{sub.name} is not one of them; load real data for custom subsets"
        )
    return {m: ModalityConstants(float(entry[m]["wrong"]), float(entry[m]["nuisance"])) for m in MODALITY_NAMES}


def _seed(subset_name: str, *stream: int) -> np.random.Generator:
    """An independent, reproducible random stream for ``subset_name`` and ``stream``."""
    return np.random.default_rng([GENERATOR_VERSION, zlib.crc32(subset_name.encode()), *stream])


def _norm_cdf(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(x)


@dataclass(frozen=True)
class _SharedDraws:
    """Per-item draws shared by the modalities (they fix which items are hard where)."""

    y: np.ndarray
    other: np.ndarray  # the class an item may lean towards (same in both modalities)
    u_rate: dict[str, np.ndarray]  # uniforms deciding whether the item is ambiguous
    u_amount: dict[str, np.ndarray]  # uniforms setting how far it leans


def _shared_draws(name: str, counts: tuple[int, ...]) -> _SharedDraws:
    rng = _seed(name, 0)
    k = len(counts)
    y = np.repeat(np.arange(k), counts)
    rng.shuffle(y)
    n = y.size
    other = (y + rng.integers(1, k, size=n)) % k  # uniform over the other classes
    rho = CROSS_MODAL_CORRELATION
    u: list[dict[str, np.ndarray]] = []
    for _ in range(2):
        g = rng.standard_normal((2, n))
        g[1] = rho * g[0] + np.sqrt(1.0 - rho**2) * g[1]
        u.append(dict(zip(MODALITY_NAMES, _norm_cdf(g))))
    return _SharedDraws(y=y, other=other, u_rate=u[0], u_amount=u[1])


def _simulate_modality(
    name: str, modality: str, shared: _SharedDraws, const: ModalityConstants
) -> tuple[np.ndarray, np.ndarray]:
    """Features of one modality and each item's lean ``a`` towards ``shared.other``."""
    rng = _seed(name, _MODALITY_STREAM[modality])
    d = DIMENSIONS[modality]
    k = int(shared.y.max()) + 1
    protos = rng.standard_normal((k, d))
    rate, power = const.ambiguity()
    ambiguous = shared.u_rate[modality] < rate
    lean = np.where(ambiguous, shared.u_amount[modality] ** power, 0.0)
    X = (1.0 - lean)[:, None] * protos[shared.y] + lean[:, None] * protos[shared.other]
    style = rng.standard_normal((NUISANCE_RANK, d))
    X += (const.nuisance * rng.standard_normal((X.shape[0], NUISANCE_RANK))) @ style
    X += BASE_NOISE[modality] * rng.standard_normal(X.shape)
    if modality == "visual":
        scales = np.exp(_VISUAL_SCALE_SPREAD * rng.standard_normal(d))
        magnitude = np.exp(_VISUAL_MAGNITUDE_SPREAD * rng.standard_normal(X.shape[0]))
        X = np.maximum(X + _VISUAL_OFFSET, 0.0) * scales[None, :] * magnitude[:, None]
    else:
        X += _TEXT_COMMON * rng.standard_normal(d)[None, :]
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, lean


def simulate(subset: "str | Subset", constants: Mapping[str, ModalityConstants] | None = None) -> dict[str, np.ndarray]:
    """Generate a subset's arrays (no cache).

    Parameters
    ----------
    subset : str or Subset
        A paper subset.
    constants : mapping of modality name to ModalityConstants, optional
        Default: the calibrated ones. Modalities missing from the mapping use the calibrated ones.

    Returns
    -------
    dict of str to ndarray
        ``y``, ``visual``, ``text`` (float64), ``other`` and ``lean_visual``, ``lean_text``.
    """
    sub = resolve_subset(subset)
    counts = demo_counts(sub)
    given = dict(constants or {})
    if any(m not in given for m in MODALITY_NAMES):
        given = {**demo_constants(sub), **given}
    shared = _shared_draws(sub.name, counts)
    out: dict[str, np.ndarray] = {"y": shared.y, "other": shared.other}
    for m in MODALITY_NAMES:
        out[m], out[f"lean_{m}"] = _simulate_modality(sub.name, m, shared, given[m])
    return out


_GENRE_WORDS: dict[str, tuple[str, str, str]] = {
    "Action": ("an ex-soldier", "a stolen warhead", "across three burning cities"),
    "Adventure": ("a young explorer", "a lost map", "beyond the uncharted mountains"),
    "Animation": ("a talking fox", "a magic paintbrush", "in a hand-drawn forest"),
    "Biography": ("a real-life inventor", "a life's work", "from poverty to fame"),
    "Comedy": ("a clumsy waiter", "a mix-up of wedding cakes", "during one chaotic weekend"),
    "Crime": ("a tired detective", "a string of bank robberies", "in the city's underworld"),
    "Documentary": ("a film crew", "rare footage and interviews", "over ten years of filming"),
    "Drama": ("a grieving mother", "a family secret", "in a small coastal town"),
    "Family": ("two siblings", "a runaway puppy", "over the summer holidays"),
    "Fantasy": ("a reluctant wizard", "an ancient dragon egg", "in an enchanted kingdom"),
    "Film-Noir": ("a cynical private eye", "a femme fatale's lie", "through rain-soaked streets"),
    "History": ("a royal advisor", "a crumbling empire", "in the year 1648"),
    "Horror": ("a babysitter", "something in the cellar", "on a moonless night"),
    "Music": ("a struggling guitarist", "a last big concert", "on a tour across the country"),
    "Musical": ("a chorus girl", "a song that changes everything", "on a Broadway stage"),
    "Mystery": ("an amateur sleuth", "a locked-room murder", "in a snowbound manor"),
    "News": ("a news anchor", "the day's headlines", "live from the studio"),
    "Romance": ("two strangers", "a chance meeting", "in springtime Paris"),
    "Sci-Fi": ("a starship engineer", "a signal from deep space", "in the year 2190"),
    "Short": ("a lonely commuter", "a single strange encounter", "in twelve minutes"),
    "Sport": ("an aging boxer", "one final championship", "against all odds"),
    "Thriller": ("a witness", "a killer who knows her name", "in a race against time"),
    "War": ("a young conscript", "a doomed offensive", "on the Eastern Front"),
    "Western": ("a lone gunslinger", "a cattle baron's feud", "on the dusty frontier"),
}
_FALLBACK_WORDS = ("an unlikely hero", "an unexpected turn of events", "far from home")


def _texts(sub: Subset, y: np.ndarray, other: np.ndarray, lean: np.ndarray) -> list[str]:
    """Short plot-like texts; an ambiguous text mentions the genre it leans towards."""
    out = []
    for i in range(y.size):
        who, what, where = _GENRE_WORDS.get(sub.genres[y[i]], _FALLBACK_WORDS)
        year = 1930 + (37 * i + 11 * int(other[i])) % 88  # deterministic variety for hover
        text = f"Simulated plot ({year}): {who} and {what}, {where}."
        if lean[i] >= 0.25:
            who2, what2, _ = _GENRE_WORDS.get(sub.genres[other[i]], _FALLBACK_WORDS)
            strength = "mostly" if lean[i] >= 0.5 else "partly"
            text += f" The story is {strength} about {who2} and {what2}."
        out.append(text)
    return out


def _cache_parts(sub: Subset, constants: Mapping[str, ModalityConstants]) -> dict[str, object]:
    return {
        "subset": sub.name,
        "counts": list(demo_counts(sub)),
        "version": GENERATOR_VERSION,
        "constants": {m: [constants[m].wrong, constants[m].nuisance] for m in MODALITY_NAMES},
    }


def make_demo(subset: "str | Subset", use_cache: bool = True) -> FeatureSet:
    """The simulated subset as a FeatureSet (modalities ``visual`` and ``text``).

    Deterministic; cached on disk (:func:`cmcsl_core.cache.cached_arrays`) under a key
    made of the subset, the generator version and the calibration constants.

    Parameters
    ----------
    subset : str or Subset
        One of the paper's 20 subsets (e.g. ``"HR"``).
    use_cache : bool
        Read and write the on-disk cache (default).

    Returns
    -------
    FeatureSet
        ``source="demo"``, ids ``demo-HR-00012``, titles ``Simulated Horror #12``,
        short simulated plot texts and an honest description.

    Raises
    ------
    SourceError
        For a custom subset (only the paper's subsets are simulated).
    """
    sub = resolve_subset(subset)
    constants = demo_constants(sub)
    key = cache_key("demo", **_cache_parts(sub, constants))
    arrays = cached_arrays(key, lambda: simulate(sub, constants), enabled=use_cache)
    y = arrays["y"].astype(np.int64)
    per_class = np.zeros(sub.n_classes, dtype=np.int64)
    titles = []
    for label in y:
        per_class[label] += 1
        titles.append(f"Simulated {sub.genres[label]} #{per_class[label]}")
    return FeatureSet(
        modality_names=MODALITY_NAMES,
        X=(arrays["visual"].astype(np.float64), arrays["text"].astype(np.float64)),
        y=y,
        class_names=sub.genres,
        ids=tuple(f"demo-{sub.name}-{i:05d}" for i in range(y.size)),
        titles=tuple(titles),
        texts=tuple(_texts(sub, y, arrays["other"], arrays["lean_text"])),
        source="demo",
        description=(
            f"Simulated MM-IMDb-like data for subset {sub.name} ({', '.join(sub.genres)}), "
            "calibrated to the paper's published GNB levels; not real movies"
        ),
    )
