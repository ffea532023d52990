"""Direct SMS (seed 004): one notification with one composed delivery per number, charged
against the allowance when accepted; and the list of sent messages.

Invalid numbers are answered in ``failed_numbers`` while the rest are sent (all invalid:
422). Where the message is sent from (``endpoint``) is resolved by ``herald.sms.origin``.
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
from herald.delivery.composers.sms import sms_document
from herald.delivery.models import Delivery
from herald.delivery.queue import wake_workers
from herald.delivery.status import DeliveryStatus
from herald.directory.contact import normalize_phone
from herald.directory.models import User, team_members
from herald.directory.service import get_team, get_user
from herald.errors import ErrorDetail, ValidationFailed
from herald.events import service as catalogue
from herald.notifications.charging import charge, refuse_over_cap
from herald.notifications.models import Notification
from herald.notifications.progress import accepted_status
from herald.rules import decide as rules
from herald.sms import allowance
from herald.sms.origin import Origin, origin_of
from herald.sms.schemas import MessageBody
from herald.throttling.service import Throttle

SMS_SCOPE = "notifications.sms.write"


@dataclass(frozen=True)
class Recipient:
    """A number to send to, as given, and the user it belongs to (if one)."""

    number: str | None
    user_id: uuid.UUID | None = None
    external_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Failure:
    """A recipient that was not sent to, and why."""

    recipient: Recipient
    error: str


@dataclass
class Sent:
    """What a direct send accepted: the message, where from, each delivery written with its
    recipient, and the recipients refused."""

    message: MessageBody
    origin: Origin
    at: datetime = field(default_factory=utcnow)
    deliveries: list[tuple[Delivery, Recipient]] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        """``/v1``'s answer: ``{"sent", "failed_numbers", "messages"}``."""
        return {
            "sent": len(self.deliveries),
            "failed_numbers": [_failed(f) for f in self.failed],
            "messages": [_answered(row) for row, _ in self.deliveries],
        }


def recipient_of(user: User) -> Recipient:
    """A user as an SMS recipient: their phone (None: listed as failed)."""
    return Recipient(
        user.phone, user_id=user.id, external_id=user.external_id, name=user.display_name
    )


async def user_recipients(
    session: AsyncSession, *, account_id: uuid.UUID, external_id: str
) -> list[Recipient]:
    """The user with that external id (404 if none)."""
    return [recipient_of(await get_user(session, account_id=account_id, external_id=external_id))]


async def team_recipients(
    session: AsyncSession, *, account_id: uuid.UUID, key: str
) -> list[Recipient]:
    """Each member of the team (404 if no such team), members without a phone included."""
    team = await get_team(session, account_id=account_id, key=key)
    rows = await session.scalars(
        select(User)
        .join(team_members, team_members.c.user_id == User.id)
        .where(team_members.c.team_id == team.id)
        .order_by(User.external_id)
    )
    return [recipient_of(user) for user in rows]


def _failed(failure: Failure) -> dict[str, Any]:
    if failure.recipient.number is None:
        user = failure.recipient.external_id
        return {"number": None, "user": user, "error": failure.error}
    return {"number": failure.recipient.number, "error": failure.error}


def _valid(recipients: list[Recipient], sent: Sent) -> list[tuple[str, Recipient]]:
    """Each distinct valid number with its recipient; the others go to ``failed_numbers``."""
    valid: dict[str, Recipient] = {}
    for recipient in recipients:
        if recipient.number is None:
            error = f"user {recipient.external_id} has no phone number"
            sent.failed.append(Failure(recipient, error))
            continue
        try:
            valid.setdefault(normalize_phone(recipient.number), recipient)
        except ValueError as exc:
            sent.failed.append(Failure(recipient, str(exc)))
    return list(valid.items())


def _all_failed(failed: list[Failure]) -> ValidationFailed:
    details = [
        ErrorDetail("/to_numbers", f"{f.recipient.number}: {f.error}")
        if f.recipient.number is not None
        else ErrorDetail("", f.error)  # a user without a phone: the request as a whole
        for f in failed
    ]
    return ValidationFailed("No number can be sent to", details=details, code="invalid_numbers")


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
    """Accept one SMS per valid number: written, charged, and the workers woken.

    A server credential needs ``notifications.sms.write``; a user token sends as its user.
    """
    if not principal.is_user:
        principal.require(SMS_SCOPE)
    sent = Sent(message, await origin_of(session, principal=principal, message=message))
    numbers = _valid(recipients, sent)
    if not numbers:
        raise _all_failed(sent.failed)
    await refuse_over_cap(session, throttle, principal, len(numbers))
    notification = _notification(principal, message, targets)
    notification.recipients = len(numbers)
    planned = [_delivery(notification, message, sent.origin, n, who) for n, who in numbers]
    await _decide(session, notification, planned)
    notification.status = accepted_status((row["status"] for row in planned), in_app=False)
    session.add(notification)
    await session.flush()
    rows = [Delivery(**row) for row in planned]
    session.add_all(rows)
    await session.flush()
    if not principal.test:
        going = [row for row in rows if row.status != DeliveryStatus.SKIPPED.value]
        charges = [(row.id, int((row.rendered or {})["segments"])) for row in going]
        await allowance.reserve(session, account_id=principal.account_id, charges=charges)
    wake_workers(session, bus)
    await charge(session, throttle, principal, len(numbers))
    sent.deliveries = list(zip(rows, [who for _, who in numbers], strict=True))
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


async def _decide(
    session: AsyncSession, notification: Notification, rows: list[dict[str, Any]]
) -> None:
    """The delivery rules, as for every send (``herald.rules.decide``): a user's preferences
    and quiet hours apply to the numbers of users (named, in a team, or a number that is one
    user's own); a number that is nobody's has none. The account's ``custom/message`` type
    says what else applies (a cap on it, ``mandatory``)."""
    definition = await catalogue.get_type(
        session, account_id=notification.account_id, type_="custom", sub_type="message"
    )
    facts = rules.facts_of(type_="custom", type_rules=definition.rules, template_body=None)
    await rules.decide(session, rows, facts, now=notification.created_at)


def _delivery(
    notification: Notification,
    message: MessageBody,
    origin: Origin,
    number: str,
    who: Recipient,
) -> dict[str, Any]:
    """The delivery's row, composed already (the worker sends ``rendered`` as it is)."""
    recipient: dict[str, Any] = {"phone": number}
    if who.external_id:
        recipient["user"] = who.external_id
    at = notification.created_at
    rendered = sms_document(
        to=number, body=message.body, sender=origin.sender, endpoint=origin.endpoint,
        hidden=origin.hidden, employee=origin.employee.external_id if origin.employee else None,
    )  # fmt: skip
    return {
        "id": new_id(), "account_id": notification.account_id,
        "notification_id": notification.id, "channel": "sms", "user_id": who.user_id,
        "recipient": recipient, "test": notification.test,
        "status": DeliveryStatus.CREATED.value, "due_at": at, "attempts": 0, "created_at": at,
        "updated_at": at, "rendered": rendered,
    }  # fmt: skip


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
    employee: str | None = None
    """The external id of the user the messages were sent by or for."""


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
    if filters.employee:
        where.append(Delivery.rendered["employee"].as_string() == filters.employee)
    total = await session.scalar(select(func.count()).select_from(Delivery).where(*where))
    if before is not None:
        where.append(Delivery.id < before)
    rows = await session.scalars(
        select(Delivery).where(*where).order_by(Delivery.id.desc()).offset(offset).limit(limit)
    )
    return list(rows), int(total or 0)
