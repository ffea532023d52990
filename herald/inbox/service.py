"""One user's inbox: listing, counts, read and seen state, actions with their audit trail.

Every query is scoped by account and user and reads only visible (not withdrawn) items,
through the partial indexes of ``herald.inbox.models``. Every change appends real-time events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from herald.bus import Bus
from herald.db import utcnow
from herald.delivery.callbacks import action_data, enqueue_callback
from herald.directory.models import User
from herald.errors import NotFound
from herald.inbox import events as inbox_events
from herald.inbox.events import PendingEvent
from herald.inbox.models import InboxAudit, InboxItem, InboxItemHistory
from herald.inbox.schemas import ActionIn, ActionType, item_document, item_values


@dataclass(frozen=True)
class Owner:
    """Whose inbox, and who acts on it (the audit trail's ``performedBy``)."""

    account_id: uuid.UUID
    user_id: uuid.UUID
    actor: str
    by_user: bool = False
    """The user reads their own inbox (listing marks items seen); False for a server."""


@dataclass(frozen=True)
class Page:
    """A page of items with the numbers the list answers."""

    documents: list[dict[str, Any]]
    total: int
    unread: int
    next_id: uuid.UUID | None


def _visible(owner: Owner) -> list[ColumnElement[bool]]:
    return [
        InboxItem.user_id == owner.user_id,
        InboxItem.account_id == owner.account_id,
        InboxItem.withdrawn_at.is_(None),
    ]


async def _count(session: AsyncSession, where: list[ColumnElement[bool]]) -> int:
    return int(await session.scalar(select(func.count()).select_from(InboxItem).where(*where)) or 0)


async def list_items(
    session: AsyncSession,
    *,
    owner: Owner,
    unread_only: bool,
    offset: int,
    limit: int,
    before: uuid.UUID | None,
    bus: Bus,
) -> Page:
    """Newest first; ``total`` counts what the filter selects, ``unread`` all unread.

    Items listed to the user themselves become seen (after their documents are taken).
    """
    visible = _visible(owner)
    unread_where = [*visible, InboxItem.read_at.is_(None)]
    where = unread_where if unread_only else visible
    total = await _count(session, where)
    unread = total if unread_only else await _count(session, unread_where)
    paged = [*where, InboxItem.id < before] if before else where
    rows = list(
        await session.scalars(
            select(InboxItem)
            .where(*paged)
            .order_by(InboxItem.id.desc())
            .offset(offset)
            .limit(limit + 1)
        )
    )
    next_id = rows[limit - 1].id if len(rows) > limit else None
    documents = [item_document(item_values(i)) for i in rows[:limit]]
    if owner.by_user:
        await _mark_seen(session, owner=owner, items=rows[:limit], bus=bus)
    return Page(documents, total, unread, next_id)


async def _emit(
    session: AsyncSession, owner: Owner, events: list[PendingEvent], reason: str, bus: Bus
) -> None:
    events = [
        *events,
        *await inbox_events.count_events(session, user_ids=[owner.user_id], reason=reason),
    ]
    await inbox_events.append_events(session, account_id=owner.account_id, events=events, bus=bus)


def _updated(item: InboxItem) -> PendingEvent:
    return PendingEvent(
        item.user_id, inbox_events.UPDATED, item.id, item_document(item_values(item))
    )


async def _mark_seen(
    session: AsyncSession, *, owner: Owner, items: list[InboxItem], bus: Bus
) -> None:
    """The user has seen these items (they were listed to them); the unseen count drops."""
    unseen = [i for i in items if i.seen_at is None]
    if not unseen:
        return
    now = utcnow()
    for item in unseen:
        item.seen_at = now
    await session.flush()
    await _emit(session, owner, [], "seen", bus)


async def count(session: AsyncSession, *, owner: Owner) -> dict[str, int]:
    """``{"unread", "unseen"}`` of the user's visible items."""
    numbers = await inbox_events.counts(session, user_ids=[owner.user_id])
    return numbers[owner.user_id]


async def get_item(session: AsyncSession, *, owner: Owner, item_id: uuid.UUID) -> InboxItem:
    """A visible item of this user, or 404 (also for anyone else's)."""
    item = await session.scalar(select(InboxItem).where(InboxItem.id == item_id, *_visible(owner)))
    if item is None:
        raise NotFound("No such notification in this inbox")
    return item


async def mark_read(session: AsyncSession, *, owner: Owner, item_id: uuid.UUID, bus: Bus) -> None:
    """Mark one item read (idempotent)."""
    item = await get_item(session, owner=owner, item_id=item_id)
    if item.read_at is None:
        item.read_at = utcnow()
        await session.flush()
        await _emit(session, owner, [_updated(item)], "read", bus)


async def mark_all_read(session: AsyncSession, *, owner: Owner, bus: Bus) -> None:
    """Mark every visible item read, in one statement."""
    result = await session.execute(
        update(InboxItem)
        .where(*_visible(owner), InboxItem.read_at.is_(None))
        .values(read_at=utcnow())
        .returning(InboxItem.id)
    )
    if result.first() is not None:
        await _emit(session, owner, [], "read_all", bus)


async def act(
    session: AsyncSession, *, owner: Owner, item_id: uuid.UUID, action: ActionIn, bus: Bus
) -> InboxItem:
    """Record an action on an item in its append-only audit trail; ``IsRead`` also reads it."""
    item = await get_item(session, owner=owner, item_id=item_id)
    now = utcnow()
    session.add(
        InboxAudit(
            account_id=owner.account_id,
            item_id=item.id,
            action_type=action.actionType.value,
            action_note=action.actionNote,
            performed_by=owner.actor,
            performed_at=now,
        )
    )
    item.action_status = action.actionType.value
    if action.actionType is ActionType.IS_READ and item.read_at is None:
        item.read_at = now
    item.updated_at = now
    await session.flush()
    await _emit(session, owner, [_updated(item)], "action", bus)
    await _action_callback(session, owner=owner, item=item, action=action, bus=bus)
    return item


async def _action_callback(
    session: AsyncSession, *, owner: Owner, item: InboxItem, action: ActionIn, bus: Bus
) -> None:
    """Tell the sending service about the action (seed 003's feedback), in this transaction."""
    recipient = await session.scalar(select(User.external_id).where(User.id == owner.user_id))
    data = action_data(
        notification_id=item.notification_id,
        item_id=item.id,
        recipient=str(recipient),
        action_type=action.actionType.value,
        action_note=action.actionNote,
        performed_by=owner.actor,
        performed_at=item.updated_at,
    )
    await enqueue_callback(
        session, account_id=owner.account_id, event="notification.action", data=data, bus=bus
    )


async def audit_trail(
    session: AsyncSession, *, owner: Owner, item_id: uuid.UUID, offset: int, limit: int
) -> tuple[list[InboxAudit], int]:
    """The item's actions, oldest first, with their total."""
    item = await get_item(session, owner=owner, item_id=item_id)
    where = InboxAudit.item_id == item.id
    total = await session.scalar(select(func.count()).select_from(InboxAudit).where(where))
    rows = await session.scalars(
        select(InboxAudit).where(where).order_by(InboxAudit.id).offset(offset).limit(limit)
    )
    return list(rows), int(total or 0)


async def delete_item(session: AsyncSession, *, owner: Owner, item_id: uuid.UUID, bus: Bus) -> None:
    """Remove an item from the inbox (kept withdrawn, so that its audit trail survives)."""
    item = await get_item(session, owner=owner, item_id=item_id)
    item.withdrawn_at = utcnow()
    await session.flush()
    gone = PendingEvent(item.user_id, inbox_events.WITHDRAWN, item.id, {"id": str(item.id)})
    await _emit(session, owner, [gone], "deleted", bus)


async def withdraw_items(
    session: AsyncSession, *, account_id: uuid.UUID, notification_id: uuid.UUID, bus: Bus
) -> None:
    """Withdraw every visible item a notification touched (it was cancelled)."""
    touched = select(InboxItemHistory.item_id).where(
        InboxItemHistory.notification_id == notification_id
    )
    result = await session.execute(
        update(InboxItem)
        .where(
            InboxItem.account_id == account_id,
            InboxItem.id.in_(touched),
            InboxItem.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=utcnow())
        .returning(InboxItem.id, InboxItem.user_id)
    )
    rows = result.all()
    events = [PendingEvent(u, inbox_events.WITHDRAWN, i, {"id": str(i)}) for i, u in rows]
    users = list(dict.fromkeys(u for _, u in rows))
    events += await inbox_events.count_events(session, user_ids=users, reason="withdrawn")
    await inbox_events.append_events(session, account_id=account_id, events=events, bus=bus)
