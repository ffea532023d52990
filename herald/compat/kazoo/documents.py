"""Shapes in and out: Herald's templates and deliveries as seed 002's documents, and seed
002's documents as what Herald's services take.

A seed 002 notification is an email template: its headers (``from``, ``subject``,
``reply_to``, ``to``/``cc``/``bcc``) are the ``email`` part of a Herald template, its
``text/html`` and ``text/plain`` attachments the part's ``html`` and ``text``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from herald.compat.kazoo.bodies import base64_text, validated
from herald.compat.kazoo.ids import account_db, kazoo_id
from herald.compat.kazoo.schemas import Addresses, Bodies, NotificationData
from herald.delivery.models import Delivery, DeliveryAttempt
from herald.delivery.status import DeliveryStatus
from herald.inbox.schemas import rfc3339
from herald.templates.models import Template
from herald.templates.schemas import EmailParts, Macro, TemplateIn
from herald.templates.service import email_lengths

FAILED = frozenset(
    {
        DeliveryStatus.PERMANENT_FAILURE.value,
        DeliveryStatus.TEMPORARY_FAILURE.value,
        DeliveryStatus.TECHNICAL_FAILURE.value,
    }
)
_REPLY_CODE = re.compile(r"^\d{3}[ -]")


def notification_doc(
    row: Template, macros: Mapping[str, Macro], *, overridden: bool, email_from: str
) -> dict[str, Any]:
    """A template as seed 002 shows it; ``account_overridden`` only on an account's own."""
    body = row.body
    email = (body.get("channels") or {}).get("email") or {}
    doc: dict[str, Any] = {
        "id": row.template_id,
        "enabled": body.get("enabled", True),
        "friendly_name": body.get("friendly_name"),
        "category": body.get("category"),
        "from": email.get("from") or email_from,
        "subject": email.get("subject"),
        "reply_to": email.get("reply_to"),
        "to": _addresses_out(email.get("to") or {"type": "original"}),
        "cc": _addresses_out(email.get("cc")),
        "bcc": _addresses_out(email.get("bcc")),
        "template_charset": body.get("template_charset", "utf-8"),
        "macros": {name: entry.model_dump() for name, entry in macros.items()},
        "templates": email_lengths(body),
    }
    if overridden:
        doc["account_overridden"] = True
    return {key: value for key, value in doc.items() if value is not None}


def revision(row: Template) -> str:
    """A document's revision, Kazoo's ``<n>-<hex>``: it changes with every version."""
    return f"{row.version}-{row.id.hex}"


def _addresses_out(spec: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not spec:
        return None
    return {"type": spec["type"], "email_addresses": list(spec.get("email_addresses") or [])}


def addresses_in(spec: Addresses | None) -> dict[str, Any] | None:
    """Seed 002's ``to``/``cc``/``bcc`` as Herald's; None when it names nobody."""
    if spec is None:
        return None
    kind = spec.type or ("specified" if spec.email_addresses else None)
    if kind is None:
        return None
    return {"type": kind, "email_addresses": [str(a) for a in spec.email_addresses]}


def email_parts(headers: Bodies | NotificationData, *, html: str | None = None) -> dict[str, Any]:
    """The email part of a Herald template from a document's headers (and bodies)."""
    parts: dict[str, Any] = {
        "subject": headers.subject,
        "from": headers.from_,
        "reply_to": headers.reply_to,
        "html": html,
        "text": headers.plain if isinstance(headers, Bodies) else None,
        "to": addresses_in(headers.to),
        "cc": addresses_in(headers.cc),
        "bcc": addresses_in(headers.bcc),
    }
    return {name: value for name, value in parts.items() if value is not None}


def template_in(data: NotificationData, *, with_id: bool) -> TemplateIn:
    """A notification document as ``PUT``/``POST`` give it to the template service."""
    fields: dict[str, Any] = {"channels": {"email": email_parts(data)}}
    for name in ("enabled", "friendly_name", "category", "template_charset"):
        value = getattr(data, name)
        if value is not None:
            fields[name] = value
    if with_id and data.id is not None:
        fields["id"] = data.id
    return validated(TemplateIn, fields, prefix="")


def upload_in(media_type: str, text: str) -> TemplateIn:
    """A raw ``text/html`` or ``text/plain`` upload as the email body it replaces."""
    part = "html" if media_type == "text/html" else "text"
    return validated(TemplateIn, {"channels": {"email": {part: text}}}, prefix="")


def inline_parts(data: Bodies) -> dict[str, Any] | None:
    """The channels a request brings inline (``html`` decoded from base64), if any."""
    email = email_parts(data, html=base64_text(data.html, field="html"))
    if not email:
        return None
    checked = validated(EmailParts, email, prefix="/channels/email")
    return {"email": checked.model_dump(exclude_unset=True, by_alias=True)}


def smtp_log_doc(
    delivery: Delivery, attempts: Sequence[DeliveryAttempt], *, full: bool
) -> dict[str, Any]:
    """An email delivery as seed 002's SMTP log shows it; the list leaves out the bodies."""
    rendered = delivery.rendered or {}
    doc: dict[str, Any] = {
        "id": kazoo_id(delivery.id),
        "account_id": kazoo_id(delivery.account_id),
        "account_db": account_db(delivery.account_id, delivery.created_at),
        "template_id": delivery.template_id,
        "template_account_id": (
            kazoo_id(delivery.template_account_id) if delivery.template_account_id else None
        ),
        "created": rfc3339(delivery.created_at),
        "status": delivery.status,
    }
    if rendered:
        doc["subject"] = rendered.get("subject")
        doc["emails"] = _emails(rendered.get("emails") or {})
        if full:
            doc["rendered_templates"] = _rendered_templates(rendered)
    if delivery.receipt:
        doc["receipt"] = _REPLY_CODE.sub("", delivery.receipt)
    if delivery.status in FAILED and attempts:
        error = (attempts[-1].provider_response or {}).get("error")
        doc["error"] = str(error) if error else delivery.status
    return doc


def _emails(emails: Mapping[str, Any]) -> dict[str, Any]:
    reply_to = list(emails.get("reply_to") or [])
    return {
        "from": emails.get("from"),
        "to": list(emails.get("to") or []),
        "cc": list(emails.get("cc") or []),
        "bcc": list(emails.get("bcc") or []),
        "reply_to": reply_to[0] if reply_to else None,
    }


def _rendered_templates(rendered: Mapping[str, Any]) -> dict[str, str]:
    found = {media: rendered.get(media) for media in ("text/plain", "text/html")}
    return {media: str(text) for media, text in found.items() if text is not None}


def preview_doc(email: Mapping[str, Any], *, email_from: str) -> dict[str, Any]:
    """A rendered, unsent email (the template service's preview of the email part); without a
    sender of its own it would go from the server's."""
    return {
        "subject": email.get("subject"),
        "from": email.get("from") or email_from,
        "reply_to": email.get("reply_to"),
        "to": _addresses_out(email.get("to")),
        "cc": _addresses_out(email.get("cc")),
        "bcc": _addresses_out(email.get("bcc")),
        "rendered_templates": {"text/html": email.get("html"), "text/plain": email.get("text")},
    }
