"""Writing one notification into its recipients' inboxes: bulk inserts, chains, withdrawals.

A statement per 5000 recipients at most, whatever the fan-out: items are inserted with
``executemany``, chain members are updated with ``UPDATE ... RETURNING``, the history is an
``INSERT ... SELECT`` and event numbers come from one upsert (``herald.inbox.events``).
Text rendered per recipient (a template reading ``user.*``) rides in the same statements:
``fan_out`` asks its ``TextSource`` once for the text of every user it writes to, each
inserted row carries its own, and chain members get theirs in one ``executemany``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, Uuid, bindparam, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from herald.bus import Bus
from herald.db import UTCDateTime, new_id
from herald.inbox import events as inbox_events
from herald.inbox.events import PendingEvent
from herald.inbox.models import InboxItem, InboxItemHistory
from herald.inbox.schemas import item_document

CHUNK = 5000
ITEMS = cast(Table, InboxItem.__table__)


@dataclass(frozen=True)
class ItemText:
    """The text of an inbox item, plain and as safe HTML."""

    message: str | None
    message_formatted: str | None


@dataclass(frozen=True)
class InAppMessage:
    """What every recipient's item shows, as content and templates produced it."""

    account_id: uuid.UUID
    notification_id: uuid.UUID
    type: str
    sub_type: str
    correlation_id: str | None
    data: dict[str, Any]
    message: str | None
    message_formatted: str | None
    actions: list[dict[str, Any]]
    require_action: bool
    realtime: bool
    at: datetime
    claimed_by: uuid.UUID | None = None


Texts = Mapping[uuid.UUID, ItemText]
TextSource = Callable[[list[uuid.UUID]], Awaitable[Texts]]
"""Given the users an event writes to (new items and chain members), the text of each."""


def _text_of(message: InAppMessage, texts: Texts, user_id: uuid.UUID) -> dict[str, str | None]:
    """The item text columns of one recipient: its own text, else the message's."""
    text = texts.get(user_id) or ItemText(message.message, message.message_formatted)
    return {"message": text.message, "message_formatted": text.message_formatted}


@dataclass
class Plan:
    """Which recipients get a new item, which items change and which are withdrawn."""

    new: list[uuid.UUID] = field(default_factory=list)
    update: list[uuid.UUID] = field(default_factory=list)
    withdraw: list[uuid.UUID] = field(default_factory=list)
    recipients: int = 0


async def _chain(
    session: AsyncSession, message: InAppMessage
) -> dict[uuid.UUID, tuple[uuid.UUID, bool]]:
    """user → (item id, withdrawn) for the items of the message's correlated chain."""
    if session.get_bind().dialect.name == "postgresql":
        # Two events of one chain at once would both see "no item yet"; serialise them.
        key = f"{message.account_id}:{message.correlation_id}"
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
    rows = await session.execute(
        select(InboxItem.user_id, InboxItem.id, InboxItem.withdrawn_at).where(
            InboxItem.account_id == message.account_id,
            InboxItem.correlation_id == message.correlation_id,
        )
    )
    return {user: (item, gone is not None) for user, item, gone in rows}


def plan(
    message: InAppMessage, users: list[uuid.UUID], chain: dict[uuid.UUID, tuple[uuid.UUID, bool]]
) -> Plan:
    """Targets and earlier recipients of the chain; a claim keeps the item for the claimer only."""
    active = [u for u, (_, gone) in chain.items() if not gone]
    recipients = len(set(users) | set(chain))
    keep = message.claimed_by
    if keep is None:
        new = [u for u in users if u not in chain]
        return Plan(new=new, update=active, recipients=recipients)
    return Plan(
        new=[keep] if keep not in chain else [],
        update=[keep] if keep in active else [],
        withdraw=[u for u in active if u != keep],
        recipients=len(set(users) | set(chain) | {keep}),
    )


def _content(message: InAppMessage) -> dict[str, Any]:
    return {
        "notification_id": message.notification_id,
        "sub_type": message.sub_type,
        "data": message.data,
        "message": message.message,
        "message_formatted": message.message_formatted,
        "actions": message.actions,
        "require_action": message.require_action,
        "updated_at": message.at,
    }


def _shared(message: InAppMessage, texts: Texts) -> dict[str, Any]:
    """The columns an update gives every chain item: the text too, unless it is per recipient."""
    content = _content(message)
    if texts:
        del content["message"], content["message_formatted"]
    return content


async def _insert(
    session: AsyncSession, message: InAppMessage, users: list[uuid.UUID], texts: Texts
) -> list[dict[str, Any]]:
    common = {
        **_content(message),
        "account_id": message.account_id,
        "type": message.type,
        "correlation_id": message.correlation_id,
        "action_status": None,
        "read_at": None,
        "seen_at": None,
        "withdrawn_at": None,
        "created_at": message.at,
    }
    rows = [{**common, "id": new_id(), "user_id": u, **_text_of(message, texts, u)} for u in users]
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(ITEMS), rows[start : start + CHUNK])
    return rows


async def _update(
    session: AsyncSession, items: list[uuid.UUID], values: dict[str, Any]
) -> list[dict[str, Any]]:
    changed: list[dict[str, Any]] = []
    for start in range(0, len(items), CHUNK):
        result = await session.execute(
            update(InboxItem)
            .where(InboxItem.id.in_(items[start : start + CHUNK]))
            .values(values)
            .returning(*InboxItem.__table__.columns)
        )
        changed.extend(dict(row) for row in result.mappings())
    return changed


async def _retext(
    session: AsyncSession,
    message: InAppMessage,
    texts: Texts,
    chain_items: list[tuple[uuid.UUID, uuid.UUID]],
) -> None:
    """Give updated chain items their recipient's own text: one ``executemany`` per chunk."""
    if not texts:
        return  # the shared text goes with the other columns (``_shared``)
    rows = []
    for user, item in chain_items:
        text = _text_of(message, texts, user)
        rows.append({"item": item, "text": text["message"], "html": text["message_formatted"]})
    statement = (
        update(ITEMS)
        .where(ITEMS.c.id == bindparam("item"))
        .values(message=bindparam("text"), message_formatted=bindparam("html"))
    )
    for start in range(0, len(rows), CHUNK):
        await session.execute(statement, rows[start : start + CHUNK])


async def _record_history(session: AsyncSession, message: InAppMessage) -> None:
    touched = select(
        InboxItem.id,
        literal(message.notification_id, Uuid()),
        literal(message.sub_type),
        literal(message.at, UTCDateTime()),
    ).where(InboxItem.notification_id == message.notification_id)
    await session.execute(
        insert(InboxItemHistory).from_select(
            ["item_id", "notification_id", "sub_type", "created_at"], touched
        )
    )


def _item_events(
    message: InAppMessage, created: list[dict[str, Any]], updated: list[dict[str, Any]]
) -> list[PendingEvent]:
    if not message.realtime:
        return []  # poll-only types (missedCall): the count changes, nothing is pushed
    return [
        *(
            PendingEvent(r["user_id"], inbox_events.CREATED, r["id"], item_document(r))
            for r in created
        ),
        *(
            PendingEvent(r["user_id"], inbox_events.UPDATED, r["id"], item_document(r))
            for r in updated
        ),
    ]


async def fan_out(
    session: AsyncSession,
    *,
    message: InAppMessage,
    users: list[uuid.UUID],
    bus: Bus,
    texts: TextSource | None = None,
) -> Plan:
    """Create, update or withdraw the recipients' items and append their events.

    Without ``texts`` every item shows the message's text; with it, each its own.
    """
    chain = await _chain(session, message) if message.correlation_id else {}
    todo = plan(message, users, chain)
    item_of = {u: item for u, (item, _) in chain.items()}
    own = await texts([*todo.new, *todo.update]) if texts else {}
    created = await _insert(session, message, todo.new, own)
    await _retext(session, message, own, [(u, item_of[u]) for u in todo.update])
    updated = await _update(session, [item_of[u] for u in todo.update], _shared(message, own))
    gone = {"withdrawn_at": message.at}
    withdrawn = await _update(session, [item_of[u] for u in todo.withdraw], gone)
    await _record_history(session, message)
    pending = _item_events(message, created, updated)
    pending += [
        PendingEvent(r["user_id"], inbox_events.WITHDRAWN, r["id"], {"id": str(r["id"])})
        for r in withdrawn
    ]
    touched = [*todo.new, *todo.update, *todo.withdraw]
    pending += await inbox_events.count_events(session, user_ids=touched, reason=message.sub_type)
    await inbox_events.append_events(
        session, account_id=message.account_id, events=pending, bus=bus
    )
    return todo
