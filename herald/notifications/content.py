"""The in-app text of a notification that names no template (see ``templated`` for one that does).

The text is the envelope's ``message`` or the type's ``message`` macro filled from the
payload; ``message_formatted`` is the sender's HTML, sanitised with nh3. It is the same
for every recipient, and costs no template lookup on the hot path of telephony events.

A macro's ``{field}`` is a top-level payload field; ``[...]`` around text with fields is
shown only when every field inside has a value (``answered[ by {answeredById}]``), so that
an optional field leaves no dangling words.
"""

from __future__ import annotations

import html
import re
from typing import Any

import nh3

from herald.events.builtin import TypeDef
from herald.events.schemas import Envelope
from herald.inbox.fanout import ItemText

# Only plain ``{name}`` placeholders of top-level payload fields: a tenant's macro must not
# reach attributes or indexes the way ``str.format`` would allow.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")
# One pass over the macro: a payload value that looks like a placeholder stays as it is.
PIECE = re.compile(r"\[([^\[\]]*\{[A-Za-z_][A-Za-z0-9_]{0,63}\}[^\[\]]*)\]|" + PLACEHOLDER.pattern)


def _text(payload: dict[str, Any], name: str) -> str:
    found = payload.get(name)
    return "" if found is None else str(found)


def fill(macro: str, payload: dict[str, Any]) -> str:
    """A macro with ``{field}`` replaced by the payload's value (empty when missing) and each
    ``[...]`` holding fields kept, without its brackets, only when all of them have a value."""

    def value(match: re.Match[str]) -> str:
        return _text(payload, match.group(1))

    def piece(match: re.Match[str]) -> str:
        segment = match.group(1)
        if segment is None:
            return _text(payload, match.group(2))
        present = all(_text(payload, name) for name in PLACEHOLDER.findall(segment))
        return PLACEHOLDER.sub(value, segment) if present else ""

    return PIECE.sub(piece, macro)


def render_in_app(definition: TypeDef, envelope: Envelope) -> ItemText:
    """The item text for one notification (same for every recipient)."""
    message = envelope.message
    if message is None and "message" in definition.macros:
        message = fill(definition.macros["message"], envelope.payload)
    if envelope.messageFormatted is not None:
        formatted: str | None = nh3.clean(envelope.messageFormatted)
    else:
        formatted = f"<p>{html.escape(message)}</p>" if message else None
    return ItemText(message=message, message_formatted=formatted)
