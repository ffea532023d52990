"""Answers of the notification routes."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field

from herald.delivery.models import Delivery
from herald.inbox.schemas import rfc3339
from herald.notifications.models import Notification
from herald.rules.schemas import REASON


class AcceptedOut(BaseModel):
    """A notification accepted: written, its deliveries queued."""

    id: uuid.UUID
    queued: bool = True
    recipients: int = Field(description="Distinct recipients after de-duplication")


class DeliverySummaryOut(BaseModel):
    """One delivery of a notification."""

    id: uuid.UUID
    recipient: dict[str, Any]
    channel: str
    status: str
    reason: str | None = Field(default=None, description=REASON)
    attempts: int


class NotificationOut(BaseModel):
    """A notification as sent, its status, and (one notification read alone) its deliveries."""

    id: uuid.UUID
    type: str
    subType: str
    products: list[str]
    targets: dict[str, Any]
    channels: list[str]
    payload: dict[str, Any]
    message: str | None
    correlationId: str | None
    requireAction: bool
    actions: list[dict[str, Any]]
    status: str = Field(
        description="queued, sending, delivered, partially-delivered, failed or cancelled"
    )
    recipients: int
    test: bool
    scheduledAt: str | None = Field(description="RFC 3339")
    created_at: str = Field(description="RFC 3339")
    about: dict[str, Any] | None = Field(
        default=None, description="The business entity it is about: {id, type}"
    )
    sentBy: str | None = Field(default=None, description="Who sent it, as the sender named them")
    deliveries: list[DeliverySummaryOut] | None = None


def delivery_document(delivery: Delivery) -> dict[str, Any]:
    """One delivery as ``GET /v1/notifications/{id}`` lists it."""
    return {
        "id": str(delivery.id),
        "recipient": delivery.recipient,
        "channel": delivery.channel,
        "status": delivery.status,
        "reason": delivery.reason,
        "attempts": delivery.attempts,
    }


def _about(notification: Notification) -> dict[str, Any] | None:
    if notification.about_id is None:
        return None
    return {"id": notification.about_id, "type": notification.about_type}


def notification_document(
    notification: Notification, deliveries: list[Delivery] | None = None
) -> dict[str, Any]:
    """A notification as sent and its status (with its deliveries when given)."""
    document: dict[str, Any] = {
        "id": str(notification.id),
        "type": notification.type,
        "subType": notification.sub_type,
        "products": notification.products,
        "targets": notification.targets,
        "channels": notification.channels,
        "payload": notification.payload,
        "message": notification.message,
        "correlationId": notification.correlation_id,
        "requireAction": notification.require_action,
        "actions": notification.actions,
        "status": notification.status,
        "recipients": notification.recipients,
        "test": notification.test,
        "scheduledAt": rfc3339(notification.scheduled_at),
        "created_at": rfc3339(notification.created_at),
        "purged_at": rfc3339(notification.purged_at),
        "about": _about(notification),
        "sentBy": notification.sent_by,
    }
    if deliveries is not None:
        document["deliveries"] = [delivery_document(d) for d in deliveries]
    return document
