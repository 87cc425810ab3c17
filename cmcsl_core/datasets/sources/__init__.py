"""Data sources: everything that can produce a feature file.

========  =====================================================================
source    what it reads
========  =====================================================================
demo      nothing: a built-in, MM-IMDb-like synthetic dataset (deterministic)
hdf5      Arevalo's ready-made ``multimodal_imdb.hdf5`` (VGG + word2vec features)
w4k2      the paper authors' extracted features (``mmIMDb_<SUBSET>_*.npy``)
raw       the raw MM-IMDb archive (posters + json), encoded with ResNet-18 / MiniLM
========  =====================================================================

A :class:`SourceSpec` names what to load: a source, its resolved subset (sources
that label by MM-IMDb genres), its path and its options. It is the one data
reference of the CLI's ``export`` and the app: built once with
:meth:`SourceSpec.create` (which validates and resolves the subset), loaded with
:meth:`SourceSpec.load`, and shown as a command line with :meth:`SourceSpec.command`.

Sources are registered in one table, :data:`SOURCE_TABLE`: a new source is one
:class:`SourceInfo` entry (its loader is named as ``"module:function"`` and imported
on use, so importing this package is cheap and needs neither h5py nor torch). The
CLI's ``export`` flags are made from the entries' options.
"""

from __future__ import annotations

import importlib
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from cmcsl_core.constants import CLI
from cmcsl_core.datasets.features import FeatureSet, save_features
from cmcsl_core.datasets.subsets import Subset, resolve_subset
from cmcsl_core.encoders.backends import BACKENDS
from cmcsl_core.encoders.finetune import FINETUNE_MODES
from cmcsl_core.errors import CMCSLError, SourceError
from cmcsl_core.types import PathLike, ProgressFn

__all__ = [
    "DEFAULT_SOURCE",
    "DEFAULT_SUBSET",
    "SourceOption",
    "SourceInfo",
    "SOURCE_TABLE",
    "SOURCES",
    "SOURCE_HELP",
    "SourceSpec",
    "source_info",
    "load_source",
    "export_features",
]

DEFAULT_SOURCE = "demo"
"""The source used when none is named (``export`` without ``--source``)."""

DEFAULT_SUBSET = "HR"
"""The subset used by sources with subsets when none is named."""


def _positive_int(value: object) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise CMCSLError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise CMCSLError(f"expected a number >= 1, got {number}")
    return number


@dataclass(frozen=True)
class SourceOption:
    """An option a source accepts (the CLI's ``export --<name>`` flag).

    Attributes
    ----------
    name : str
        Keyword passed to the loader (``batch_size``; the CLI flag is ``--batch-size``).
    default : object
        Used when the option is not given (None: not passed to the loader).
    help : str
        One line for help texts.
    parse : callable(object) -> object, default=str
        Turns a given value (a string from the command line) into the loader's type;
        raises CMCSLError for a bad value.
    """

    name: str
    default: object
    help: str
    parse: Callable[[object], object] = str

    @property
    def flag(self) -> str:
        """The CLI flag, e.g. ``--batch-size``."""
        return "--" + self.name.replace("_", "-")


def _choice(name: str, choices: tuple[str, ...]) -> Callable[[object], object]:
    """A parser accepting one of ``choices`` (case-insensitive)."""

    def parse(value: object) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise CMCSLError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")
        return text

    return parse


_ITEM_ENCODER_OPTIONS = (
    SourceOption(
        "image_encoder",
        "efficientnet-lite0",
        "efficientnet-lite0, or with the torch extra resnet18, none (random) or a .pth file",
    ),
    SourceOption(
        "text_model", None, "a local sentence-transformers folder, torch extra (default: the built-in all-MiniLM-L6-v2)"
    ),
    SourceOption(
        "finetune",
        "none",
        "none, or with the torch extra ce or supcon: fine-tune the image encoder on a "
        "stratified 20 percent, left out of the output",
        _choice("finetune", FINETUNE_MODES),
    ),
    SourceOption("device", "auto", "auto (CUDA when present), cpu or cuda"),
    SourceOption("batch_size", 64, "images / texts per batch", _positive_int),
    SourceOption(
        "backend",
        "auto",
        "auto (ONNX Runtime for the built-in encoders, torch for the others), onnx or torch (the torch extra)",
        _choice("backend", BACKENDS),
    ),
)
"""Encoder options shared by the sources that encode images and texts (raw, mvsa, table)."""

_ENCODER_OPTION_NAMES = tuple(opt.name for opt in _ITEM_ENCODER_OPTIONS)


@dataclass(frozen=True)
class SourceInfo:
    """One registered source.

    Attributes
    ----------
    name : str
        What ``--source`` and :meth:`SourceSpec.create` accept.
    help : str
        One line for help texts and the app's data selector.
    loader : str
        ``"module:function"``, called as ``function([path], [subset], [progress=...], **options)``:
        ``path`` if :attr:`needs_path`, the resolved :class:`Subset` if :attr:`has_subset`,
        ``progress`` if :attr:`takes_progress`.
    needs_path : bool
        Whether the source reads a file or folder.
    has_subset : bool
        Whether items are labelled by an MM-IMDb subset (else the data carries its labels).
    takes_progress : bool
        Whether the loader reports progress.
    options : tuple of SourceOption
        The keyword options the loader accepts.
    """

    name: str
    help: str
    loader: str
    needs_path: bool = True
    has_subset: bool = True
    takes_progress: bool = True
    options: tuple[SourceOption, ...] = ()

    def option(self, name: str) -> SourceOption:
        """The option called ``name``; SourceError if the source has none such."""
        for opt in self.options:
            if opt.name == name:
                return opt
        flag = "--" + name.replace("_", "-")
        raise SourceError(f"source {self.name} takes no option {flag}")


SOURCE_TABLE: dict[str, SourceInfo] = {
    info.name: info
    for info in (
        SourceInfo(
            "demo",
            "built-in MM-IMDb-like synthetic data (no path needed)",
            "cmcsl_core.datasets.sources.demo:make_demo",
            needs_path=False,
            takes_progress=False,
        ),
        SourceInfo(
            "hdf5",
            "Arevalo's multimodal_imdb.hdf5 (--path: the .hdf5 file)",
            "cmcsl_core.datasets.sources.hdf5:load_hdf5",
        ),
        SourceInfo(
            "w4k2",
            "the paper authors' mmIMDb_<SUBSET>_*.npy features (--path: their folder)",
            "cmcsl_core.datasets.sources.w4k2:load_w4k2",
            takes_progress=False,
        ),
        SourceInfo(
            "raw",
            "the raw MM-IMDb archive, posters + json (--path: the archive or its folder)",
            "cmcsl_core.datasets.sources.raw:load_raw",
            options=(
                *_ITEM_ENCODER_OPTIONS,
                SourceOption("limit", None, "encode at most this many movies (a quick look)", _positive_int),
            ),
        ),
        SourceInfo(
            "mvsa",
            "the MVSA-Single tweets, image + text labelled per modality (--path: the folder with labelResultAll.txt)",
            "cmcsl_core.datasets.sources.mvsa:load_mvsa",
            has_subset=False,
            options=(
                SourceOption(
                    "labels",
                    "merged",
                    "y: merged (the paper's rule, 4,511 tweets), text or image (all 4,869)",
                    _choice("labels", ("merged", "text", "image")),
                ),
                *_ITEM_ENCODER_OPTIONS,
            ),
        ),
        SourceInfo(
            "table",
            "any items, one row each with an image, a text and a label (--path: a .csv, .tsv or .jsonl table)",
            "cmcsl_core.datasets.sources.table:load_table",
            has_subset=False,
            options=(
                SourceOption("id_column", "id", "the table's id column (row numbers when it has none)"),
                SourceOption(
                    "image_column", "image", "the table's image column (paths relative to the table or absolute)"
                ),
                SourceOption("text_column", "text", "the table's text column"),
                SourceOption("label_column", "label", "the table's label column"),
                *_ITEM_ENCODER_OPTIONS,
            ),
        ),
        SourceInfo(
            "mvsa-builtin",
            "MVSA-Single (real tweets, built in): 4,869 tweets, EfficientNet-Lite0 + MiniLM features (no path needed)",
            "cmcsl_core.datasets.builtin:load_builtin_mvsa",
            needs_path=False,
            has_subset=False,
            takes_progress=False,
            options=(
                SourceOption(
                    "labels",
                    "all",
                    "y: all (merged, text label where the rule drops), merged, text or image",
                    _choice("labels", ("all", "merged", "text", "image")),
                ),
            ),
        ),
    )
}
"""Every source, by name (the registry; add a source here)."""

SOURCES: tuple[str, ...] = tuple(SOURCE_TABLE)
"""Names of the registered sources."""

SOURCE_HELP: dict[str, str] = {name: info.help for name, info in SOURCE_TABLE.items()}
"""One line per source, for help texts and the app's data selector."""


def source_info(source: str) -> SourceInfo:
    """The registry entry of ``source`` (case-insensitive); CMCSLError listing the choices."""
    name = str(source).strip().lower()
    if name not in SOURCE_TABLE:
        raise CMCSLError(f"unknown source {source!r}; choose one of {', '.join(SOURCE_TABLE)}")
    return SOURCE_TABLE[name]


def _subset_arg(subset: Subset) -> str:
    """What ``--subset`` takes to give back ``subset``."""
    return ",".join(subset.genres) if not subset.is_paper else subset.name


@dataclass(frozen=True)
class SourceSpec:
    """What to load: a source, its resolved subset, its path and its options.

    Build it with :meth:`create`; hashable, so it can key caches.

    Attributes
    ----------
    source : str
        A name in :data:`SOURCE_TABLE`.
    subset : Subset or None
        The resolved subset; None for sources whose data carries its labels.
    path : str or None
        The source's file or folder; None for sources that read none (``demo``).
    options : tuple of (str, object) pairs
        Every option of the source (given or default), sorted by name.

    Examples
    --------
    >>> spec = SourceSpec.create("demo", "Horror,Romance")
    >>> spec.subset.genres
    ('Horror', 'Romance')
    >>> print(spec.command("my demo.npz"))
    python -m cmcsl_core export --source demo --subset Horror,Romance --out 'my demo.npz'
    """

    source: str
    subset: Subset | None = None
    path: str | None = None
    options: tuple[tuple[str, object], ...] = field(default=())

    @classmethod
    def create(
        cls, source: str = DEFAULT_SOURCE, subset: "str | Subset | None" = None, path: PathLike | None = None,
        **options: object,
    ) -> "SourceSpec":
        """Validate a request and resolve its subset (once).

        Parameters
        ----------
        source : str, default="demo"
            One of :data:`SOURCES`.
        subset : str or Subset, optional
            A paper subset name (``"HR"``) or genres (``"Horror,Romance"``); defaults to
            :data:`DEFAULT_SUBSET` for sources with subsets, must be None for the others.
        path : path, optional
            Required by every source that reads a file or folder (ignored by ``demo``).
        **options
            The source's options (see its :class:`SourceInfo`); None means "the default".

        Raises
        ------
        CMCSLError
            Unknown source or subset, a bad option value.
        SourceError
            A missing path, an option the source does not take, a subset for a source without.
        """
        info = source_info(source)
        if info.has_subset:
            sub: Subset | None = resolve_subset(DEFAULT_SUBSET if subset is None else subset)
        elif subset is not None and str(subset).strip():
            raise SourceError(f"source {info.name} labels its own items; it takes no subset")
        else:
            sub = None
        text = None if path is None or str(path).strip() == "" else str(path)
        if info.needs_path and text is None:
            raise SourceError(f"source {info.name} needs a path: {info.help}")
        values: dict[str, object] = {}
        for name, value in options.items():
            opt = info.option(name)
            values[name] = opt.parse(value) if value is not None else None
        resolved = tuple(
            sorted(
                (opt.name, values[opt.name] if values.get(opt.name) is not None else opt.default)
                for opt in info.options
            )
        )
        return cls(source=info.name, subset=sub, path=text if info.needs_path else None, options=resolved)

    @property
    def info(self) -> SourceInfo:
        """The source's registry entry."""
        return source_info(self.source)

    def load(self, progress: ProgressFn | None = None) -> FeatureSet:
        """Load the data.

        Parameters
        ----------
        progress : callable(done, total), optional
            Called during long steps (reading rows of ``hdf5``, feature extraction of ``raw``).

        Raises
        ------
        SourceError
            Anything the source cannot read.
        """
        info = self.info
        module, _, function = info.loader.partition(":")
        loader = getattr(importlib.import_module(module), function)
        args: list[object] = []
        if info.needs_path:
            args.append(self.path)
        if info.has_subset:
            args.append(self.subset)
        kwargs = self.loader_options()
        if info.takes_progress:
            kwargs["progress"] = progress
        fs: FeatureSet = loader(*args, **kwargs)
        return fs

    def loader_options(self) -> dict[str, object]:
        """The loader's keyword arguments: the options given, the encoder ones as one ``encoder=EncoderOptions``."""
        kwargs = {k: v for k, v in self.options if v is not None}
        encoder = {name: kwargs.pop(name) for name in _ENCODER_OPTION_NAMES if name in kwargs}
        if encoder:
            from cmcsl_core.encoders.options import EncoderOptions

            kwargs["encoder"] = EncoderOptions.from_mapping(encoder)
        return kwargs

    def input_files(self) -> tuple[str, ...]:
        """The files and folders this spec reads (an export must not overwrite any of them)."""
        found = [self.path] if self.path else []
        if self.source == "mvsa-builtin":
            from cmcsl_core.datasets.builtin import builtin_mvsa_path

            found.append(str(builtin_mvsa_path()))
        for name in ("image_encoder", "text_model"):
            value = dict(self.options).get(name)
            if isinstance(value, str) and value and Path(value).expanduser().exists():
                found.append(str(Path(value).expanduser()))
        return tuple(found)

    def export(self, out: PathLike, progress: ProgressFn | None = None) -> Path:
        """Load the data and write it as a feature file (atomically); returns the written path."""
        return save_features(self.load(progress), out)

    def command(self, out: str) -> str:
        """The equivalent ``python -m cmcsl_core export ...`` line (paths shell-quoted).

        Options left at their default are not written; parsing the line with the CLI
        gives back this spec.
        """
        args = ["export", "--source", self.source]
        if self.subset is not None:
            args += ["--subset", _subset_arg(self.subset)]
        if self.path is not None:
            args += ["--path", self.path]
        info = self.info
        for name, value in self.options:
            if value != info.option(name).default:
                args += [info.option(name).flag, str(value)]
        args += ["--out", str(out)]
        return f"{CLI} {shlex.join(args)}"


def load_source(
    source: str,
    subset: "str | Subset | None" = None,
    path: PathLike | None = None,
    progress: ProgressFn | None = None,
    **options: object,
) -> FeatureSet:
    """``SourceSpec.create(source, subset, path, **options).load(progress)``."""
    return SourceSpec.create(source, subset, path, **options).load(progress)


def export_features(
    source: str,
    subset: "str | Subset | None",
    out: PathLike,
    path: PathLike | None = None,
    progress: ProgressFn | None = None,
    **options: object,
) -> Path:
    """``SourceSpec.create(source, subset, path, **options).export(out, progress)``."""
    return SourceSpec.create(source, subset, path, **options).export(out, progress)
