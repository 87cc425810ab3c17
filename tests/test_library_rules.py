"""Rules of the design card, checked on the source (parsed with ``ast``, imports inside functions too).

* ``cmcsl_core`` is a pure library: typed (mypy-clean), and it never imports the app
  (``cmcsl_studio_ui``) or the app's UI libraries (``streamlit``, ``plotly``).
* No module anywhere in the repository imports Streamlit's internals (``streamlit.runtime``).
* Inside ``cmcsl_core`` imports go one way, from the command line down to the foundation
  (docs/architecture.md says the same in words):

  ``cli`` -> ``evaluation`` -> ``method`` -> ``datasets`` -> ``encoders`` -> ``cache``
  -> ``fileio`` -> ``constants``, ``errors``, ``types``; ``evaluation`` and ``method`` ->
  ``models`` -> the foundation.

  ``cache`` imports only ``fileio`` and the foundation; ``fileio`` (atomic writes, file
  digests) only the foundation. ``views`` (2-d embeddings) uses only ``cache``; ``tables``
  (label CSVs) and ``annotations`` (the annotator's store) build on ``method`` and
  ``datasets``, and no library layer imports them. Nothing imports ``cli`` but ``cli`` and
  ``__main__``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "cmcsl_core"
APP_FILES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "cmcsl_studio_ui").rglob("*.py"))]
SKIPPED_DIRS = {".venv", "venv", ".git", ".cache", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache"}

FOUNDATION = {"constants", "errors", "types"}
"""Modules that import nothing from cmcsl_core."""

ALLOWED: dict[str, set[str]] = {
    # unit -> the only units of cmcsl_core it may import (the bottom layers, stated positively)
    "fileio": FOUNDATION,
    "cache": FOUNDATION | {"fileio"},
}

FORBIDDEN: dict[str, set[str]] = {
    # unit (sub-package or top-level module of cmcsl_core) -> units it must not import
    "cache": {"datasets", "method", "models", "evaluation", "encoders", "views", "tables", "annotations", "cli"},
    "models": {"cache", "method", "evaluation", "datasets", "encoders", "views", "tables", "annotations", "cli"},
    "encoders": {"method", "models", "evaluation", "datasets", "views", "tables", "annotations", "cli"},
    "datasets": {"method", "models", "evaluation", "views", "tables", "annotations", "cli"},
    "method": {"evaluation", "encoders", "views", "tables", "annotations", "cli"},
    "evaluation": {"encoders", "views", "tables", "annotations", "cli"},
    "views": {"datasets", "method", "models", "evaluation", "encoders", "tables", "annotations", "cli"},
    "tables": {"evaluation", "encoders", "views", "annotations", "cli"},
    "annotations": {"evaluation", "encoders", "views", "cli"},
}
MAY_IMPORT_CLI = {"cli", "__main__"}


def python_files(folder: Path) -> Iterator[Path]:
    """Every ``.py`` file under ``folder``, leaving out virtual environments, caches and VCS folders."""
    for path in sorted(folder.rglob("*.py")):
        if not SKIPPED_DIRS.intersection(path.relative_to(folder).parts):
            yield path


def imported_modules(path: Path) -> list[str]:
    """Absolute names of every module ``path`` imports, at any depth (functions, ``if`` blocks, ...).

    ``from a import b`` yields both ``a`` and ``a.b`` (``b`` may be a module); relative imports
    are resolved against the file's package.
    """
    package = list(path.relative_to(ROOT).parts[:-1])  # the folder is the package, __init__.py or not
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]
    return names


def streamlit_runtime_uses(path: Path) -> list[str]:
    """Imports of ``streamlit.runtime`` (any form) and attribute uses such as ``st.runtime``."""
    found = [n for n in imported_modules(path) if n == "streamlit.runtime" or n.startswith("streamlit.runtime.")]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr == "runtime":
            if isinstance(node.value, ast.Name) and node.value.id in ("st", "streamlit"):
                found.append(f"{node.value.id}.runtime (line {node.lineno})")
    return found


def core_unit(path: Path) -> str:
    """The sub-package (``method``, ``datasets``, ...) or top-level module (``cache``) ``path`` belongs to."""
    parts = path.relative_to(CORE).with_suffix("").parts
    return parts[0]


def imported_core_units(path: Path) -> set[str]:
    units = set()
    for name in imported_modules(path):
        parts = name.split(".")
        if parts[0] == "cmcsl_core" and len(parts) > 1:
            units.add(parts[1])
    return units


# ------------------------------------------------------------------------------------- the checker


def test_import_parser_sees_every_form(tmp_path, monkeypatch) -> None:
    """The rules below are only as good as the parser: check it on every import form."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    pkg = tmp_path / "cmcsl_core" / "method"
    pkg.mkdir(parents=True)
    source = pkg / "x.py"
    source.write_text(
        "import plotly.express as px\n"
        "from streamlit.runtime.scriptrunner import get_script_run_ctx\n"
        "from streamlit import runtime\n"
        "def f():\n"
        "    import cmcsl_studio_ui.state\n"
        "    from ..evaluation import curve\n"
        "    from . import seeds\n"
        "    return st.runtime.exists()\n"
    )
    names = imported_modules(source)
    assert "plotly.express" in names and "cmcsl_studio_ui.state" in names
    assert "cmcsl_core.evaluation.curve" in names and "cmcsl_core.method.seeds" in names
    assert "streamlit.runtime.scriptrunner" in names and "streamlit.runtime" in names
    assert imported_core_units(source) == {"evaluation", "method"}


@pytest.mark.parametrize(
    "line",
    [
        "import streamlit.runtime",
        "import streamlit.runtime.pages_manager as pm",
        "from streamlit.runtime.pages_manager import PagesManager",
        "from streamlit import runtime",
        "def f():\n    from streamlit.runtime import exists",
        "import streamlit as st\nst.runtime.exists()",
    ],
)
def test_every_form_of_streamlit_runtime_is_caught(tmp_path, monkeypatch, line) -> None:
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    source = tmp_path / "page.py"
    source.write_text(line + "\n")
    assert streamlit_runtime_uses(source)
    source.write_text("import streamlit as st\nfrom streamlit.testing.v1 import AppTest\nst.runtime_x = 1\n")
    assert not streamlit_runtime_uses(source)


# ------------------------------------------------------------------------------------- the rules


def test_cmcsl_core_never_imports_the_app_or_ui_libraries() -> None:
    forbidden = {"streamlit", "plotly", "cmcsl_studio_ui"}
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in python_files(CORE)
        for name in imported_modules(path)
        if name.split(".")[0] in forbidden
    ]
    assert not offenders, offenders


def test_nothing_imports_streamlit_internals() -> None:
    files = list(python_files(ROOT))
    assert set(APP_FILES) <= set(files)  # the app's files are among those checked
    offenders = [f"{path.relative_to(ROOT)}: {use}" for path in files for use in streamlit_runtime_uses(path)]
    assert not offenders, offenders


def test_foundation_modules_import_nothing_from_cmcsl_core() -> None:
    for name in sorted(FOUNDATION):
        path = CORE / f"{name}.py"
        if path.exists():
            assert not imported_core_units(path), f"{path.relative_to(ROOT)} imports {imported_core_units(path)}"


def test_cmcsl_core_imports_go_one_way() -> None:
    offenders = []
    for path in python_files(CORE):
        unit = core_unit(path)
        bad = imported_core_units(path) & FORBIDDEN.get(unit, set())
        if "cli" in imported_core_units(path) and unit not in MAY_IMPORT_CLI:
            bad.add("cli")
        offenders += [f"{path.relative_to(ROOT)} ({unit}) imports cmcsl_core.{b}" for b in sorted(bad)]
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("unit", sorted(ALLOWED))
def test_bottom_layers_import_only_what_they_may(unit) -> None:
    """``cache`` and ``fileio`` import nothing above them (no cycle through ``datasets`` again)."""
    path = CORE / f"{unit}.py"
    extra = imported_core_units(path) - ALLOWED[unit]
    assert not extra, f"{path.relative_to(ROOT)} imports cmcsl_core.{', cmcsl_core.'.join(sorted(extra))}"


@pytest.mark.parametrize("unit", sorted(set(FORBIDDEN) | set(ALLOWED)))
def test_every_ruled_unit_exists(unit) -> None:
    """A renamed sub-package must not silently drop out of the rules."""
    assert (CORE / unit).is_dir() or (CORE / f"{unit}.py").is_file(), f"cmcsl_core.{unit} is gone: update FORBIDDEN"


def test_cmcsl_core_type_checks() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--ignore-missing-imports", "--no-error-summary", "cmcsl_core"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
