"""Emptying expired notifications of personal data: their deliveries (and letters' PDFs),
their inbox items, then the notifications themselves, each step a bulk statement over a
bounded batch.

A notification expires ``retention_days`` (its account's) after it was created, or after it
was scheduled for if that is later, once none of its deliveries is still waiting or being
sent (a running delivery needs its content). Ids, type, channels, status, counts, template
and times stay; what could name or describe a person goes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.channels.letter.store import DocumentStore
from herald.delivery.models import Delivery, DeliveryAttempt
from herald.inbox.models import InboxItem, InboxItemHistory
from herald.notifications.models import Notification, NotificationAction
from herald.notifications.progress import ACTIVE


async def retention_periods(session: AsyncSession) -> list[int]:
    """The distinct ``retention_days`` of the accounts (few: most keep the default)."""
    return list(await session.scalars(select(Account.retention_days).distinct()))


@dataclass(frozen=True)
class Batch:
    """Expired notifications to purge, each with the cutoff of its account's retention."""

    cutoffs: dict[uuid.UUID, datetime]

    @property
    def ids(self) -> list[uuid.UUID]:
        """The notifications."""
        return list(self.cutoffs)

    def by_cutoff(self) -> dict[datetime, list[uuid.UUID]]:
        """The notifications grouped by their cutoff."""
        groups: dict[datetime, list[uuid.UUID]] = {}
        for notification_id, cutoff in self.cutoffs.items():
            groups.setdefault(cutoff, []).append(notification_id)
        return groups


async def expired(
    session: AsyncSession, *, now: datetime, periods: Sequence[int], limit: int
) -> Batch:
    """Up to ``limit`` expired notifications not purged yet, oldest first.

    Rows are locked with ``SKIP LOCKED`` on PostgreSQL, so workers purging at the same time
    take different batches.
    """
    found: dict[uuid.UUID, datetime] = {}
    for days in periods:
        if len(found) >= limit:
            break
        cutoff = now - timedelta(days=days)
        running = exists().where(
            Delivery.notification_id == Notification.id, Delivery.status.in_(sorted(ACTIVE))
        )
        where = [
            Notification.purged_at.is_(None),  # the partial index of unpurged rows, in order
            Notification.created_at < cutoff,
            or_(Notification.scheduled_at.is_(None), Notification.scheduled_at < cutoff),
            ~running,
        ]
        if len(periods) > 1:  # else every account keeps the same: no need to ask which
            accounts = select(Account.id).where(Account.retention_days == days)
            where.append(Notification.account_id.in_(accounts))
        query = (
            select(Notification.id)
            .where(*where)
            .order_by(Notification.created_at)
            .limit(limit - len(found))
            .with_for_update(skip_locked=True)
        )
        found |= dict.fromkeys(await session.scalars(query), cutoff)
    return Batch(found)


async def purge_deliveries(
    session: AsyncSession,
    notification_ids: list[uuid.UUID],
    *,
    documents: DocumentStore,
    now: datetime,
    limit: int,
) -> tuple[int, int]:
    """Empty up to ``limit`` deliveries of these notifications; (deliveries, PDFs deleted).

    A letter's PDF leaves the document store before the row forgets it: should the
    transaction fail, the next pass deletes it again (deleting a missing one is no error);
    the other order could leave a PDF no row points to, never to be deleted.
    """
    rows = (
        await session.execute(
            select(Delivery.id, Delivery.document_id)
            .where(Delivery.notification_id.in_(notification_ids), Delivery.purged_at.is_(None))
            .limit(limit)
        )
    ).all()
    if not rows:
        return 0, 0
    ids = [row.id for row in rows]
    pdfs = [row.document_id for row in rows if row.document_id]
    for document_id in pdfs:
        await documents.delete(document_id)
    await session.execute(
        update(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(ids))
        .values(provider_response=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids))
        .values(rendered=None, recipient={}, document_id=None, own_provider=None, purged_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(ids), len(pdfs)


async def delete_items(session: AsyncSession, batch: Batch, *, limit: int) -> int:
    """Delete up to ``limit`` inbox items of the batch's notifications whose whole chain has
    expired (an item a later event of its chain, newer than the retention, updated stays),
    with their history and audit trail (by cascade); how many went.

    The items are locked as they are chosen, and the delete reads their chains again in a
    statement of its own: a fan-out adding a live event to one of them either committed
    before (and is seen) or waits for this transaction (PostgreSQL; SQLite has one writer).
    """
    deleted = 0
    for cutoff, ids in batch.by_cutoff().items():
        if deleted >= limit:
            break
        live = (
            select(InboxItemHistory.item_id)
            .join(Notification, Notification.id == InboxItemHistory.notification_id)
            .where(InboxItemHistory.item_id == InboxItem.id, Notification.created_at >= cutoff)
            .exists()
        )
        touched = select(InboxItemHistory.item_id).where(InboxItemHistory.notification_id.in_(ids))
        chosen = list(
            await session.scalars(
                select(InboxItem.id)
                .where(InboxItem.id.in_(touched), ~live)
                .order_by(InboxItem.id)
                .limit(limit - deleted)
                .with_for_update(of=InboxItem)
            )
        )
        if chosen:
            await session.execute(
                delete(InboxItem)
                .where(InboxItem.id.in_(chosen), ~live)
                .execution_options(synchronize_session=False)
            )
        deleted += len(chosen)
    return deleted


async def empty_notifications(
    session: AsyncSession, notification_ids: list[uuid.UUID], *, now: datetime
) -> None:
    """Empty the notifications of their envelope's content and their actions of their notes
    (an officer's words about a resident); ``purged_at`` says when."""
    await session.execute(
        update(NotificationAction)
        .where(NotificationAction.notification_id.in_(notification_ids))
        .values(action_note=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Notification)
        .where(Notification.id.in_(notification_ids))
        .values(
            targets={},
            payload={},
            message=None,
            personalisation={},
            actions=[],
            correlation_id=None,
            sent_by=None,
            purged_at=now,
        )
        .execution_options(synchronize_session=False)
    )
