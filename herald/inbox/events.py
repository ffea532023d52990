"""The real-time seam: every inbox change appends numbered events, then a pointer on the bus.

Each user has one sequence (``user_inbox_seq``); a change appends ``inbox_events`` rows
``(user_id, seq, event, item_id, payload)`` with the next numbers, in the same transaction as
the change. After commit one small message per change goes to the bus channel ``inbox``:
``{"account": id, "users": [[user_id, last_seq], ...]}``; the hub reads the rows it lacks.
See docs/realtime-events.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Insert,
    Table,
    TextClause,
    Uuid,
    bindparam,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from herald.bus import Bus
from herald.db import AfterCommit, UTCDateTime, json_dumps, on_commit, utcnow
from herald.inbox.models import InboxEvent, UserInboxSeq

CHUNK = 5000
EVENTS = cast(Table, InboxEvent.__table__)
SEQ = cast(Table, UserInboxSeq.__table__)
BUS_CHANNEL = "inbox"
# A pointer is at most ~61 bytes (a quoted UUID and a 19-digit number), so 100 of them stay
# well under the bus's 8000-byte limit with the envelope around them.
POINTERS_PER_MESSAGE = 100
CREATED = "notification.created"
UPDATED = "notification.updated"
WITHDRAWN = "notification.withdrawn"
COUNT = "count"


@dataclass(frozen=True)
class PendingEvent:
    """An event to append to one user's stream."""

    user_id: uuid.UUID
    event: str
    item_id: uuid.UUID | None
    payload: dict[str, Any]


@cache
def _bump(dialect: str) -> Insert:
    """``INSERT ... ON CONFLICT DO UPDATE SET seq = seq + n RETURNING``, built once per dialect.

    Executed with a list of rows, so that SQLAlchemy caches its compiled form: a multi-row
    ``.values([...])`` has no cache key and was compiled again on every accept.
    """
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    values = insert_(SEQ)
    return values.on_conflict_do_update(
        index_elements=[SEQ.c.user_id], set_={"seq": SEQ.c.seq + values.excluded.seq}
    ).returning(SEQ.c.user_id, SEQ.c.seq)


async def _allocate(session: AsyncSession, wanted: dict[uuid.UUID, int]) -> dict[uuid.UUID, int]:
    # One upsert per chunk bumps every user's counter and returns the new last number. Rows
    # are taken in user-id order so that concurrent fan-outs lock them in the same order
    # (no deadlock on PostgreSQL); SQLite has a single writer. The page size makes the driver
    # send each chunk as one multi-row statement.
    upsert = _bump(session.get_bind().dialect.name).execution_options(
        insertmanyvalues_page_size=CHUNK
    )
    users = sorted(wanted)
    last: dict[uuid.UUID, int] = {}
    for start in range(0, len(users), CHUNK):
        rows = [{"user_id": u, "seq": wanted[u]} for u in users[start : start + CHUNK]]
        last.update((await session.execute(upsert, rows)).all())
    return last


def publisher(bus: Bus, account_id: uuid.UUID, pointers: Sequence[Sequence[Any]]) -> AfterCommit:
    """Publish ``[user id, last seq]`` pairs, 100 per bus message."""

    async def publish() -> None:
        for start in range(0, len(pointers), POINTERS_PER_MESSAGE):
            chunk = pointers[start : start + POINTERS_PER_MESSAGE]
            await bus.publish(BUS_CHANNEL, {"account": str(account_id), "users": chunk})

    return publish


async def append_events(
    session: AsyncSession, *, account_id: uuid.UUID, events: Sequence[PendingEvent], bus: Bus
) -> dict[uuid.UUID, int]:
    """Number and store ``events`` (in order, per user); publish pointers after commit."""
    if not events:
        return {}
    wanted: dict[uuid.UUID, int] = {}
    for event in events:
        wanted[event.user_id] = wanted.get(event.user_id, 0) + 1
    last = await _allocate(session, wanted)
    next_seq = {u: last[u] - n + 1 for u, n in wanted.items()}
    now = utcnow()
    rows = []
    for event in events:
        seq = next_seq[event.user_id]
        next_seq[event.user_id] = seq + 1
        rows.append(
            {
                "user_id": event.user_id,
                "seq": seq,
                "event": event.event,
                "item_id": event.item_id,
                "payload": event.payload,
                "created_at": now,
            }
        )
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(EVENTS), rows[start : start + CHUNK])
    pointers = [[str(u), seq] for u, seq in last.items()]
    on_commit(session, publisher(bus, account_id, pointers))
    return last


async def counts(
    session: AsyncSession, *, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """``{"unread", "unseen"}`` of each user's visible items, a query per 5000 users.

    Read from the counters beside each user's sequence (kept by the database, migration 0014):
    one row per user, whatever their inbox holds. A user without a row has no items.
    """
    found = {u: {"unread": 0, "unseen": 0} for u in user_ids}
    users = list(found)
    for start in range(0, len(users), CHUNK):
        chunk = users[start : start + CHUNK]
        numbers = select(SEQ.c.user_id, SEQ.c.unread, SEQ.c.unseen).where(SEQ.c.user_id.in_(chunk))
        for user_id, unread, unseen in await session.execute(numbers):
            found[user_id] = {"unread": int(unread), "unseen": int(unseen)}
    return found


async def count_events(
    session: AsyncSession, *, user_ids: Sequence[uuid.UUID], reason: str
) -> list[PendingEvent]:
    """A ``count`` event per user with their current unread and unseen numbers."""
    numbers = await counts(session, user_ids=user_ids)
    return [PendingEvent(u, COUNT, None, {**n, "reason": reason}) for u, n in numbers.items()]


@dataclass(frozen=True)
class Document:
    """A JSON document shared by many rows but for a few holes, filled per row in SQL.

    ``parts`` are the JSON text around the holes (one more part than holes); each hole names
    an ``inbox_items`` column whose JSON value the database writes there (``id``, ``message``
    or ``message_formatted``).
    """

    parts: tuple[str, ...]
    holes: tuple[str, ...]


def _uuid_text(dialect: str, column: str) -> str:
    """SQL for a UUID column as its canonical text (SQLite stores 32 hex digits)."""
    if dialect == "postgresql":
        return f"CAST({column} AS TEXT)"
    cuts = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    return " || '-' || ".join(f"substr({column}, {start}, {size})" for start, size in cuts)


def _json_of(dialect: str, column: str) -> str:
    """SQL for a column as JSON text: a quoted UUID, a JSON string, or ``null``."""
    if column == "id":
        return f"'\"' || {_uuid_text(dialect, 'i.id')} || '\"'"
    if dialect == "postgresql":
        return f"COALESCE(CAST(to_json(i.{column}) AS TEXT), 'null')"
    return f"json_quote(i.{column})"


def _typed(dialect: str, sql: str, cast_to: str) -> str:
    # PostgreSQL cannot infer a parameter's type from an INSERT ... SELECT's target column.
    return f"CAST({sql} AS {cast_to})" if dialect == "postgresql" else sql


@cache
def _new_items_sql(dialect: str, holes: tuple[str, ...] | None) -> tuple[TextClause, ...]:
    """The numbering upsert and the event inserts for the new items of one notification."""
    # Every piece of SQL below is a constant of this module; the values are bound parameters.
    nid = _typed(dialect, ":nid", "uuid")
    # PostgreSQL locks the rows in user-id order, so that two fan-outs cannot deadlock;
    # SQLite has a single writer and would only sort for nothing.
    order = " ORDER BY i.user_id" if dialect == "postgresql" else ""
    bump = text(
        "INSERT INTO user_inbox_seq (user_id, seq)"  # noqa: S608
        f" SELECT i.user_id, {_typed(dialect, ':n', 'bigint')}"
        f" FROM inbox_items i WHERE i.notification_id = {nid}{order}"
        " ON CONFLICT (user_id) DO UPDATE SET seq = user_inbox_seq.seq + excluded.seq"
        f" RETURNING {_uuid_text(dialect, 'user_id')}, seq"
    )
    columns = "INSERT INTO inbox_events (user_id, seq, event, item_id, payload, created_at)"
    source = "FROM inbox_items i JOIN user_inbox_seq s ON s.user_id = i.user_id"
    where = f" WHERE i.notification_id = {nid}"
    now = _typed(dialect, ":now", "timestamptz")
    # The user's counters, already counting the new items (their triggers ran with the insert).
    count_payload = (
        "'{\"unread\":' || s.unread || ',\"unseen\":' || s.unseen"
        " || ',\"reason\":' || :reason || '}'"
    )
    typed = (bindparam("nid", type_=Uuid()), bindparam("now", type_=UTCDateTime()))
    bump = bump.bindparams(typed[0])
    if holes is None:
        count = text(
            f"{columns} SELECT s.user_id, s.seq, '{COUNT}', NULL,"
            f" {_typed(dialect, count_payload, 'jsonb')}, {now} {source}{where}"
        ).bindparams(*typed)
        return bump, count
    pieces = [f":p{n} || {_json_of(dialect, hole)} || " for n, hole in enumerate(holes)]
    payload = "".join(pieces) + f":p{len(holes)}"
    # Both events of an item in one pass over the items and their sequences (each pass was a
    # scan and a join of every new item): the item's row twice, once per event. A CASE
    # evaluates only its chosen branch, so the counts run once per user, for its count event.
    either = f"CASE k.created WHEN 1 THEN {payload} ELSE {count_payload} END"
    both = text(
        f"{columns} SELECT s.user_id, s.seq - k.created,"
        f" CASE k.created WHEN 1 THEN '{CREATED}' ELSE '{COUNT}' END,"
        f" CASE k.created WHEN 1 THEN i.id END, {_typed(dialect, either, 'jsonb')}, {now}"
        f" {source} CROSS JOIN (SELECT 1 AS created UNION ALL SELECT 0) k{where}"
    ).bindparams(*typed)
    return bump, both


async def append_new_items(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    notification_id: uuid.UUID,
    created: Document | None,
    reason: str,
    bus: Bus,
) -> int:
    """Number and store the events of every item of ``notification_id``, all new: the item's
    ``notification.created`` (unless ``created`` is None: poll-only) and the user's ``count``.

    Two statements whatever the number of items: the events are written by the database
    from the items themselves, so no row passes through Python but the pointers to publish.
    Every item of the notification must be new (no chain item updated to it yet) and have
    no events yet. Returns how many users were numbered.
    """
    dialect = session.get_bind().dialect.name
    statements = _new_items_sql(dialect, created.holes if created else None)
    per_user = 1 if created is None else 2
    at = {"nid": notification_id, "now": utcnow()}
    numbered = await session.execute(statements[0], {**at, "n": per_user})
    pointers = [[user, seq] for user, seq in numbered]
    if not pointers:
        return 0
    reason_json = {"reason": json_dumps(reason)}
    parts = {f"p{n}": part for n, part in enumerate(created.parts)} if created else {}
    await session.execute(statements[1], {**at, **reason_json, **parts})
    on_commit(session, publisher(bus, account_id, pointers))
    return len(pointers)
