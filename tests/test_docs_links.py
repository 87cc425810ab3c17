"""Every relative link in README.md and docs/**/*.md points to an existing file (and heading).

Links are Markdown links and images, ``[text](target)`` and ``![alt](target)``, outside fenced
code blocks and inline code. Web links (``http://``, ``https://``, ``mailto:``) are not fetched.
A ``#fragment`` must name a heading of the target file, slugged as GitHub does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def prose_lines(text: str, keep_code: bool = False) -> list[str]:
    """The lines of ``text`` outside fenced code blocks, with inline code removed (unless ``keep_code``)."""
    out, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append(line if keep_code else INLINE_CODE.sub("", line))
    return out


def links(path: Path) -> list[str]:
    return [m.group(1) for line in prose_lines(path.read_text()) for m in LINK.finditer(line)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in prose_lines(path.read_text(), keep_code=True):
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def broken_links(path: Path) -> list[str]:
    bad = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, fragment = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            bad.append(f"{target} (no such file)")
        elif fragment and dest.is_file() and dest.suffix == ".md" and fragment not in anchors(dest):
            bad.append(f"{target} (no heading #{fragment} in {shown(dest)})")
    return bad


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_relative_links_resolve(path: Path) -> None:
    bad = broken_links(path)
    assert not bad, f"{path.relative_to(ROOT)}: " + "; ".join(bad)


def test_the_checker_finds_broken_links(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# A title, with `code`\n\n## Twice\n\n## Twice\n")
    page = tmp_path / "a.md"
    page.write_text(
        "[ok](b.md) [ok](b.md#a-title-with-code) [ok](b.md#twice-1) [web](https://example.org/x)\n"
        "[gone](c.md) [bad anchor](b.md#nope) `[in code](d.md)`\n"
        "```\n[in a fence](e.md)\n```\n"
    )
    assert broken_links(page) == ["c.md (no such file)", "b.md#nope (no heading #nope in b.md)"]


def test_readme_is_a_landing_page() -> None:
    """The README stays short (the guide is docs/) and keeps the test command CI runs."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    assert "./test" in text and "./run" in text
    assert "docs/README.md" in links(ROOT / "README.md")
