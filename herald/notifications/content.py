"""The in-app text of a notification that names no template (see ``templated`` for one that does).

The text is the envelope's ``message`` or the type's ``message`` macro filled from the
payload; ``message_formatted`` is the sender's HTML, sanitised with nh3. It is the same
for every recipient, and costs no template lookup on the hot path of telephony events.
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


def fill(macro: str, payload: dict[str, Any]) -> str:
    """A macro with ``{field}`` replaced by the payload's value (empty when missing)."""

    def value(match: re.Match[str]) -> str:
        found = payload.get(match.group(1))
        return "" if found is None else str(found)

    return PLACEHOLDER.sub(value, macro)


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
