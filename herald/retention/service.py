"""The retention purge: bounded passes, each one transaction, until nothing is left to delete.

Each pass deletes at most ``batch`` rows per statement, so that a purge of a million rows
holds no lock for long and lets the worker's claims and the API's writes in between passes
(on SQLite they queue for the single writer; on PostgreSQL they run alongside). One pass:

1. events of the real-time log older than ``EVENT_WINDOW`` (what resuming needs), idempotency
   keys past their 24 hours, status callbacks that finished before their account's
   retention, text messages received longer ago than their account's retention (Notify
   keeps received texts for the service's retention too), daily counts of days before
   yesterday;
2. a batch of expired notifications (``herald.retention.notifications``): their deliveries
   and PDFs, then their inbox items, then the notifications themselves, each step only once
   the one before has nothing left for the batch.

``purge`` is what the worker's schedule and ``herald purge`` both call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Delete, Select, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.channels.letter.store import DocumentStore
from herald.db import utcnow
from herald.delivery.models import CallbackJob
from herald.delivery.status import TERMINAL
from herald.inbox.models import InboxEvent
from herald.notifications.models import IdempotencyKey
from herald.retention import notifications as expiry
from herald.sms.models import ReceivedMessage
from herald.throttling import daily

BATCH = 1000
EVENT_WINDOW = timedelta(hours=24)
"""How long real-time events are kept for a client to resume from: a client away longer (or
whose user token, valid 24 hours by default, ran out) reloads its inbox from the list."""
FINISHED = sorted(s.value for s in TERMINAL)

Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]
"""Opens a transaction that commits when the block ends (``Gate.transaction``)."""


@dataclass(frozen=True)
class Purged:
    """What a purge deleted or emptied."""

    notifications: int = 0
    deliveries: int = 0
    documents: int = 0
    inbox_items: int = 0
    events: int = 0
    idempotency_keys: int = 0
    callbacks: int = 0
    received_messages: int = 0
    daily_counts: int = 0

    def __add__(self, other: Purged) -> Purged:
        names = [f.name for f in dataclasses.fields(self)]
        return Purged(**{n: getattr(self, n) + getattr(other, n) for n in names})

    def counts(self) -> dict[str, int]:
        """Every count by name (a log line, ``herald purge``'s summary)."""
        return dataclasses.asdict(self)


async def purge(
    transaction: Transaction,
    *,
    documents: DocumentStore,
    now: datetime | None = None,
    batch: int = BATCH,
    stopping: Callable[[], bool] = lambda: False,
) -> Purged:
    """Run passes, one transaction each, until a pass finds nothing more to do (or, between
    passes, ``stopping()`` says so: a worker draining)."""
    total = Purged()
    while True:
        async with transaction() as session:
            done, more = await purge_pass(
                session, documents=documents, now=now or utcnow(), batch=batch
            )
        total += done
        if not more or stopping():
            return total


async def purge_pass(
    session: AsyncSession, *, documents: DocumentStore, now: datetime, batch: int = BATCH
) -> tuple[Purged, bool]:
    """One bounded pass in the caller's transaction; what it did and whether more is left."""
    periods = await expiry.retention_periods(session)
    events = await _delete_batch(
        session, InboxEvent, (InboxEvent.user_id, InboxEvent.seq),
        InboxEvent.created_at < now - EVENT_WINDOW, limit=batch,
    )  # fmt: skip
    keys = await _delete_batch(
        session, IdempotencyKey, (IdempotencyKey.account_id, IdempotencyKey.key),
        IdempotencyKey.expires_at < now, IdempotencyKey.locked_until < now, limit=batch,
    )  # fmt: skip
    callbacks = sum(
        [await _delete_callbacks(session, days=d, now=now, limit=batch) for d in periods]
    )
    received = sum([await _delete_received(session, days=d, now=now, limit=batch) for d in periods])
    counts = await daily.forget_before(session, day=daily.day_of(now - timedelta(days=1)))
    housekeeping = Purged(
        events=events,
        idempotency_keys=keys,
        callbacks=callbacks,
        received_messages=received,
        daily_counts=counts,
    )
    more = max(events, keys, callbacks, received) >= batch
    notified, left = await _purge_notifications(
        session, documents=documents, now=now, periods=periods, batch=batch
    )
    return housekeeping + notified, more or left


async def _purge_notifications(
    session: AsyncSession,
    *,
    documents: DocumentStore,
    now: datetime,
    periods: list[int],
    batch: int,
) -> tuple[Purged, bool]:
    found = await expiry.expired(session, now=now, periods=periods, limit=batch)
    ids = found.ids
    if not ids:
        return Purged(), False
    deliveries, pdfs = await expiry.purge_deliveries(
        session, ids, documents=documents, now=now, limit=batch
    )
    if deliveries >= batch:  # there may be more: these notifications come back next pass
        return Purged(deliveries=deliveries, documents=pdfs), True
    items = await expiry.delete_items(session, found, limit=batch)
    if items >= batch:
        return Purged(deliveries=deliveries, documents=pdfs, inbox_items=items), True
    await expiry.empty_notifications(session, ids, now=now)
    done = Purged(notifications=len(ids), deliveries=deliveries, documents=pdfs, inbox_items=items)
    return done, len(ids) >= batch


async def _delete_batch(
    session: AsyncSession, model: Any, key: tuple[Any, ...], *where: Any, limit: int
) -> int:
    """Delete up to ``limit`` rows of ``model`` matching ``where``, by primary key."""
    chosen: Select[Any] = select(*key).where(*where).limit(limit)
    statement: Delete = delete(model).where(tuple_(*key).in_(chosen))
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def _delete_callbacks(session: AsyncSession, *, days: int, now: datetime, limit: int) -> int:
    """Status callbacks of accounts keeping ``days`` that finished and are older than that
    (their documents describe deliveries and recipients)."""
    accounts = select(Account.id).where(Account.retention_days == days)
    return await _delete_batch(
        session, CallbackJob, (CallbackJob.id,),
        CallbackJob.account_id.in_(accounts), CallbackJob.created_at < now - timedelta(days=days),
        CallbackJob.status.in_(FINISHED), limit=limit,
    )  # fmt: skip


async def _delete_received(session: AsyncSession, *, days: int, now: datetime, limit: int) -> int:
    """Text messages received by accounts keeping ``days``, older than that (a sender's
    number and words are personal data)."""
    accounts = select(Account.id).where(Account.retention_days == days)
    return await _delete_batch(
        session, ReceivedMessage, (ReceivedMessage.id,),
        ReceivedMessage.account_id.in_(accounts),
        ReceivedMessage.created_at < now - timedelta(days=days), limit=limit,
    )  # fmt: skip
