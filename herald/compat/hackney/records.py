"""Herald's notifications in seed 003's shapes: the record (``GET /notifications``) and the
message status (``GET /message-status/{service}/{id}``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from herald.compat.hackney.requests import NAMES
from herald.compat.notify.shapes import status_of
from herald.delivery.models import Delivery
from herald.inbox.schemas import rfc3339
from herald.notifications.actions import ActionState
from herald.notifications.models import Notification
from herald.templates.html_text import html_to_text

MASKED = "**********"
TYPES = {"email": "email", "sms": "sms", "letter": "letter"}
SERVICES = {"email": "email", "text": "sms", "sms": "sms", "letter": "letter"}
LINES = 6  # the seed's message status shows line1..line6


def _first(targets: Mapping[str, Any], field: str) -> Any:
    values = targets.get(field) or []
    return values[0] if values else None


def _sent(delivery: Delivery) -> dict[str, Any]:
    """What one channel sent (the seed's "content of emails and SMSs", a letter's PDF id)."""
    rendered = delivery.rendered or {}
    return {
        "id": str(delivery.id),
        "notificationType": NAMES.get(delivery.channel, delivery.channel),
        "status": status_of(delivery),
        "to": _recipient(delivery),
        "subject": rendered.get("subject"),
        "body": _body(delivery),
        "documentId": rendered.get("document_id"),
        "provider": delivery.provider,
        "providerReference": delivery.provider_message_id,
        "sentAt": rfc3339(delivery.sent_at),
    }


def _recipient(delivery: Delivery) -> str | None:
    recipient = delivery.recipient or {}
    address = recipient.get("address") or {}
    lines = address.get("lines") if isinstance(address, dict) else None
    found = recipient.get("email") or recipient.get("phone") or (lines[0] if lines else None)
    return str(found) if found else None


def _body(delivery: Delivery) -> str | None:
    rendered = delivery.rendered or {}
    if delivery.channel == "email":
        return rendered.get("text/plain") or html_to_text(rendered.get("text/html") or "")
    if delivery.channel == "letter":
        return html_to_text(rendered["html"]) if rendered.get("html") else None
    body = rendered.get("body")
    return str(body) if body is not None else None


def record(
    notification: Notification, deliveries: Sequence[Delivery], state: ActionState
) -> dict[str, Any]:
    """One notification in the seed's record shape."""
    targets = notification.targets or {}
    channels = notification.channels or []
    latest = state.latest
    external = [d for d in deliveries if d.channel in TYPES]
    chose_provider = any(d.own_provider for d in deliveries)
    return {
        "id": str(notification.id),
        "targetId": notification.about_id,
        "targetType": notification.about_type,
        "notificationType": ",".join(NAMES.get(c, c) for c in channels),
        "user": notification.sent_by,
        "message": notification.message,
        "serviceKey": MASKED if chose_provider else None,
        "templateId": notification.template,
        "mobileNumber": _first(targets, "phones"),
        "email": _first(targets, "emails"),
        "requireAction": notification.require_action,
        "requireEmailNotification": "email" in channels,
        "requireSmsNotification": "sms" in channels,
        "requireLetter": "letter" in channels,
        "isReadStatus": state.read,
        "sentMessageDetails": [_sent(d) for d in external] or None,
        "actionNote": latest.action_note if latest else None,
        "performedActionDoneBy": latest.performed_by if latest else None,
        "performedActionType": latest.action_type if latest else None,
        "isRemovable": state.removable(notification),
        "personalisationParams": notification.personalisation or {},
        "performedActionDate": rfc3339(latest.performed_at) if latest else None,
        "createdDate": rfc3339(notification.created_at),
    }


def _lines(delivery: Delivery) -> dict[str, Any]:
    address = (delivery.recipient or {}).get("address") or {}
    lines = [*address.get("lines", []), address.get("postcode")] if address else []
    lines = [line for line in lines if line][:LINES]
    return {f"line{n}": lines[n - 1] if n <= len(lines) else None for n in range(1, LINES + 1)}


def message_status(
    notification: Notification, delivery: Delivery, *, base_url: str
) -> dict[str, Any]:
    """The seed's message status: Notify's notification, as the seed's client names it."""
    rendered = delivery.rendered or {}
    template_id = notification.template
    version = delivery.template_version or 1
    path = f"{base_url}/v2/template/{template_id}/version/{version}" if template_id else None
    return {
        "id": str(delivery.id),
        "completedAt": rfc3339(delivery.completed_at),
        "emailAddress": (delivery.recipient or {}).get("email"),
        "body": _body(delivery),
        "subject": rendered.get("subject") if delivery.channel != "sms" else None,
        **_lines(delivery),
        "phoneNumber": (delivery.recipient or {}).get("phone"),
        "postage": rendered.get("postage") if delivery.channel == "letter" else None,
        "reference": notification.reference,
        "sentAt": rfc3339(delivery.sent_at),
        "status": status_of(delivery),
        "type": TYPES[delivery.channel],
        "createdByName": notification.sent_by,
        "template": {"id": template_id, "path": path, "version": version} if template_id else None,
    }


NOTIFY_FIELDS = {
    "completedAt": "completed_at", "emailAddress": "email_address", "body": "body",
    "subject": "subject", "phoneNumber": "phone_number", "postage": "postage",
    "reference": "reference", "sentAt": "sent_at", "status": "status", "type": "type",
    "createdByName": "created_by_name",
}  # fmt: skip


def notify_status(notify: Mapping[str, Any], delivery: Delivery) -> dict[str, Any]:
    """The seed's message status from GOV.UK Notify's own notification (the seed's client
    reads Notify's answer, its fields camel-cased): Notify's id, status and text."""
    given = notify.get("template")
    template: Mapping[str, Any] = given if isinstance(given, dict) else {}
    return {
        "id": notify.get("id") or str(delivery.id),
        **{ours: notify.get(theirs) for ours, theirs in NOTIFY_FIELDS.items()},
        **{f"line{n}": notify.get(f"line_{n}") for n in range(1, LINES + 1)},
        "template": {
            "id": template.get("id"),
            "path": template.get("uri"),
            "version": template.get("version"),
        },
    }
