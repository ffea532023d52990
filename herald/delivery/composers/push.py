"""The push channel's composition: one delivery per device, sent by its platform's provider.

Deliveries are written one per device of the user (``herald.notifications.reach``); an
iOS device is pushed through APNs, an Android one through FCM, a browser through Web
Push. The correlation id travels with the message and becomes the collapse id, so a
later event of the same call replaces the earlier push on the device.

The push's data is seed 001's notification object (``id``, ``type``, ``data``, ``message``,
``message_formatted``, ``read``, ``read_at``, ``created_at``) with Herald's ``notification_id``
and ``subType``: the recipient's inbox item when the notification has one (so that the app
can mark it read by its ``id``), else the notification itself with the push's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.channels.base import PermanentDeliveryError
from herald.channels.push.messages import PushMessage, WebPushMessage
from herald.delivery.composers.base import Target
from herald.delivery.models import Delivery
from herald.directory.models import Device
from herald.inbox.models import InboxItem, InboxItemHistory
from herald.inbox.schemas import rfc3339
from herald.notifications.models import Notification

PLATFORM_PROVIDERS: dict[str, frozenset[str]] = {
    "iOS": frozenset({"apns"}),
    "Android": frozenset({"fcm"}),
    "web": frozenset({"webpush"}),
}


async def compose_push(
    session: AsyncSession, target: Target, parts: Mapping[str, Any]
) -> dict[str, Any]:
    """Title and body for the delivery's device; permanent when there is no device."""
    delivery, notification = target.delivery, target.notification
    token = delivery.recipient.get("device")
    if not isinstance(token, str):
        raise PermanentDeliveryError("the user has no registered device")
    device = await session.scalar(
        select(Device).where(Device.account_id == delivery.account_id, Device.token == token)
    )
    if device is None:
        raise PermanentDeliveryError("the device is no longer registered")
    document: dict[str, Any] = {
        "to": token,
        "platform": device.type,
        "title": parts.get("title") or "",
        "body": parts.get("body") or "",
        "data": await notification_object(session, delivery, notification, parts),
        "correlation_id": notification.correlation_id,
    }
    if device.type == "web":
        document["subscription"] = device.subscription
    return document


async def _inbox_item(
    session: AsyncSession, delivery: Delivery, notification: Notification
) -> InboxItem | None:
    """The recipient's item of this notification (a later event of its chain may have moved
    the item on: the history still names it)."""
    if delivery.user_id is None:
        return None
    found: InboxItem | None = await session.scalar(
        select(InboxItem)
        .join(InboxItemHistory, InboxItemHistory.item_id == InboxItem.id)
        .where(
            InboxItemHistory.notification_id == notification.id,
            InboxItem.user_id == delivery.user_id,
        )
        .limit(1)
    )
    return found


async def notification_object(
    session: AsyncSession,
    delivery: Delivery,
    notification: Notification,
    parts: Mapping[str, Any],
) -> dict[str, Any]:
    """Seed 001's notification object for this push (see the module's docstring)."""
    item = await _inbox_item(session, delivery, notification)
    common = {
        "type": notification.type,
        "subType": notification.sub_type,
        "notification_id": str(notification.id),
        "data": notification.payload,
    }
    if item is None:
        return {
            "id": str(notification.id), **common, "message": parts.get("body") or "",
            "message_formatted": None, "read": False, "read_at": None,
            "created_at": rfc3339(notification.created_at),
        }  # fmt: skip
    return {
        "id": str(item.id), **common, "message": item.message,
        "message_formatted": item.message_formatted, "read": item.read_at is not None,
        "read_at": rfc3339(item.read_at), "created_at": rfc3339(item.created_at),
    }  # fmt: skip


def push_providers(rendered: Mapping[str, Any]) -> frozenset[str]:
    """The providers that can reach the delivery's platform."""
    return PLATFORM_PROVIDERS.get(rendered.get("platform") or "", frozenset())


def push_message(
    delivery: Delivery, rendered: Mapping[str, Any], _loaded: Mapping[str, Any]
) -> PushMessage:
    """The push every attempt sends: to the token, or to the browser's subscription."""
    common: dict[str, Any] = {
        "delivery_id": str(delivery.id),
        "title": rendered["title"],
        "body": rendered["body"],
        "data": rendered["data"],
        "correlation_id": rendered.get("correlation_id"),
    }
    subscription = rendered.get("subscription")
    if rendered.get("platform") == "web" and isinstance(subscription, dict):
        keys = subscription.get("keys") or {}
        return WebPushMessage(
            recipient=str(subscription.get("endpoint")),
            p256dh=str(keys.get("p256dh", "")),
            auth=str(keys.get("auth", "")),
            **common,
        )
    return PushMessage(recipient=rendered["to"], **common)
