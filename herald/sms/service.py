"""Direct SMS (seed 004): one notification with one composed delivery per number, charged
against the allowance when accepted; and the list of sent messages.

Invalid numbers are answered in ``failed_numbers`` while the rest are sent (all invalid:
422). A sender name (``endpoint``) must be approved; ``from_number_hidden`` needs one.
The deliveries carry their ``rendered`` text already, so the worker sends them as they are.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.auth import Principal
from herald.bus import Bus
from herald.db import new_id, utcnow
from herald.delivery.models import Delivery
from herald.delivery.queue import wake_workers
from herald.delivery.sms import sms_document
from herald.delivery.status import DeliveryStatus
from herald.directory.contact import normalize_phone
from herald.errors import ErrorDetail, ValidationFailed
from herald.notifications.charging import charge, refuse_over_cap
from herald.notifications.models import Notification
from herald.sms import allowance
from herald.sms.schemas import MessageBody
from herald.sms.senders import SenderNotApproved, check_sender, is_number
from herald.throttling.service import Throttle

SMS_SCOPE = "notifications.sms.write"


@dataclass(frozen=True)
class Recipient:
    """A number to send to, as given, and the user it belongs to (if one)."""

    number: str | None
    user_id: uuid.UUID | None = None
    external_id: str | None = None


@dataclass
class Sent:
    """What the direct SMS routes answer."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        """``{"sent", "failed_numbers", "messages"}``."""
        return {
            "sent": len(self.messages),
            "failed_numbers": self.failed,
            "messages": self.messages,
        }


async def sender_of(
    session: AsyncSession, *, account_id: uuid.UUID, message: MessageBody
) -> str | None:
    """The sender to show: the ``endpoint`` (a number, or an approved name); 400 otherwise."""
    endpoint = message.endpoint
    if endpoint is None:
        if message.from_number_hidden:
            raise SenderNotApproved("from_number_hidden needs an approved sender name (endpoint)")
        return None
    if is_number(endpoint):
        if message.from_number_hidden:
            raise SenderNotApproved("from_number_hidden needs a sender name, not a number")
        return normalize_phone(endpoint)
    await check_sender(session, account_id=account_id, name=endpoint)
    return endpoint


def _valid(recipients: list[Recipient], sent: Sent) -> list[tuple[str, Recipient]]:
    """Each distinct valid number with its recipient; the others go to ``failed_numbers``."""
    valid: dict[str, Recipient] = {}
    for recipient in recipients:
        if recipient.number is None:
            error = f"user {recipient.external_id} has no phone number"
            sent.failed.append({"number": None, "user": recipient.external_id, "error": error})
            continue
        try:
            valid.setdefault(normalize_phone(recipient.number), recipient)
        except ValueError as exc:
            sent.failed.append({"number": recipient.number, "error": str(exc)})
    return list(valid.items())


async def send(
    session: AsyncSession,
    *,
    principal: Principal,
    message: MessageBody,
    recipients: list[Recipient],
    targets: dict[str, Any],
    throttle: Throttle,
    bus: Bus,
) -> Sent:
    """Accept one SMS per valid number: written, charged, and the workers woken."""
    principal.require(SMS_SCOPE)
    sender = await sender_of(session, account_id=principal.account_id, message=message)
    sent = Sent()
    numbers = _valid(recipients, sent)
    if not numbers:
        details = [ErrorDetail("/to_numbers", f"{f['number']}: {f['error']}") for f in sent.failed]
        raise ValidationFailed("No number can be sent to", details=details, code="invalid_numbers")
    await refuse_over_cap(session, throttle, principal, len(numbers))
    notification = _notification(principal, message, targets)
    notification.recipients = len(numbers)
    session.add(notification)
    await session.flush()
    rows = [_delivery(notification, message, sender, number, who) for number, who in numbers]
    session.add_all(rows)
    await session.flush()
    if not principal.test:
        charges = [(row.id, int((row.rendered or {})["segments"])) for row in rows]
        await allowance.reserve(session, account_id=principal.account_id, charges=charges)
    wake_workers(session, bus)
    await charge(session, throttle, principal, len(numbers))
    sent.messages = [_answered(row) for row in rows]
    return sent


def _notification(
    principal: Principal, message: MessageBody, targets: dict[str, Any]
) -> Notification:
    now = utcnow()
    return Notification(
        id=new_id(), account_id=principal.account_id, key_id=principal.key_id,
        test=principal.test, type="custom", sub_type="message", products=[], targets=targets,
        channels=["sms"], payload={}, message=message.body, correlation_id=None,
        require_action=False, actions=[], template=None, personalisation={}, created_at=now,
        updated_at=now,
    )  # fmt: skip


def _delivery(
    notification: Notification,
    message: MessageBody,
    sender: str | None,
    number: str,
    who: Recipient,
) -> Delivery:
    recipient: dict[str, Any] = {"phone": number}
    if who.external_id:
        recipient["user"] = who.external_id
    return Delivery(
        id=new_id(), account_id=notification.account_id, notification_id=notification.id,
        channel="sms", user_id=who.user_id, recipient=recipient, test=notification.test,
        status=DeliveryStatus.CREATED.value, due_at=notification.created_at, attempts=0,
        created_at=notification.created_at, updated_at=notification.created_at,
        rendered=sms_document(
            to=number, body=message.body, sender=sender, endpoint=message.endpoint,
            hidden=message.from_number_hidden,
        ),
    )  # fmt: skip


def _answered(row: Delivery) -> dict[str, Any]:
    rendered = row.rendered or {}
    return {
        "id": str(row.id),
        "to": rendered["to"],
        "segments": rendered["segments"],
        "encoding": rendered["encoding"],
    }


@dataclass(frozen=True)
class MessageFilters:
    """``GET /v1/messages`` filters (seed 004)."""

    created_from: datetime | None = None
    created_to: datetime | None = None
    endpoint: str | None = None


async def list_messages(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    filters: MessageFilters,
    offset: int,
    limit: int,
    before: uuid.UUID | None,
) -> tuple[list[Delivery], int]:
    """A page of the account's SMS, newest first, with the filtered total."""
    where: list[ColumnElement[bool]] = [
        Delivery.account_id == account_id,
        Delivery.channel == "sms",
    ]
    if filters.created_from:
        where.append(Delivery.created_at >= filters.created_from)
    if filters.created_to:
        where.append(Delivery.created_at <= filters.created_to)
    if filters.endpoint:
        where.append(Delivery.rendered["endpoint"].as_string() == filters.endpoint)
    total = await session.scalar(select(func.count()).select_from(Delivery).where(*where))
    if before is not None:
        where.append(Delivery.id < before)
    rows = await session.scalars(
        select(Delivery).where(*where).order_by(Delivery.id.desc()).offset(offset).limit(limit)
    )
    return list(rows), int(total or 0)
