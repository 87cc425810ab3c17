"""User text, rendered safely and as its authors wrote it: the one place that does it.

Everything the data brings (class names, ids, titles, tweets and plots, file names, error
messages that quote them) is text, never markup. Streamlit renders Markdown in
``st.markdown``, ``st.caption``, ``st.error`` and friends, and in the labels of buttons,
metrics, expanders, tabs and radio options; Plotly renders a subset of HTML (links
included) in titles, ticks, legends and hover labels; ``unsafe_allow_html`` renders
HTML. So:

* :func:`md` turns text into Markdown that shows exactly that text: every character
  Markdown, HTML, Streamlit's directives (``:red[...]``, ``:material/...:``) or LaTeX
  (``$``) would read is written as a numeric character reference (``&#42;``), which
  Markdown shows as the character itself: no backslashes appear, nothing is
  interpreted, no remote image is fetched. ``http(s)`` links become links (shown as
  written); line breaks stay line breaks (also the two characters ``\\n`` that escaped
  exports leave in texts); HTML entities the source already applied (``&amp;`` in
  tweets) are shown as the character.
* :func:`html` escapes text for HTML alone (Plotly text, ``st.html``). Markdown rendered with
  ``unsafe_allow_html`` is still Markdown: it takes :func:`md`, whose character references
  are HTML's too.
* :func:`quote` is :func:`md` as a block quote (item texts).

Widget options that Streamlit shows as plain text (``st.selectbox``, ``st.multiselect``,
data frames) need none of this.
"""

from __future__ import annotations

import html as _html
import re

__all__ = ["md", "html", "quote", "plain"]

_URL = re.compile(r"https?://[^\s<>\"'`\\]+")
"""A web link: scheme, then anything but spaces, quotes, angle brackets and backslashes."""

_TRAILING = ".,;:!?)]}'\"…"
"""Characters that end a sentence rather than a link (``see https://x.org/a.``)."""

_SPECIAL = frozenset("\\`*_{}[]()<>#+-.!|$~:&\"'=@^%/")
"""Characters that start Markdown, HTML, Streamlit directives, LaTeX or autolinks."""


def plain(text: object) -> str:
    """The text as its author wrote it: ``str``, entities the source applied decoded, escaped
    line breaks (the two characters ``\\n``) as real ones, ``\\r\\n`` as ``\\n``."""
    s = _html.unescape(str(text))
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    return s.replace("\\r\\n", "\n").replace("\\n", "\n")


def _literal(s: str) -> str:
    return "".join(f"&#{ord(c)};" if c in _SPECIAL else c for c in s)


def _line(line: str) -> str:
    """One line of text as Markdown: links as autolinks, everything else literal."""
    out, pos = [], 0
    for m in _URL.finditer(line):
        url = m.group(0)
        cut = len(url.rstrip(_TRAILING))
        url, start = url[:cut], m.start()
        if len(url) <= len("https://"):
            continue
        out.append(_literal(line[pos:start]))
        out.append(f"<{url}>")
        pos = start + len(url)
    out.append(_literal(line[pos:]))
    return "".join(out)


def md(text: object) -> str:
    """``text`` as Markdown that shows exactly that text (see the module's docstring).

    >>> md("**bold** ![x](http://a.b/c.png) #1")
    '&#42;&#42;bold&#42;&#42; &#33;&#91;x&#93;&#40;<http://a.b/c.png>&#41; &#35;1'
    >>> md("see https://t.co/abc.")
    'see <https://t.co/abc>&#46;'
    >>> md("one\\\\ntwo")
    'one\\\\\\ntwo'
    """
    lines = [ln.strip() for ln in plain(text).split("\n")]
    # one paragraph: blank lines would end a quote or a list item; leading spaces would start code
    return "\\\n".join(_line(ln) for ln in lines if ln)


def quote(text: object) -> str:
    """``text`` as a Markdown block quote (continuation lines stay inside it)."""
    body = md(text)
    return f"> {body}" if body else ""


def html(text: object) -> str:
    """``text`` escaped for HTML (quotes too): for Plotly's text and other HTML without Markdown.

    >>> html("<a href='x'>Horror</a> & more")
    '&lt;a href=&#x27;x&#x27;&gt;Horror&lt;/a&gt; &amp; more'
    """
    return _html.escape(str(text), quote=True)
