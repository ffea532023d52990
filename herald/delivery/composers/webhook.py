"""The webhook channel's composition: the notification itself, for one endpoint of its account.

The body is API.md's envelope, ``{"type": "notification", "timestamp", "data": {"id",
"type", "subType", "payload", "message", "recipient"}}``, made once so every retry sends
the same bytes; ``recipient`` is the notification's targets. The endpoint's secret is
unsealed at each attempt and never stored with the delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from herald.channels.base import PermanentDeliveryError
from herald.channels.webhook.standard import WebhookMessage
from herald.db import utcnow
from herald.delivery.composers.base import Keys, Target
from herald.delivery.models import Delivery
from herald.delivery.sealing import unseal
from herald.endpoints.models import WebhookEndpoint
from herald.endpoints.service import find
from herald.inbox.schemas import rfc3339


async def compose_webhook(
    session: AsyncSession, target: Target, _parts: Mapping[str, Any]
) -> dict[str, Any]:
    """The envelope and the endpoint it goes to; permanent when the endpoint is gone."""
    endpoint = await _endpoint(session, target.delivery)
    notification = target.notification
    return {
        "to": endpoint.url,
        "endpoint": endpoint.name,
        "body": {
            "type": "notification",
            "timestamp": rfc3339(utcnow()),
            "data": {
                "id": str(notification.id),
                "type": notification.type,
                "subType": notification.sub_type,
                "payload": notification.payload,
                "message": notification.message,
                "recipient": notification.targets,
            },
        },
    }


async def webhook_secret(session: AsyncSession, delivery: Delivery, keys: Keys) -> dict[str, Any]:
    """The endpoint's signing secret (and its URL now: a PUT may have moved it)."""
    endpoint = await _endpoint(session, delivery)
    return {"secret": unseal(keys.sealing_key, endpoint.secret), "url": endpoint.url}


def webhook_message(
    delivery: Delivery, rendered: Mapping[str, Any], loaded: Mapping[str, Any]
) -> WebhookMessage:
    """The signed POST every attempt makes."""
    return WebhookMessage(
        delivery_id=str(delivery.id),
        recipient=loaded["url"],
        endpoint_name=rendered["endpoint"],
        secret=loaded["secret"],
        payload=rendered["body"],
    )


async def _endpoint(session: AsyncSession, delivery: Delivery) -> WebhookEndpoint:
    name = str(delivery.recipient.get("webhook"))
    endpoint = await find(session, account_id=delivery.account_id, name=name)
    if endpoint is None:
        raise PermanentDeliveryError(f"the webhook endpoint {name!r} was removed")
    if endpoint.disabled_at is not None:
        raise PermanentDeliveryError(f"the webhook endpoint {name!r} is disabled (410 Gone)")
    return endpoint
