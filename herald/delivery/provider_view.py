"""What a provider itself says of a message it took, for deliveries sent through a provider
their notification chose (a GOV.UK Notify service: its status, and the body its template
wrote). Providers that keep no such record have nothing to say."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import orjson

from herald.channels.registry import installed_providers
from herald.config import Settings
from herald.delivery.models import Delivery
from herald.delivery.providers import build
from herald.delivery.sealing import unseal


@runtime_checkable
class KeepsRecords(Protocol):
    """A provider that answers what became of a message it took, by its own id."""

    async def sent_message(self, provider_message_id: str) -> dict[str, Any] | None:
        """The provider's record of the message, or None when it cannot say."""


async def provider_record(
    delivery: Delivery, *, secret: str, settings: Settings
) -> dict[str, Any] | None:
    """The chosen provider's record of the delivery's message; None when there is none (the
    account's own providers, nothing sent yet, a provider that keeps none, no answer)."""
    if delivery.own_provider is None or delivery.provider_message_id is None:
        return None
    document = orjson.loads(unseal(secret, delivery.own_provider))
    options = {"allow_private": settings.allow_private_urls}
    provider = build(
        installed_providers(), delivery.channel, document["name"], document["settings"], options
    )
    try:
        if not isinstance(provider, KeepsRecords):
            return None
        return await provider.sent_message(delivery.provider_message_id)
    finally:
        await provider.aclose()
