"""GOV.UK Notify's placeholders beside Jinja's: ``((name))`` and ``((name??text))``.

A Jinja extension rewrites them in a template's text (never inside ``{{ }}`` or ``{% %}``,
where ``((a + b))`` is an expression) into calls of two filters, so they compile, render
and fail like any other variable: a missing value is the same ``missing_personalisation``
naming every missing field, and the sandbox and render budget apply.

As Notify reads them:

- names match personalisation keys ignoring case, spaces, ``_`` and ``-``
  (``((First name))`` takes ``first_name``); a dotted name may also reach into
  ``user.*``, ``payload.*`` and ``account.*``; ``None`` counts as missing;
- ``((name??text))`` shows ``text`` when the value is one of Notify's true words
  (``yes``, ``y``, ``true``, ``t``, ``1``, ``include``, ``show``, any case, or ``True``)
  and nothing otherwise; the text may hold ``??`` itself;
- a list value is written ``a, b and c``, or as a bulleted list in parts that are
  Notify-formatted (an email's ``text`` without ``html``, a letter's ``body``);
- a value the sender asked to sanitise (Notify's ``sanitise_content_for``) loses its URLs
  everywhere and, in Notify-formatted parts, shows its Markdown as the characters typed
  instead of formatting (so a name cannot add a link, a heading or a list to the email).

Text inside ``{% raw %}`` is text too (Jinja's lexer gives no sign of it): a literal
``((x))`` is written ``{{ "((x))" }}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from jinja2 import Undefined, pass_context
from jinja2.ext import Extension
from jinja2.lexer import (
    TOKEN_BLOCK_BEGIN,
    TOKEN_BLOCK_END,
    TOKEN_DATA,
    TOKEN_NAME,
    TOKEN_PIPE,
    TOKEN_STRING,
    TOKEN_VARIABLE_BEGIN,
    TOKEN_VARIABLE_END,
    Token,
    TokenStream,
)
from jinja2.runtime import Context

from herald.templates.limits import current_state
from herald.templates.notify_markdown import URL

PLACEHOLDER = re.compile(r"\(\(([^()]+)\)\)")
VALUE_FILTER = "notify_placeholder"
FLAG_FILTER = "notify_condition"
TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "include", "show"})
_IGNORED_IN_NAMES = str.maketrans("", "", " _-")
# CommonMark's backslash escapes take any ASCII punctuation; ``•`` (Notify's bullet) is not
# ASCII, so it is written as its entity, which Notify's Markdown reads as text.
_MARKDOWN_ESCAPES = str.maketrans(
    {c: f"\\{c}" for c in "\\`*_{}[]()#+-.!^>|~=<&:"} | {"\u2022": "&bull;"}
)


class Sanitised(str):
    """A value the sender asked to sanitise, its URLs already removed."""


def sanitised(value: Any) -> Any:
    """``value`` (a string, or a list's strings) as a Sanitised string without URLs."""
    if isinstance(value, str):
        return Sanitised(URL.sub("", value))
    if isinstance(value, list | tuple):
        return [sanitised(item) for item in value]
    return value


def _shown(value: Any, *, markdown: bool) -> Any:
    """A value as a part writes it: a Sanitised one escaped where Markdown is read."""
    if markdown and isinstance(value, Sanitised):
        return value.translate(_MARKDOWN_ESCAPES)
    return value


def split_placeholder(body: str) -> tuple[str, str | None]:
    """A placeholder's name and, for ``name??text``, its conditional text."""
    name, found, text = body.partition("??")
    return name.strip(), (text if found else None)


def placeholder_names(source: str) -> list[str]:
    """The names of the Notify placeholders in ``source``, in order, each once."""
    names = (split_placeholder(body)[0] for body in PLACEHOLDER.findall(source))
    return list(dict.fromkeys(name for name in names if name))


def normalised(name: str) -> str:
    """A name as Notify compares them: no case, spaces, underscores or hyphens."""
    return name.translate(_IGNORED_IN_NAMES).lower()


def is_true(value: Any) -> bool:
    """Whether a value shows a conditional placeholder's text, as Notify decides it."""
    return bool(value) and str(value).lower() in TRUE_WORDS


class NotifyPlaceholders(Extension):
    """Rewrites ``((name))`` to ``{{ "name"|notify_placeholder }}`` and ``((name??text))``
    to ``{% if "name"|notify_condition %}text{% endif %}`` in template text."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        """The template's tokens with placeholders in its text replaced."""
        for token in stream:
            if token.type != TOKEN_DATA or "((" not in token.value:
                yield token
                continue
            yield from _rewrite(token)


def _rewrite(token: Token) -> Iterator[Token]:
    line, text, position = token.lineno, token.value, 0
    for match in PLACEHOLDER.finditer(text):
        name, conditional = split_placeholder(match.group(1))
        if not name:
            continue
        if match.start() > position:
            yield Token(line, TOKEN_DATA, text[position : match.start()])
        if conditional is None:
            yield from _value(line, name)
        else:
            yield from _condition(line, name, conditional)
        line += match.group(0).count("\n")
        position = match.end()
    if position < len(text):
        yield Token(line, TOKEN_DATA, text[position:])


def _filtered(line: int, name: str, filter_name: str) -> list[Token]:
    return [
        Token(line, TOKEN_STRING, name),
        Token(line, TOKEN_PIPE, "|"),
        Token(line, TOKEN_NAME, filter_name),
    ]


def _value(line: int, name: str) -> Iterable[Token]:
    return [
        Token(line, TOKEN_VARIABLE_BEGIN, "{{"),
        *_filtered(line, name, VALUE_FILTER),
        Token(line, TOKEN_VARIABLE_END, "}}"),
    ]


def _condition(line: int, name: str, text: str) -> Iterable[Token]:
    return [
        Token(line, TOKEN_BLOCK_BEGIN, "{%"),
        Token(line, TOKEN_NAME, "if"),
        *_filtered(line, name, FLAG_FILTER),
        Token(line, TOKEN_BLOCK_END, "%}"),
        Token(line, TOKEN_DATA, text),
        Token(line, TOKEN_BLOCK_BEGIN, "{%"),
        Token(line, TOKEN_NAME, "endif"),
        Token(line, TOKEN_BLOCK_END, "%}"),
    ]


_MISSING = object()


def lookup(values: Mapping[str, Any], name: str) -> Any:
    """The value a placeholder names, or ``_MISSING``: the exact key, then the key that
    matches ignoring case, spaces, ``_`` and ``-``, then a dotted path into mappings."""
    if name in values:
        return values[name]
    wanted = normalised(name)
    for key, value in values.items():
        if isinstance(key, str) and normalised(key) == wanted:
            return value
    head, dot, rest = name.partition(".")
    if dot and rest:
        inner = lookup(values, head)
        if isinstance(inner, Mapping):
            return lookup(inner, rest)
    return _MISSING


def formatted_list(items: Iterable[Any], *, markdown: bool) -> str:
    """A list value as Notify writes it: ``a, b and c``, or a bulleted Markdown list."""
    shown = [str(_shown(item, markdown=markdown)).strip() for item in items if item is not None]
    shown = [item for item in shown if item]
    if not shown:
        return ""
    if markdown:
        return "\n\n" + "\n".join(f"* {item}" for item in shown)
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def _found(context: Context, name: str) -> Any:
    value = lookup(context.get_all(), name)
    if value is _MISSING or value is None:
        # Printed or tested, it is recorded as missing under the name the template uses.
        return context.environment.undefined(name=name)
    return value


@pass_context
def placeholder_value(context: Context, name: str) -> Any:
    """The ``notify_placeholder`` filter: the value of ``((name))``."""
    value = _found(context, name)
    state = current_state()
    markdown = bool(state and state.markdown_lists)
    if isinstance(value, list | tuple):
        return formatted_list(value, markdown=markdown)
    return _shown(value, markdown=markdown)


@pass_context
def placeholder_condition(context: Context, name: str) -> Any:
    """The ``notify_condition`` filter: whether ``((name??text))`` shows its text."""
    value = _found(context, name)
    return value if isinstance(value, Undefined) else is_true(value)


FILTERS = {VALUE_FILTER: placeholder_value, FLAG_FILTER: placeholder_condition}
