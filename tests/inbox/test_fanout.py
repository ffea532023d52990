"""Fan-out writes its items through the driver and its events in SQL: everything reads back
through the ORM exactly as SQLAlchemy would have written it, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from herald.bus.base import Message
from herald.bus.memory import MemoryBus
from herald.db import Database, new_id, run_after_commit, utcnow
from herald.directory.models import User
from herald.inbox import events as inbox_events
from herald.inbox.fanout import InAppMessage, ItemText, fan_out
from herald.inbox.models import InboxEvent, InboxItem, InboxItemHistory
from herald.inbox.schemas import ITEM_COLUMNS, item_document
from herald.notifications.models import Notification
from tests.conftest import Tenant

# Quotes, backslashes, control characters and non-ASCII text: JSON escaping done by the
# database must read back as the same strings.
TRICKY = 'Line "one"\\\n\ttwo — ünïcødé ☃ \x01 </script>'
DATA = {"nested": {"list": [1, 2.5, None, True], "text": TRICKY}, "big": 2**62, "empty": {}}
ACTIONS = [{"label": "Open", "href": "https://example.com/a?b=c&d=é"}]


class Recorder(MemoryBus):
    """Keeps what is published instead of delivering it."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, channel: str, message: Message | bytes) -> None:
        assert isinstance(message, dict)
        self.published.append((channel, message))


async def _users(db: Database, tenant: Tenant, count: int) -> list[uuid.UUID]:
    now = utcnow()
    ids = [new_id() for _ in range(count)]
    rows = [
        {
            "id": user_id,
            "account_id": tenant.account_id,
            "external_id": f"u{n}-{user_id}",
            "first_name": f"U{n}",
            "admin": False,
            "data": {},
            "created_at": now,
            "updated_at": now,
        }
        for n, user_id in enumerate(ids)
    ]
    async with db.sessions() as session, session.begin():
        await session.execute(insert(User.__table__), rows)
    return ids


async def _notification(db: Database, tenant: Tenant) -> uuid.UUID:
    now = utcnow()
    record = Notification(
        id=new_id(),
        account_id=tenant.account_id,
        type="custom",
        sub_type="message",
        products=[],
        targets={},
        channels=["in_app"],
        payload={},
        message=TRICKY,
        actions=[],
        personalisation={},
        created_at=now,
        updated_at=now,
    )
    async with db.sessions() as session, session.begin():
        session.add(record)
    return record.id


def _message(
    tenant: Tenant, notification_id: uuid.UUID, *, realtime: bool = True, at: datetime
) -> InAppMessage:
    return InAppMessage(
        account_id=tenant.account_id,
        notification_id=notification_id,
        type="custom",
        sub_type="message",
        correlation_id=None,
        data=DATA,
        message=TRICKY,
        message_formatted=None,
        actions=ACTIONS,
        require_action=True,
        realtime=realtime,
        at=at,
    )


async def _send(
    db: Database, message: InAppMessage, users: list[uuid.UUID], texts: dict[uuid.UUID, ItemText]
) -> Recorder:
    bus = Recorder()

    async def source(wanted: list[uuid.UUID]) -> dict[uuid.UUID, ItemText]:
        return {u: texts[u] for u in wanted if u in texts}

    async with db.sessions() as session:
        async with session.begin():
            await fan_out(
                session, message=message, users=users, bus=bus, texts=source if texts else None
            )
        await run_after_commit(session)
    return bus


async def _items(db: Database, notification_id: uuid.UUID) -> dict[uuid.UUID, InboxItem]:
    async with db.sessions() as session:
        found = await session.scalars(
            select(InboxItem).where(InboxItem.notification_id == notification_id)
        )
        return {item.user_id: item for item in found}


async def _events(db: Database, user_id: uuid.UUID) -> list[InboxEvent]:
    async with db.sessions() as session:
        found = await session.scalars(
            select(InboxEvent).where(InboxEvent.user_id == user_id).order_by(InboxEvent.seq)
        )
        return list(found)


async def test_items_and_events_read_back_as_written(db: Database, tenant: Tenant) -> None:
    users = await _users(db, tenant, 3)
    # Microseconds and a non-UTC zone on input: stored as UTC, read back aware.
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    first = await _notification(db, tenant)
    await _send(db, _message(tenant, first, at=at), users, {})
    before = await _items(db, first)
    assert set(before) == set(users)
    for user_id, item in before.items():
        expected = {
            "account_id": tenant.account_id,
            "user_id": user_id,
            "notification_id": first,
            "type": "custom",
            "sub_type": "message",
            "correlation_id": None,
            "data": DATA,
            "message": TRICKY,
            "message_formatted": None,
            "actions": ACTIONS,
            "require_action": True,
            "action_status": None,
            "read_at": None,
            "seen_at": None,
            "withdrawn_at": None,
            "created_at": at,
            "updated_at": at,
        }
        assert {k: getattr(item, k) for k in ITEM_COLUMNS if k != "id"} == expected
        assert item.id.version == 7
        assert item.created_at.tzinfo is UTC
        events = await _events(db, user_id)
        assert [(e.seq, e.event, e.item_id) for e in events] == [
            (1, inbox_events.CREATED, item.id),
            (2, inbox_events.COUNT, None),
        ]
        values = {name: getattr(item, name) for name in ITEM_COLUMNS}
        assert events[0].payload == item_document(values)
        assert events[1].payload == {"unread": 1, "unseen": 1, "reason": "message"}
        assert events[0].created_at.tzinfo is UTC

    # A second notification with a text per recipient (one without: the message's text),
    # after the first user has read their first item: counts include earlier items.
    async with db.sessions() as session, session.begin():
        item = await session.get(InboxItem, before[users[0]].id)
        assert item is not None
        item.read_at = utcnow()
    second = await _notification(db, tenant)
    texts = {
        users[0]: ItemText(f"Hi {TRICKY}", '<b>Hi</b> "you" ☃'),
        users[1]: ItemText(None, None),
    }
    bus = await _send(db, _message(tenant, second, at=utcnow()), users, texts)
    after = await _items(db, second)
    own = texts[users[0]]
    assert (after[users[0]].message, after[users[0]].message_formatted) == (
        own.message,
        own.message_formatted,
    )
    assert (after[users[1]].message, after[users[1]].message_formatted) == (None, None)
    assert (after[users[2]].message, after[users[2]].message_formatted) == (TRICKY, None)
    for n, user_id in enumerate(users):
        events = await _events(db, user_id)
        assert [e.seq for e in events] == [1, 2, 3, 4]
        values = {name: getattr(after[user_id], name) for name in ITEM_COLUMNS}
        assert events[2].payload == item_document(values)
        unread = 1 if n == 0 else 2
        assert events[3].payload == {"unread": unread, "unseen": 2, "reason": "message"}
    pointers = [p for channel, m in bus.published for p in m["users"]]
    assert all(channel == inbox_events.BUS_CHANNEL for channel, _ in bus.published)
    assert sorted(pointers) == sorted([str(u), 4] for u in users)
    async with db.sessions() as session:
        history = await session.scalars(
            select(InboxItemHistory.item_id).where(InboxItemHistory.notification_id == second)
        )
        assert set(history) == {item.id for item in after.values()}


async def test_poll_only_items_get_a_count_event_alone(db: Database, tenant: Tenant) -> None:
    users = await _users(db, tenant, 2)
    notification_id = await _notification(db, tenant)
    message = _message(tenant, notification_id, realtime=False, at=utcnow())
    bus = await _send(db, message, users, {})
    for user_id in users:
        events = await _events(db, user_id)
        assert [(e.seq, e.event) for e in events] == [(1, inbox_events.COUNT)]
        assert events[0].payload == {"unread": 1, "unseen": 1, "reason": "message"}
    assert sorted(p for _, m in bus.published for p in m["users"]) == sorted(
        [str(u), 1] for u in users
    )


async def test_a_rolled_back_fan_out_leaves_nothing(db: Database, tenant: Tenant) -> None:
    # The items go to the driver directly: they must still be in the session's transaction,
    # even as its first statement (SQLAlchemy begins lazily on both databases).
    users = await _users(db, tenant, 3)
    notification_id = await _notification(db, tenant)
    message = _message(tenant, notification_id, at=utcnow())

    class Abandoned(Exception):
        pass

    try:
        async with db.sessions() as session, session.begin():
            await fan_out(session, message=message, users=users, bus=Recorder())
            raise Abandoned
    except Abandoned:
        pass
    assert await _items(db, notification_id) == {}
    for user_id in users:
        assert await _events(db, user_id) == []
