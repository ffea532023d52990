"""New inbox items of several notifications at once (a group commit's batch): one copy of
every item, one upsert numbering every recipient's events, one insert of the events and one
of the history, whatever the number of notifications.

Only for notifications whose items are all new (no correlated chain, no claim) and share
their message's text; ``herald.inbox.fanout`` writes the others, one notification at a time.
The events are what ``fan_out`` writes for each notification in turn: per notification and
recipient a ``notification.created`` (real-time types only) and a ``count`` whose numbers
are the user's counters once that notification's item is in.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import Insert, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from herald.bulk_insert import insert_rows
from herald.bus import Bus
from herald.db import on_commit, utcnow
from herald.inbox import events as inbox_events
from herald.inbox.fanout import ITEMS, InAppMessage, copy_rows, item_rows, new_item_document
from herald.inbox.models import InboxItemHistory

CHUNK = 5000
HISTORY = cast(Table, InboxItemHistory.__table__)


@dataclass(frozen=True)
class NewItems:
    """One notification's in-app message and the users it gives a new item."""

    message: InAppMessage
    users: Sequence[uuid.UUID]


@cache
def _bump(dialect: str) -> Insert:
    """The numbering upsert returning each user's counters too (the items' triggers have
    counted the new items by then), built once per dialect."""
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    seq = inbox_events.SEQ
    values = insert_(seq)
    return values.on_conflict_do_update(
        index_elements=[seq.c.user_id], set_={"seq": seq.c.seq + values.excluded.seq}
    ).returning(seq.c.user_id, seq.c.seq, seq.c.unread, seq.c.unseen)


async def _number(
    session: AsyncSession, wanted: dict[uuid.UUID, int]
) -> dict[uuid.UUID, tuple[int, int, int]]:
    """Bump each user's sequence by what they get; user → (last seq, unread, unseen).

    In user-id order, as every numbering statement takes the rows (no deadlock on PostgreSQL).
    """
    upsert = _bump(session.get_bind().dialect.name).execution_options(
        insertmanyvalues_page_size=CHUNK
    )
    users = sorted(wanted)
    found: dict[uuid.UUID, tuple[int, int, int]] = {}
    for start in range(0, len(users), CHUNK):
        rows = [{"user_id": u, "seq": wanted[u]} for u in users[start : start + CHUNK]]
        for user, last, unread, unseen in await session.execute(upsert, rows):
            found[user] = (int(last), int(unread), int(unseen))
    return found


async def _insert_all(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await insert_rows(session, table, rows[start : start + CHUNK])


async def write_new_items(
    session: AsyncSession, notifications: Sequence[NewItems], bus: Bus
) -> None:
    """Write the items of every notification, their events and history; publish the users'
    pointers after commit (one bus message per account and 100 users)."""
    notifications = [n for n in notifications if n.users]
    if not notifications:
        return
    dialect = session.get_bind().dialect
    columns: list[str] = []
    rows: list[tuple[Any, ...]] = []
    ids: list[list[uuid.UUID]] = []
    for one in notifications:
        columns, own, made = item_rows(dialect, one.message, one.users, {})
        rows += own
        ids.append(made)
    await copy_rows(session, ITEMS, columns, rows)
    wanted: Counter[uuid.UUID] = Counter()
    later: Counter[uuid.UUID] = Counter()  # items still to come, per user, in the walk below
    for one in notifications:
        per_user = 2 if one.message.realtime else 1
        for user in one.users:
            wanted[user] += per_user
            later[user] += 1
    numbered = await _number(session, dict(wanted))
    seq = {user: last - wanted[user] for user, (last, _, _) in numbered.items()}
    now = utcnow()
    events: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for one, made in zip(notifications, ids, strict=True):
        message = one.message
        for user, item in zip(one.users, made, strict=True):
            later[user] -= 1
            _, unread, unseen = numbered[user]
            if message.realtime:
                seq[user] += 1
                document = new_item_document(message, item)
                events.append(_event(user, seq[user], inbox_events.CREATED, item, document, now))
            seq[user] += 1
            # Each new item counts once as unread and once as unseen (the triggers' rule):
            # this notification's count leaves out the items of the notifications after it.
            count = {
                "unread": unread - later[user],
                "unseen": unseen - later[user],
                "reason": message.sub_type,
            }
            events.append(_event(user, seq[user], inbox_events.COUNT, None, count, now))
            history.append(
                {
                    "item_id": item,
                    "notification_id": message.notification_id,
                    "sub_type": message.sub_type,
                    "created_at": message.at,
                }
            )
    await _insert_all(session, inbox_events.EVENTS, events)
    await _insert_all(session, HISTORY, history)
    _publish(session, notifications, numbered, bus)


def _event(
    user: uuid.UUID,
    seq: int,
    event: str,
    item: uuid.UUID | None,
    payload: dict[str, Any],
    now: Any,
) -> dict[str, Any]:
    return {
        "user_id": user,
        "seq": seq,
        "event": event,
        "item_id": item,
        "payload": payload,
        "created_at": now,
    }


def _publish(
    session: AsyncSession,
    notifications: Sequence[NewItems],
    numbered: dict[uuid.UUID, tuple[int, int, int]],
    bus: Bus,
) -> None:
    users_of: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for one in notifications:
        users_of[one.message.account_id].update(one.users)
    for account_id, users in users_of.items():
        pointers = [[str(user), numbered[user][0]] for user in sorted(users)]
        on_commit(session, inbox_events.publisher(bus, account_id, pointers))
