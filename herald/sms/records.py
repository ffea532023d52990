"""An account's SMS as one list of records, sent and received, newest first (seed 004's
``GET /messages``), and the records of a send just accepted.

Each source yields ``SmsRecord``s newest first; the list merges them. Sent messages are the
account's SMS deliveries (``outgoing``); received messages join as another source in
``SOURCES``. A record holds what a dialect shows of a message, in Herald's terms (E.164
numbers, users): the dialect decides how it is written.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.delivery.models import Delivery
from herald.directory.models import User
from herald.sms.service import MessageFilters, Recipient, Sent, list_messages

Direction = Literal["outgoing", "incoming"]


@dataclass(frozen=True)
class SmsRecord:
    """One SMS as a list shows it; ``id`` is None (and ``error`` set) for one never sent."""

    id: uuid.UUID | None
    direction: Direction
    to: str | None
    """The recipient's number: E.164, or as given when it was refused."""
    sender: str | None
    """What the handset shows: an E.164 number, a sender name, or None (the provider's)."""
    hidden: bool
    endpoint: str | None
    body: str | None
    created_at: datetime
    employee: User | None = None
    """The user it was sent by or for (a received SMS: the user it reached, if known)."""
    to_name: str | None = None
    error: str | None = None


Source = Callable[[AsyncSession, uuid.UUID, MessageFilters, int], Awaitable[list[SmsRecord]]]
"""(session, account id, filters, how many) → that many of the newest records, newest first."""


async def outgoing(
    session: AsyncSession, account_id: uuid.UUID, filters: MessageFilters, limit: int
) -> list[SmsRecord]:
    """The account's sent SMS (its SMS deliveries), newest first."""
    rows, _total = await list_messages(
        session, account_id=account_id, filters=filters, offset=0, limit=limit, before=None
    )
    employees = {str((row.rendered or {}).get("employee")) for row in rows} - {"None"}
    user_ids = {row.user_id for row in rows if row.user_id is not None}
    by_external: dict[str, User] = {}
    by_id: dict[uuid.UUID, User] = {}
    if employees or user_ids:
        found = list(
            await session.scalars(
                select(User).where(
                    User.account_id == account_id,
                    or_(User.external_id.in_(employees), User.id.in_(user_ids)),
                )
            )
        )
        by_external = {user.external_id: user for user in found}
        by_id = {user.id: user for user in found}
    return [_sent_record(row, by_external, by_id) for row in rows]


def _sent_record(
    row: Delivery, by_external: dict[str, User], by_id: dict[uuid.UUID, User]
) -> SmsRecord:
    rendered = row.rendered or {}
    recipient = by_id.get(row.user_id) if row.user_id else None
    return SmsRecord(
        id=row.id,
        direction="outgoing",
        to=rendered.get("to") or row.recipient.get("phone"),
        sender=rendered.get("sender"),
        hidden=bool(rendered.get("from_number_hidden")),
        endpoint=rendered.get("endpoint"),
        body=rendered.get("body"),
        created_at=row.created_at,
        employee=by_external.get(str(rendered.get("employee"))),
        to_name=recipient.display_name if recipient else None,
    )


SOURCES: tuple[Source, ...] = (outgoing,)


def _newest_first(record: SmsRecord) -> tuple[datetime, uuid.UUID]:
    return record.created_at, record.id or uuid.UUID(int=0)


def merged(streams: Iterable[list[SmsRecord]], *, offset: int, limit: int) -> list[SmsRecord]:
    """One page of several newest-first streams, newest first."""
    ordered = heapq.merge(*streams, key=_newest_first, reverse=True)
    return list(itertools.islice(ordered, offset, offset + limit))


async def list_records(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    filters: MessageFilters,
    offset: int,
    limit: int,
) -> list[SmsRecord]:
    """A page of the account's SMS of every source, newest first."""
    streams = [await source(session, account_id, filters, offset + limit) for source in SOURCES]
    return merged(streams, offset=offset, limit=limit)


def sent_records(sent: Sent) -> tuple[list[SmsRecord], list[SmsRecord]]:
    """A send's records: those accepted, and those refused (each with its ``error``)."""
    origin = sent.origin

    def record(
        id: uuid.UUID | None, to: str | None, at: datetime, who: Recipient, error: str | None
    ) -> SmsRecord:
        return SmsRecord(
            id=id, direction="outgoing", to=to, sender=origin.sender, hidden=origin.hidden,
            endpoint=origin.endpoint, body=sent.message.body, created_at=at,
            employee=origin.employee, to_name=who.name, error=error,
        )  # fmt: skip

    accepted = [
        record(row.id, (row.rendered or {}).get("to"), row.created_at, who, None)
        for row, who in sent.deliveries
    ]
    refused = [record(None, f.recipient.number, sent.at, f.recipient, f.error) for f in sent.failed]
    return accepted, refused
