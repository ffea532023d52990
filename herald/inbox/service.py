"""One user's inbox: listing, counts, read and seen state, actions with their audit trail.

Every query is scoped by account and user and reads only visible (not withdrawn) items,
through the partial indexes of ``herald.inbox.models``. Every change appends real-time events.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Column,
    ColumnElement,
    Executable,
    Label,
    Table,
    bindparam,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from herald.bus import Bus
from herald.db import utcnow
from herald.delivery.callbacks.service import action_data, enqueue_callback
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


ITEMS = cast(Table, InboxItem.__table__)
PAGE_PARAMS = {
    "user_id": ITEMS.c.user_id.type,
    "account_id": ITEMS.c.account_id.type,
    "before": ITEMS.c.id.type,
    "offset": BigInteger(),
    "limit": BigInteger(),
}


def _visible(owner: Owner) -> list[ColumnElement[bool]]:
    return [
        InboxItem.user_id == owner.user_id,
        InboxItem.account_id == owner.account_id,
        InboxItem.withdrawn_at.is_(None),
    ]


def _param(name: str) -> BindParameter[Any]:
    return bindparam(name, type_=PAGE_PARAMS[name])


def _owned(*unset: Column[Any]) -> list[ColumnElement[bool]]:
    """The visible items of ``:user_id`` in ``:account_id`` with every column of ``unset`` NULL.

    Their partial indexes list these columns (see models), so each count is read from one alone.
    """
    return [
        ITEMS.c.user_id == _param("user_id"),
        ITEMS.c.account_id == _param("account_id"),
        ITEMS.c.withdrawn_at.is_(None),
        *(column.is_(None) for column in unset),
    ]


def _number(where: list[ColumnElement[bool]], name: str) -> Label[int]:
    # correlate(None): inside a SELECT from inbox_items, SQLAlchemy would otherwise correlate
    # the count to the outer row and drop its FROM.
    counted = select(func.count()).select_from(ITEMS).where(*where).correlate(None)
    return counted.scalar_subquery().label(name)


def _numbers(unread_only: bool) -> list[Label[int]]:
    unread = _number(_owned(ITEMS.c.read_at), "unread")
    return [unread] if unread_only else [_number(_owned(), "total"), unread]


@cache
def _page_statement(unread_only: bool, after_cursor: bool) -> Executable:
    """A page of items with the list's numbers in the same round trip (built once per shape).

    ``total`` and ``unread`` are uncorrelated subqueries, computed once per statement.
    """
    where = _owned(ITEMS.c.read_at) if unread_only else _owned()
    if after_cursor:
        where.append(ITEMS.c.id < _param("before"))
    return (
        select(*ITEMS.c, *_numbers(unread_only))
        .where(*where)
        .order_by(ITEMS.c.id.desc())
        .offset(_param("offset"))
        .limit(_param("limit"))
    )


@cache
def _numbers_statement(unread_only: bool) -> Executable:
    """The list's numbers alone, for a page past the end (it holds no row to carry them)."""
    return select(*_numbers(unread_only))


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

    One statement reads the page and its numbers. Items listed to the user themselves become
    seen (after their documents are taken).
    """
    params: dict[str, Any] = {
        "user_id": owner.user_id,
        "account_id": owner.account_id,
        "offset": offset,
        "limit": limit + 1,
    }
    if before is not None:
        params["before"] = before
    rows = (await session.execute(_page_statement(unread_only, before is not None), params)).all()
    if rows:
        numbers = rows[0]._mapping
    else:
        numbers = (await session.execute(_numbers_statement(unread_only), params)).one()._mapping
    unread = int(numbers["unread"])
    total = unread if unread_only else int(numbers["total"])
    next_id = rows[limit - 1].id if len(rows) > limit else None
    listed = [cast(Mapping[str, Any], row._mapping) for row in rows[:limit]]
    documents = [item_document(row) for row in listed]
    if owner.by_user:
        unseen = [row["id"] for row in listed if row["seen_at"] is None]
        await _mark_seen(session, owner=owner, item_ids=unseen, bus=bus)
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
    session: AsyncSession, *, owner: Owner, item_ids: list[uuid.UUID], bus: Bus
) -> None:
    """The user has seen these items (they were listed to them); the unseen count drops."""
    if not item_ids:
        return
    await session.execute(
        update(ITEMS)
        .where(ITEMS.c.id.in_(item_ids), ITEMS.c.seen_at.is_(None))
        .values(seen_at=utcnow())
    )
    await _emit(session, owner, [], "seen", bus)


async def count(session: AsyncSession, *, owner: Owner) -> dict[str, int]:
    """``{"unread", "unseen"}`` of the user's visible items: one counter row."""
    found = await inbox_events.counts(session, user_ids=[owner.user_id])
    return found[owner.user_id]


async def get_item(session: AsyncSession, *, owner: Owner, item_id: uuid.UUID) -> InboxItem:
    """A visible item of this user, or 404 (also for anyone else's)."""
    item = await session.scalar(select(InboxItem).where(InboxItem.id == item_id, *_visible(owner)))
    if item is None:
        raise NotFound("No such notification in this inbox")
    return item


async def mark_read(session: AsyncSession, *, owner: Owner, item_id: uuid.UUID, bus: Bus) -> None:
    """Mark one item read, and so seen (idempotent)."""
    item = await get_item(session, owner=owner, item_id=item_id)
    if item.read_at is None:
        item.read_at = utcnow()
        item.seen_at = item.seen_at or item.read_at
        await session.flush()
        await _emit(session, owner, [_updated(item)], "read", bus)


async def mark_all_read(session: AsyncSession, *, owner: Owner, bus: Bus) -> None:
    """Mark every visible item read and seen, in one statement: both counts drop to 0."""
    now = literal(utcnow(), InboxItem.read_at.type)
    result = await session.execute(
        update(InboxItem)
        .where(*_visible(owner), or_(InboxItem.read_at.is_(None), InboxItem.seen_at.is_(None)))
        .values(
            read_at=func.coalesce(InboxItem.read_at, now),
            seen_at=func.coalesce(InboxItem.seen_at, now),
        )
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
