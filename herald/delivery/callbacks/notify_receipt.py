"""A delivery's status as GOV.UK Notify's delivery receipt, for callbacks in Notify's format.

Notify POSTs ``{id, reference, to, status, created_at, completed_at, sent_at,
notification_type, template_id, template_version}`` to a service's callback URL with its
bearer token. ``id`` is the notification's (what Notify's send answered), ``reference``
the sender's own; statuses are Notify's names: a letter is ``accepted`` until printed and
``received`` once it is. Times are written as Notify writes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from herald.delivery.models import Delivery
from herald.notifications.models import Notification

NOTIFY_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
LETTER_STATUSES = {"created": "accepted", "sending": "accepted", "delivered": "received"}
# Notify never withholds a message, so it has no name for a delivery the recipient's choices
# ruled out; "cancelled" (not sent, and never will be) is the nearest of its names.
RULED_OUT = "cancelled"
FINAL_EVENTS = (
    "delivery.delivered",
    "delivery.temporary-failure",
    "delivery.permanent-failure",
    "delivery.technical-failure",
)
"""What a Notify-format endpoint hears when it names no events: each final status."""


def notify_time(value: datetime | None) -> str | None:
    """A UTC time as Notify writes it (``2024-05-17T15:58:38.342838Z``)."""
    return value.strftime(NOTIFY_TIME) if value else None


def notify_status(channel: str, status: str) -> str:
    """A delivery status under Notify's name for its channel."""
    if status == "skipped":
        return RULED_OUT
    if channel == "letter":
        return LETTER_STATUSES.get(status, status)
    return status


def recipient_of(delivery: Delivery) -> str | None:
    """Where the delivery went, as its log shows it: the address, number or postal address."""
    rendered = delivery.rendered or {}
    emails = rendered.get("emails")
    if isinstance(emails, dict) and emails.get("to"):
        return str(emails["to"][0])
    if rendered.get("address_lines"):
        return "\n".join([*rendered["address_lines"], str(rendered.get("postcode") or "")]).strip()
    recipient = delivery.recipient
    found = rendered.get("to") or recipient.get("email") or recipient.get("phone")
    return str(found) if found else None


def notify_receipt(delivery: Delivery, notification: Notification | None) -> dict[str, Any]:
    """The delivery's current status as Notify's delivery receipt."""
    return {
        "id": str(delivery.notification_id),
        "reference": notification.reference if notification else None,
        "to": recipient_of(delivery),
        "status": notify_status(delivery.channel, delivery.status),
        "created_at": notify_time(delivery.created_at),
        "completed_at": notify_time(delivery.completed_at),
        "sent_at": notify_time(delivery.sent_at),
        "notification_type": delivery.channel,
        "template_id": delivery.template_id or (notification.template if notification else None),
        "template_version": delivery.template_version,
    }


async def receipt_for(session: AsyncSession, delivery: Delivery) -> dict[str, Any]:
    """``notify_receipt`` with the delivery's notification read (for its reference)."""
    notification = await session.get(Notification, delivery.notification_id)
    return notify_receipt(delivery, notification)
