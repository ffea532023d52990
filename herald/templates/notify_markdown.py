"""GOV.UK Notify's formatting, parsed: its kind of Markdown read with markdown-it-py.

Notify's template formatting is a small, forgiving Markdown: ``#`` and ``##`` headings
(the space after the hashes optional), bullets ``*``, ``-`` and ``•`` and numbered
``1.`` lists (the space after the marker optional), ``^`` inset text, ``***``/``---``
rules, ``[text](url)`` links and bare ``http(s)://`` URLs, a line break for each new
line, and nothing else: no emphasis, no inline code, no raw HTML (it is text), no
images or tables (they are dropped), ``+`` is not a bullet and ``1)`` not a number.

``parse`` rewrites those differences into CommonMark line by line, parses with
markdown-it-py (emphasis, code spans, HTML and ``<url>`` autolinks switched off), links
bare URLs, and applies Notify's typography to the text: smart quotes (not inside links),
no space before ``,`` and ``.``, an en dash for a spaced hyphen. The renderers in
``notify_format`` walk the tree it returns.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore, text_join
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

LINK_TEXT = "link_text"
"""The type given to text inside a link, which typography leaves alone (as Notify does)."""

URL = re.compile(r"""https?://[^\s<>]+[^<>.,:"')\]\s]""")
_GOVUK = re.compile(r"(^|\s)(#|\*|\^)?(GOV)\.(UK)(?!/|\?|#)", re.IGNORECASE)
_SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([,.])")
_SPACED_HYPHEN = re.compile("\\s+[-\u2013\u2014]{1,3}\\s+")
_NOT_IN_EMAIL = '[^\\s@<>"\u201c\u201d]+'
_QUOTED_EMAIL = re.compile(f"{_NOT_IN_EMAIL}@{_NOT_IN_EMAIL}\\.{_NOT_IN_EMAIL}")

_INSET = re.compile(r"^( {0,3})\^ ?")
_QUOTE = re.compile(r"^( {0,3})>")
_PLUS = re.compile(r"^( {0,3})\+")
_PAREN_NUMBER = re.compile(r"^( {0,3}\d{1,9})\)")
_HEADING = re.compile(r"^( {0,3}#{1,6})(?=[^#\s])")
_DOT_BULLET = re.compile(r"^( *)•")
# A marker glued to its text (``*one``, ``1.one``); a doubled ``--``/``**`` is left alone, as
# it starts a rule, a table's delimiter row or a setext underline far more often than a list.
_TIGHT_MARKER = re.compile(r"^( *(?:[*-]|\d{1,9}\.))(?=[^\s*-])")


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"breaks": True, "html": False, "typographer": True})
    md.enable(["table", "smartquotes"])
    md.disable(["emphasis", "backticks", "html_block", "html_inline", "autolink"])
    md.core.ruler.before("smartquotes", "notify_links", _links)
    md.core.ruler.push("notify_typography", _typography)
    return md


def unlink_govuk(text: str) -> str:
    """``GOV.UK`` with a zero-width space after the dot, so mail clients do not link it."""
    return _GOVUK.sub(lambda m: f"{m[1]}{m[2] or ''}{m[3]}.\u200b{m[4]}", text)


def prepared(text: str) -> str:
    """Notify's Markdown rewritten, line by line, as CommonMark says the same."""
    lines: list[str] = []
    for line in unlink_govuk(text.replace("\u2028", "")).splitlines():
        if _PLUS.match(line):
            # A "+" line is a paragraph of its own in Notify, never a bullet.
            lines += ["", _PLUS.sub(r"\1\\+", line), ""]
            continue
        lines.append(_line(line))
    return "\n".join(lines) + "\n"


def _line(line: str) -> str:
    line = _QUOTE.sub(r"\1\\>", line)
    line = _INSET.sub(r"\1> ", line)
    line = _PAREN_NUMBER.sub(r"\1\\)", line)
    line = _HEADING.sub(r"\1 ", line)
    line = _DOT_BULLET.sub(r"\1-", line)
    return _TIGHT_MARKER.sub(r"\1 ", line)


def parse(text: str) -> SyntaxTreeNode:
    """The syntax tree of a Notify-formatted text (placeholders already replaced)."""
    return SyntaxTreeNode(_MD.parse(prepared(text)))


def _links(state: StateCore) -> None:
    """Link bare URLs and mark the text inside every link, before the quotes are made smart."""
    text_join(state)
    for block in state.tokens:
        if block.type == "inline" and block.children:
            block.children = _marked(_linked(block.children, state))


def _linked(children: list[Token], state: StateCore) -> list[Token]:
    out: list[Token] = []
    depth = 0
    for token in children:
        depth += {"link_open": 1, "link_close": -1}.get(token.type, 0)
        if token.type != "text" or depth or not URL.search(token.content):
            out.append(token)
            continue
        out += _split_urls(token, state)
    return out


def _split_urls(token: Token, state: StateCore) -> list[Token]:
    pieces: list[Token] = []
    position = 0
    for match in URL.finditer(token.content):
        url = match.group(0)
        if not state.md.validateLink(url):
            continue
        pieces.append(_text(token.content[position : match.start()]))
        link = Token("link_open", "a", 1, attrs={"href": url}, markup="linkify", info="auto")
        pieces += [link, _text(url), Token("link_close", "a", -1, markup="linkify", info="auto")]
        position = match.end()
    pieces.append(_text(token.content[position:]))
    return [piece for piece in pieces if piece.type != "text" or piece.content]


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _marked(children: list[Token]) -> list[Token]:
    depth = 0
    for token in children:
        depth += {"link_open": 1, "link_close": -1}.get(token.type, 0)
        if depth and token.type == "text":
            token.type = LINK_TEXT
    return children


def _typography(state: StateCore) -> None:
    """Notify's "nice typography" after the smart quotes, on text outside links."""
    for block in state.tokens:
        for token in block.children or ():
            if token.type == "text":
                token.content = nice_typography(token.content)


def nice_typography(text: str) -> str:
    """No space before ``,``/``.``, an en dash for a spaced hyphen, plain quotes in emails."""
    text = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)
    text = _SPACED_HYPHEN.sub(" \u2013 ", text)
    return _QUOTED_EMAIL.sub(_straight_quotes, text)


def _straight_quotes(match: re.Match[str]) -> str:
    return match.group(0).replace("\u2018", "'").replace("\u2019", "'")


def smart_quotes(text: str) -> str:
    """``text`` (one line of plain text, such as a subject) with curly quotes."""
    tokens = _QUOTES.parseInline(text)
    return "".join(child.content for token in tokens for child in token.children or ())


_MD = _markdown()
_QUOTES = MarkdownIt("zero", {"typographer": True}).enable("smartquotes")
