"""The chat channel's composition: the template's push part (else its in-app message) posted
to every Apprise URL the account configured (Slack, Teams, Telegram, Discord, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from herald.channels.apprise import ChatMessage
from herald.delivery.composers.base import Target
from herald.delivery.models import Delivery

CHAT_SOURCES = ("push", "in_app")
"""The template channels a chat message is taken from, the first present winning."""


async def compose_chat(
    _session: AsyncSession, target: Target, parts: Mapping[str, Any]
) -> dict[str, Any]:
    """Title and body: a push part's, or the in-app message under the account's name."""
    body = parts.get("body") or parts.get("message") or ""
    return {
        "to": target.account.name,
        "title": parts.get("title") or target.account.name,
        "body": body,
    }


def chat_message(
    delivery: Delivery, rendered: Mapping[str, Any], _loaded: Mapping[str, Any]
) -> ChatMessage:
    """The message every attempt posts."""
    return ChatMessage(
        delivery_id=str(delivery.id),
        recipient=rendered["to"],
        title=rendered["title"],
        body=rendered["body"],
    )
