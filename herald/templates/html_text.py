"""A plain-text rendering of an HTML email, for the text/plain part when none is given.

Paragraphs and headings become blank-line separated blocks, ``<br>`` a line break,
links ``text (url)``, list items ``- item`` (``1. item`` in ordered lists, indented
when nested), table cells are separated by two spaces; script, style and head are
dropped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIPPED = frozenset({"script", "style", "head", "title", "template"})
_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "pre", "dl"}
)
_LINES = frozenset(
    {"div", "tr", "li", "section", "article", "header", "footer", "main", "nav", "aside",
     "address", "figure", "figcaption", "form", "fieldset", "caption", "dt", "dd", "center"}
)  # fmt: skip
_CELLS = frozenset({"td", "th"})
_WHITESPACE = re.compile(r"\s+")
_LINK_SCHEMES_SHOWN = ("http:", "https:", "mailto:", "tel:")


def html_to_text(html: str) -> str:
    """Convert rendered HTML into readable plain text."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text()


class _TextExtractor(HTMLParser):
    """Collects text while tracking the few structures that shape plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._breaks = 0  # newlines owed before the next text
        self._skipping = 0
        self._pre = 0
        self._lists: list[int | None] = []  # next number for <ol>, None for <ul>
        self._links: list[tuple[str, int]] = []  # href and where its text starts

    def text(self) -> str:
        """The collected text, trailing spaces and runs of blank lines removed."""
        lines = [line.rstrip() for line in "".join(self._out).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a block, list item, link or skipped element."""
        attributes = dict(attrs)
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag == "br":
            self._breaks += 1
        elif tag == "hr":
            self._block(2)
            self._write("-" * 20)
            self._block(2)
        elif tag == "img" and attributes.get("alt"):
            self._write_text(attributes["alt"] or "")
        elif tag == "a":
            self._links.append((attributes.get("href") or "", len(self._out)))
        else:
            self._open_block(tag)

    def handle_endtag(self, tag: str) -> None:
        """Close whatever ``handle_starttag`` opened."""
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "a" and self._links:
            self._close_link(*self._links.pop())
        elif tag in ("ul", "ol") and self._lists:
            self._lists.pop()
            self._block(1 if self._lists else 2)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
            self._block(2)
        elif tag in _PARAGRAPHS:
            self._block(2)
        elif tag in _LINES:
            self._block(1)

    def handle_data(self, data: str) -> None:
        """Write text, with HTML whitespace collapsing outside ``<pre>``."""
        if self._skipping:
            return
        if self._pre:
            self._write(data)
        else:
            self._write_text(_WHITESPACE.sub(" ", data))

    def _open_block(self, tag: str) -> None:
        if tag in ("ul", "ol"):
            self._block(1 if self._lists else 2)
            self._lists.append(1 if tag == "ol" else None)
        elif tag == "li":
            self._block(1)
            self._write(self._list_marker())
        elif tag == "pre":
            self._pre += 1
            self._block(2)
        elif tag in _PARAGRAPHS:
            self._block(2)
        elif tag in _LINES:
            self._block(1)
        elif tag in _CELLS and not self._at_line_start():
            self._write("  ")

    def _list_marker(self) -> str:
        indent = "  " * max(0, len(self._lists) - 1)
        number = self._lists[-1] if self._lists else None
        if number is None:
            return f"{indent}- "
        self._lists[-1] = number + 1
        return f"{indent}{number}. "

    def _close_link(self, href: str, start: int) -> None:
        label = "".join(self._out[start:]).strip()
        shown = href.removeprefix("mailto:").removeprefix("tel:")
        if href.startswith(_LINK_SCHEMES_SHOWN) and shown != label:
            self._write_text(f" ({shown})" if label else shown)

    def _block(self, newlines: int) -> None:
        self._breaks = max(self._breaks, newlines)

    def _at_line_start(self) -> bool:
        return bool(self._breaks) or not self._out or self._out[-1].endswith("\n")

    def _write_text(self, text: str) -> None:
        """Write collapsed text, dropping a space that would follow a space or a break."""
        if self._at_line_start() or self._out[-1].endswith(" "):
            text = text.lstrip(" ")
        if text:
            self._write(text)

    def _write(self, text: str) -> None:
        if self._breaks and self._out:
            self._out.append("\n" * self._breaks)
        self._breaks = 0
        self._out.append(text)
