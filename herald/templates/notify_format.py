"""GOV.UK Notify's formatting rendered as Notify renders it: an email's HTML body (inline
styles as Notify's), its plain-text alternative and preheader, and a letter's body.

The input is a part already rendered from its template (placeholders replaced); see
``notify_markdown`` for what the formatting is. Headings: ``#`` is Notify's large heading
(``<h2>``), ``##`` its small one (``<h3>``), deeper ones plain paragraphs. In plain text
headings are underlined with ``=`` or ``-``, rules are ``=-=-…``, bullets ``•``, links
``text: url``, as Notify writes them. Letters show links as text and bare URLs in bold
without their scheme, and a rule is a page break.
"""

from __future__ import annotations

import re
from html import escape
from itertools import cycle, islice
from urllib.parse import quote

from markdown_it.tree import SyntaxTreeNode

from herald.templates.notify_markdown import LINK_TEXT, parse

COLUMN_WIDTH = 65
PREHEADER_LENGTH = 256
LINK_STYLE = "word-wrap: break-word; color: #1D70B8;"
_TEXT = "font-size: 19px; line-height: 25px; color: #0B0C0C;"
P = f'<p style="Margin: 0 0 20px 0; {_TEXT}">'
H2 = (
    '<h2 style="Margin: 0 0 15px 0; padding: 10px 0 0 0; font-size: 27px; '
    'line-height: 35px; font-weight: bold; color: #0B0C0C;">'
)
H3 = (
    '<h3 style="Margin: 0 0 15px 0; padding: 10px 0 0 0; font-size: 19px; '
    'line-height: 25px; font-weight: bold; color: #0B0C0C;">'
)
HR = '<hr style="border: 0; height: 1px; background: #B1B4B6; Margin: 30px 0 30px 0;">'
INSET = (
    '<div style="Margin: 0 0 20px 0;"><blockquote style="Margin: 0; border-left: 10px solid '
    '#B1B4B6;padding: 15px 0 0.1px 15px; font-size: 19px; line-height: 25px;">'
)
LIST_TABLE = (
    '<table role="presentation" style="padding: 0 0 20px 0;"><tr>'
    '<td style="font-family: Helvetica, Arial, sans-serif;">'
)
UL = '<ul style="Margin: 0 0 0 20px; padding: 0; list-style-type: disc;">'
OL = '<ol style="Margin: 0 0 0 20px; padding: 0; list-style-type: decimal;">'
LI = (
    '<li style="Margin: 5px 0 5px; padding: 0 0 0 5px; font-size: 19px;'
    'line-height: 25px; color: #0B0C0C;">'
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_PROTOCOL = re.compile(r"^https?://", re.IGNORECASE)
_HREF_SAFE = ":/?#=&;%"


def email_html(text: str) -> str:
    """The HTML body of a Notify-formatted email (without the surrounding layout)."""
    return _EmailHtml().blocks(parse(text))


def email_text(text: str) -> str:
    """The plain-text alternative of a Notify-formatted email."""
    return _EmailText().blocks(parse(text)).lstrip() + "\n"


def preheader(text: str) -> str:
    """The first words of the email, shown by mail clients beside the subject."""
    words = " ".join(_Preheader().blocks(parse(text)).split())
    return words[:PREHEADER_LENGTH].strip()


def letter_html(text: str) -> str:
    """The HTML of a Notify-formatted letter body (hyphens do not break across lines)."""
    return _LetterHtml().blocks(parse(text))


def href(url: str) -> str:
    """A link's target as Notify writes it: ``http://`` added when it names no scheme,
    quotes and spaces percent-encoded (what is encoded already stays as it is)."""
    if not _SCHEME.match(url):
        url = f"http://{url}"
    return quote(url, safe=_HREF_SAFE)


class _Html:
    """Renders block and inline nodes to HTML; subclasses say how each element looks."""

    def blocks(self, node: SyntaxTreeNode) -> str:
        return "".join(self.block(child) for child in node.children)

    def block(self, node: SyntaxTreeNode) -> str:
        kind = node.type
        if kind == "paragraph":
            return self.paragraph(self.inline(node), hidden=bool(node.hidden))
        if kind == "heading":
            return self.heading(self.inline(node), int(node.tag[1:]))
        if kind in ("bullet_list", "ordered_list"):
            items = [self.list_item(self.blocks(item)) for item in node.children]
            return self.list(items, ordered=kind == "ordered_list")
        if kind == "blockquote":
            return self.inset(self.blocks(node))
        if kind == "hr":
            return self.rule()
        if kind in ("code_block", "fence"):
            return self.text(node.content.rstrip("\n"))
        return ""  # tables, and anything else Notify leaves out

    def inline(self, node: SyntaxTreeNode) -> str:
        return "".join(self.span(child) for child in node.children[0].children)

    def span(self, node: SyntaxTreeNode) -> str:
        kind = node.type
        if kind in ("text", LINK_TEXT):
            return self.text(node.content)
        if kind in ("softbreak", "hardbreak"):
            return self.linebreak()
        if kind == "link":
            label = "".join(self.span(child) for child in node.children)
            url = str(node.attrs.get("href", ""))
            if node.info == "auto":
                return self.autolink(url)
            title = node.attrs.get("title")
            return self.link(label, url, str(title) if title else None)
        return ""  # images

    def text(self, text: str) -> str:
        return escape(text, quote=False)

    def linebreak(self) -> str:
        return "<br>"

    def paragraph(self, text: str, *, hidden: bool) -> str:
        if not text.strip():
            return ""
        return text if hidden else f"{P}{text}</p>"

    def heading(self, text: str, level: int) -> str:
        if level == 1:
            return f"{H2}{text}</h2>"
        if level == 2:
            return f"{H3}{text}</h3>"
        return self.paragraph(text, hidden=False)

    def list(self, items: list[str], *, ordered: bool) -> str:
        tag = "ol" if ordered else "ul"
        return f"{LIST_TABLE}{OL if ordered else UL}{''.join(items)}</{tag}></td></tr></table>"

    def list_item(self, text: str) -> str:
        return f"{LI}{text.strip()}</li>"

    def inset(self, text: str) -> str:
        return f"{INSET}{text}</blockquote></div>"

    def rule(self) -> str:
        return HR

    def link(self, label: str, url: str, title: str | None) -> str:
        titled = f' title="{escape(title)}"' if title else ""
        return f'<a style="{LINK_STYLE}" href="{href(url)}"{titled}>{label}</a>'

    def autolink(self, url: str) -> str:
        return f'<a style="{LINK_STYLE}" href="{href(url)}">{self.text(url)}</a>'


class _EmailHtml(_Html):
    """The email body exactly as ``_Html`` writes it."""


class _EmailText(_Html):
    """Plain text: blocks separated by blank lines, headings underlined, ``text: url``."""

    def text(self, text: str) -> str:
        return text

    def linebreak(self) -> str:
        return "\n"

    def paragraph(self, text: str, *, hidden: bool) -> str:
        if not text.strip():
            return ""
        return text if hidden else f"\n\n{text}"

    def heading(self, text: str, level: int) -> str:
        if level in (1, 2):
            return f"\n\n\n{text}\n{('=' if level == 1 else '-') * COLUMN_WIDTH}"
        return self.paragraph(text, hidden=False)

    def list(self, items: list[str], *, ordered: bool) -> str:
        markers = [f"{n}." if ordered else "•" for n in range(1, len(items) + 1)]
        lines = (f"\n{marker} {item}" for marker, item in zip(markers, items, strict=True))
        return "\n" + "".join(lines)

    def list_item(self, text: str) -> str:
        return text.strip()

    def inset(self, text: str) -> str:
        return text

    def rule(self) -> str:
        return self.paragraph("".join(islice(cycle("=-"), COLUMN_WIDTH)), hidden=False)

    def link(self, label: str, url: str, title: str | None) -> str:
        return f"{label}{f' ({title})' if title else ''}: {url}"

    def autolink(self, url: str) -> str:
        return url


class _Preheader(_EmailText):
    """The plain text a mail client previews: headings as paragraphs, links as their text."""

    def heading(self, text: str, level: int) -> str:
        return self.paragraph(text, hidden=False)

    def rule(self) -> str:
        return ""

    def link(self, label: str, url: str, title: str | None) -> str:
        return f"{label}{f' ({title})' if title else ''}"


class _LetterHtml(_Html):
    """A letter's body: plain HTML elements, styled by the letter's stylesheet."""

    def text(self, text: str) -> str:
        return super().text(text).replace("-", "\u2011")

    def paragraph(self, text: str, *, hidden: bool) -> str:
        if not text.strip():
            return ""
        return text if hidden else f"<p>{text}</p>"

    def heading(self, text: str, level: int) -> str:
        return f"<h2>{text}</h2>" if level == 1 else self.paragraph(text, hidden=False)

    def list(self, items: list[str], *, ordered: bool) -> str:
        tag = "ol" if ordered else "ul"
        return f"<{tag}>\n{''.join(items)}</{tag}>\n"

    def list_item(self, text: str) -> str:
        return f"<li>{text.strip()}</li>\n"

    def inset(self, text: str) -> str:
        return text

    def rule(self) -> str:
        return '<div class="page-break">&nbsp;</div>'

    def link(self, label: str, url: str, title: str | None) -> str:
        titled = f' "{escape(title)}"' if title else ""
        return f"[{label}]({self.text(url)}{titled})"

    def autolink(self, url: str) -> str:
        return f"<strong>{self.text(_PROTOCOL.sub('', url))}</strong>"
