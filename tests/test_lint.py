"""The code is lint-clean: ``ruff check`` with the project's configuration (``pyproject.toml``).

pycodestyle at 120 characters, pyflakes, import order and bugbear, over the library, the app, the
tests, the scripts and the benchmarks. Fix a finding with ``ruff check --fix`` (import order,
unused imports) or by hand.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ruff() -> list[str]:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert exe, "ruff is missing: it is installed by requirements-dev.txt (./test installs it)"
    return [exe]


def test_ruff_check_is_clean() -> None:
    out = subprocess.run([*ruff(), "check", "--no-cache", "--output-format", "concise", "."],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]


def test_ruff_finds_what_it_is_configured_to_find(tmp_path: Path) -> None:
    """The configuration is read and its rules fire: an unsorted, unused import and a long line fail."""
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nimport os\n\nx = '" + "a" * 130 + "'\n", encoding="utf-8")
    out = subprocess.run([*ruff(), "check", "--no-cache", "--output-format", "concise",
                          "--config", str(ROOT / "pyproject.toml"), str(bad)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    for code in ("I001", "F401", "E501"):
        assert code in out.stdout, out.stdout
