"""Received SMS: messages people send to an account's numbers, kept per account and listed.

They arrive through the account's SMS providers: the HTTP provider's inbound route
(Twilio's incoming-message webhook, signed) and SMPP ``deliver_sm`` on the provider's own
session. A message the provider gives again (same provider message id) is kept once.
``list_received`` is what ``GET /v1/messages?direction=incoming``, seed 004's ``GET
/messages`` and Notify's ``GET /v2/received-text-messages`` read.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from herald.channels.sms.messages import InboundSms
from herald.db import new_id, utcnow
from herald.delivery.gate import Gate
from herald.directory.contact import normalize_phone
from herald.logs import get_logger
from herald.sms.models import ReceivedMessage

log = get_logger(__name__)
NOTIFY_PAGE = 250
InboundHandler = Callable[[InboundSms], Awaitable[None]]


def _number(value: str) -> str:
    """A number in E.164 when it is one; a short code or a name as it came."""
    try:
        return normalize_phone(value)
    except ValueError:
        return value.strip()[:32]


async def record_received(
    session: AsyncSession, *, account_id: uuid.UUID, provider: str, message: InboundSms
) -> ReceivedMessage | None:
    """Keep ``message`` for the account; None when it was kept already (a provider's retry)."""
    if message.provider_message_id is not None:
        kept = await session.scalar(
            select(ReceivedMessage.id).where(
                ReceivedMessage.account_id == account_id,
                ReceivedMessage.provider == provider,
                ReceivedMessage.provider_message_id == message.provider_message_id,
            )
        )
        if kept is not None:
            return None
    row = ReceivedMessage(
        id=new_id(),
        account_id=account_id,
        provider=provider,
        provider_message_id=message.provider_message_id,
        from_number=_number(message.sender),
        to_number=_number(message.recipient),
        body=message.body,
        created_at=utcnow(),
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same message, kept by a concurrent request
        return None
    return row


@dataclass(frozen=True)
class ReceivedFilters:
    """What a list of received messages may be narrowed to (None: any)."""

    created_from: datetime | None = None
    created_to: datetime | None = None


async def list_received(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    older_than: uuid.UUID | None = None,
    limit: int = NOTIFY_PAGE,
    offset: int = 0,
    filters: ReceivedFilters | None = None,
) -> list[ReceivedMessage]:
    """The account's received messages, newest first; ``older_than`` an id: only those
    received before it (ids are time-ordered)."""
    where = _where(account_id, filters)
    if older_than is not None:
        where.append(ReceivedMessage.id < older_than)
    rows = await session.scalars(
        select(ReceivedMessage)
        .where(*where)
        .order_by(ReceivedMessage.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows)


async def count_received(
    session: AsyncSession, *, account_id: uuid.UUID, filters: ReceivedFilters | None = None
) -> int:
    """How many received messages the filters select."""
    where = _where(account_id, filters)
    total = await session.scalar(select(func.count()).select_from(ReceivedMessage).where(*where))
    return int(total or 0)


def _where(account_id: uuid.UUID, filters: ReceivedFilters | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [ReceivedMessage.account_id == account_id]
    if filters and filters.created_from:
        where.append(ReceivedMessage.created_at >= filters.created_from)
    if filters and filters.created_to:
        where.append(ReceivedMessage.created_at <= filters.created_to)
    return where


class SmppInbound:
    """Keeps the messages that arrive on SMPP sessions, one handler per account."""

    def __init__(self, gate: Gate) -> None:
        self._gate = gate

    def handler(self, account_id: uuid.UUID | None) -> InboundHandler:
        """The ``on_inbound`` of an SMPP provider of this account (None: the process's)."""

        async def record(message: InboundSms) -> None:
            if account_id is None:
                log.warning("sms.inbound_without_account")
                return
            async with self._gate.transaction() as session:
                await record_received(
                    session, account_id=account_id, provider="smpp", message=message
                )

        return record
