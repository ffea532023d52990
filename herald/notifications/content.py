"""The in-app text of a notification: the one seam the templates feature will replace.

Until templates land, the text is the envelope's ``message`` or the type's ``message`` macro
filled from the payload; ``message_formatted`` is the sender's HTML, sanitised with nh3.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import nh3

from herald.events.builtin import TypeDef
from herald.events.schemas import Envelope

# Only plain ``{name}`` placeholders of top-level payload fields: a tenant's macro must not
# reach attributes or indexes the way ``str.format`` would allow.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")


@dataclass(frozen=True)
class InAppContent:
    """The text of an inbox item, plain and as safe HTML."""

    message: str | None
    message_formatted: str | None


def fill(macro: str, payload: dict[str, Any]) -> str:
    """A macro with ``{field}`` replaced by the payload's value (empty when missing)."""

    def value(match: re.Match[str]) -> str:
        found = payload.get(match.group(1))
        return "" if found is None else str(found)

    return PLACEHOLDER.sub(value, macro)


def render_in_app(definition: TypeDef, envelope: Envelope) -> InAppContent:
    """The item text for one notification (same for every recipient)."""
    message = envelope.message
    if message is None and "message" in definition.macros:
        message = fill(definition.macros["message"], envelope.payload)
    if envelope.messageFormatted is not None:
        formatted: str | None = nh3.clean(envelope.messageFormatted)
    else:
        formatted = f"<p>{html.escape(message)}</p>" if message else None
    return InAppContent(message=message, message_formatted=formatted)
