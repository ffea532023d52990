"""Herald's notifications and templates in the shapes Notify answers (its API documentation's
examples and ``app/models.py`` ``serialize``): field names, Notify's status names, times as
Notify writes them (``2024-05-17T15:58:38.342838Z``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from herald.compat.notify.received import ReceivedText
from herald.compat.notify.templates import NotifyTemplate, placeholders
from herald.delivery.callbacks.notify_receipt import notify_status, notify_time
from herald.delivery.models import Delivery
from herald.notifications.single import Single
from herald.templates.html_text import html_to_text
from herald.templates.models import TemplateVersion

LINES = 7
# What each status Notify lets a list filter by means for a delivery; "failed" is all three
# failures, as in Notify; statuses Herald never reaches select nothing.
STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "created": ("created",),
    "sending": ("sending",),
    "pending": ("sending",),
    "sent": (),
    "delivered": ("delivered",),
    "failed": ("temporary-failure", "permanent-failure", "technical-failure"),
    "temporary-failure": ("temporary-failure",),
    "permanent-failure": ("permanent-failure",),
    "technical-failure": ("technical-failure",),
    "cancelled": ("cancelled", "skipped"),
    "accepted": ("created", "sending"),
    "received": ("delivered",),
    "pending-virus-check": (),
    "virus-scan-failed": (),
    "validation-failed": (),
    "returned-letter": (),
}


def status_of(delivery: Delivery) -> str:
    """The delivery's status under Notify's name for its channel."""
    return notify_status(delivery.channel, delivery.status)


# Notify gives precompiled letters a hidden template of their own; Herald names one id for it.
PRECOMPILED_TEMPLATE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "herald:notify:precompiled-letter"))


def template_ref(base: str, template_id: str | None, version: int | None) -> dict[str, Any]:
    """``{"id", "version", "uri"}`` of the template a notification used."""
    template_id = template_id or PRECOMPILED_TEMPLATE_ID
    return {
        "id": template_id,
        "version": version or 1,
        "uri": f"{base}/v2/template/{template_id}/version/{version or 1}",
    }


def _address(single: Single) -> dict[str, Any]:
    address = single.delivery.recipient.get("address") or {}
    lines = [*address.get("lines", []), address.get("postcode") or None]
    lines = [line for line in lines if line][:LINES]
    fields: dict[str, Any] = {f"line_{i + 1}": None for i in range(LINES)}
    fields.update({f"line_{i + 1}": line for i, line in enumerate(lines)})
    return fields


def notification_document(
    single: Single, *, base: str, content: Mapping[str, Any], template_version: int | None
) -> dict[str, Any]:
    """``GET /v2/notifications/{id}``: ``content`` is its ``body`` and ``subject``."""
    notification, delivery = single.notification, single.delivery
    options = notification.options or {}
    channel = delivery.channel
    document: dict[str, Any] = {
        "id": str(notification.id),
        "reference": notification.reference,
        "email_address": delivery.recipient.get("email") if channel == "email" else None,
        "phone_number": delivery.recipient.get("phone") if channel == "sms" else None,
        **_address(single),
        "postcode": None,
        "type": channel,
        "status": status_of(delivery),
        "template": template_ref(base, notification.template, template_version),
        "body": content.get("body") or "",
        "subject": content.get("subject"),
        "created_at": notify_time(notification.created_at),
        "created_by_name": None,
        "sent_at": notify_time(delivery.sent_at),
        "completed_at": notify_time(delivery.completed_at),
        "scheduled_for": None,
        "postage": options.get("postage") if channel == "letter" else None,
        "is_cost_data_ready": False,
        "cost_in_pounds": None,
        "cost_details": {},
    }
    if channel == "email" and options.get("unsubscribe_url"):
        document["one_click_unsubscribe"] = options["unsubscribe_url"]
    return document


def received_document(text: ReceivedText) -> dict[str, Any]:
    """One received text message."""
    return {
        "id": str(text.id),
        "created_at": notify_time(text.created_at),
        "service_id": str(text.service_id),
        "notify_number": text.notify_number,
        "user_number": text.user_number,
        "content": text.content,
    }


def _parts(template: NotifyTemplate, body: Mapping[str, Any]) -> Mapping[str, Any]:
    return (body.get("channels") or {}).get(template.type) or {}


def template_body(kind: str, parts: Mapping[str, Any]) -> str:
    """A template's body as Notify shows it: an email's text (else its HTML), a text
    message's body, a letter's body (else its HTML)."""
    if kind == "email":
        return str(parts.get("text") or parts.get("html") or "")
    if kind == "sms":
        return str(parts.get("body") or "")
    return str(parts.get("body") or parts.get("html") or "")


def template_document(template: NotifyTemplate, version: TemplateVersion) -> dict[str, Any]:
    """``GET /v2/template/{id}`` (``version`` its latest) or ``.../version/{n}``."""
    row = template.resolved.row
    body = version.body
    parts = _parts(template, body)
    letter = template.type == "letter"
    return {
        "id": row.template_id,
        "name": body.get("friendly_name") or row.template_id,
        "type": template.type,
        "created_at": notify_time(row.created_at),
        "updated_at": notify_time(version.created_at),
        "created_by": version.created_by,
        "version": version.version,
        "body": template_body(template.type, parts),
        "subject": (parts.get("subject") or "") if template.type != "sms" else None,
        "letter_contact_block": parts.get("contact_block") if letter else None,
        "postage": (parts.get("postage") or "second") if letter else None,
        "personalisation": {name: {"required": True} for name in placeholders(parts)},
    }


def content_of(kind: str, rendered: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` and ``subject`` from a rendered part (a template render or a delivery's log)."""
    if kind == "email":
        # A Notify-formatted email's body is its text with the values filled in, unformatted.
        body = rendered.get("body") or rendered.get("text", rendered.get("text/plain"))
        return {"body": body or "", "subject": rendered.get("subject") or ""}
    if kind == "sms":
        return {"body": rendered.get("body") or "", "subject": None}
    body = rendered.get("body") or html_to_text(str(rendered.get("html") or ""))
    return {"body": body, "subject": rendered.get("subject") or ""}
