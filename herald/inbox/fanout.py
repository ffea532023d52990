"""Writing one notification into its recipients' inboxes: bulk inserts, chains, withdrawals.

A few statements whatever the fan-out. New items go to the driver as rows already in its
form (asyncpg's ``COPY``, sqlite3's ``executemany``), in the session's transaction; their
sequence numbers, ``notification.created`` and ``count`` events are then written by the
database from the items themselves (``herald.inbox.events.append_new_items``), and the
history is an ``INSERT ... SELECT``. Chain members are updated with ``UPDATE ... RETURNING``
(a statement per 5000) and their events numbered by one upsert per 5000 users.
Text rendered per recipient (a template reading ``user.*``) rides in the same statements:
``fan_out`` asks its ``TextSource`` once for the text of every user it writes to, each
inserted row carries its own, and chain members get theirs in one ``executemany``.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import String, Table, Uuid, bindparam, func, insert, literal, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from herald.bus import Bus
from herald.db import UTCDateTime, json_dumps, new_id
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
    message: InAppMessage,
    users: list[uuid.UUID],
    chain: dict[uuid.UUID, tuple[uuid.UUID, bool]],
    withheld: Collection[uuid.UUID] = (),
) -> Plan:
    """Targets and earlier recipients of the chain; a claim keeps the item for the claimer only.
    ``withheld`` users (their preferences turned the inbox off) get no new item but count as
    recipients; an item a chain already gave them is still updated (it is theirs already)."""
    active = [u for u, (_, gone) in chain.items() if not gone]
    recipients = len(set(users) | set(chain))
    keep = message.claimed_by
    if keep is None:
        new = [u for u in users if u not in chain and u not in withheld]
        return Plan(new=new, update=active, recipients=recipients)
    return Plan(
        new=[keep] if keep not in chain and keep not in withheld else [],
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


@lru_cache(maxsize=16)  # one dialect per engine; tests make a few engines
def _item_converters(dialect: Dialect) -> dict[str, Callable[[Any], Any]]:
    """Each item column's conversion to what the driver takes, as SQLAlchemy would bind it."""
    found: dict[str, Callable[[Any], Any]] = {}
    for column in ITEMS.columns:
        convert = column.type.dialect_impl(dialect).bind_processor(dialect)
        found[column.key] = convert if convert is not None else _same
    return found


def _same(value: Any) -> Any:
    return value


async def copy_rows(
    session: AsyncSession, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Hand rows already in the driver's form to the driver, in the session's transaction.

    SQLAlchemy binds an ``executemany`` row by row in Python, which was most of a large
    fan-out; the driver copies (asyncpg's ``COPY``) or binds (sqlite3) them in C. Both stay
    in the session's transaction, begun first if need be.
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        driver: Any = (await connection.get_raw_connection()).driver_connection
        if not driver.is_in_transaction():
            # SQLAlchemy opens asyncpg's transaction at its first statement only.
            await connection.execute(select(literal(1)))
        await driver.copy_records_to_table(table.name, records=rows, columns=list(columns))
        return
    # Through SQLAlchemy's own cursor, which begins the transaction (BEGIN IMMEDIATE) if this
    # is its first statement; driver SQL with tuples reaches sqlite3's ``executemany`` as is.
    # Names of this module's own tables and columns, in the rows' order (a compiled INSERT
    # would take the table's); the values are bound.
    quote = connection.dialect.identifier_preparer.quote
    names, marks = ", ".join(map(quote, columns)), ", ".join("?" * len(columns))
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608
    await connection.exec_driver_sql(sql, rows)


def item_rows(
    dialect: Dialect, message: InAppMessage, users: Sequence[uuid.UUID], texts: Texts
) -> tuple[list[str], list[tuple[Any, ...]], list[uuid.UUID]]:
    """One new item per user, in the driver's form: the columns, the rows and the items' ids
    (converted once per distinct value)."""
    convert = _item_converters(dialect)
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
    varying = ["id", "user_id"]
    if texts:
        varying += ["message", "message_formatted"]
    shared = [name for name in common if name not in varying]
    constants = tuple(convert[name](common[name]) for name in shared)
    to_id, to_user = convert["id"], convert["user_id"]
    ids = [new_id() for _ in users]
    if texts:
        to_text = convert["message"]
        rows = []
        for item, user in zip(ids, users, strict=True):
            text = _text_of(message, texts, user)
            own = (to_text(text["message"]), to_text(text["message_formatted"]))
            rows.append((to_id(item), to_user(user), *own, *constants))
    else:
        rows = [
            (to_id(item), to_user(user), *constants) for item, user in zip(ids, users, strict=True)
        ]
    return [*varying, *shared], rows, ids


async def _insert(
    session: AsyncSession, message: InAppMessage, users: list[uuid.UUID], texts: Texts
) -> None:
    """One item per user, copied by the driver."""
    if not users:
        return
    columns, rows, _ = item_rows(session.get_bind().dialect, message, users, texts)
    await copy_rows(session, ITEMS, columns, rows)


def new_item_document(message: InAppMessage, item_id: uuid.UUID) -> dict[str, Any]:
    """The document of a new item (the payload of its ``notification.created`` event)."""
    return item_document({**_fresh(message), "id": item_id})


def _fresh(message: InAppMessage) -> dict[str, Any]:
    """A new item's fields but its id: unread, unseen, no action yet."""
    return {
        **_content(message),
        "type": message.type,
        "correlation_id": message.correlation_id,
        "action_status": None,
        "read_at": None,
        "seen_at": None,
        "created_at": message.at,
    }


def _created_document(message: InAppMessage, per_user_text: bool) -> inbox_events.Document:
    """Every new item's document as JSON around holes for what differs per recipient."""
    holes = ["id", "message", "message_formatted"] if per_user_text else ["id"]
    tokens = {name: f"hole-{secrets.token_hex(16)}" for name in holes}
    row = {**_fresh(message), **tokens}
    document = json_dumps(item_document(row))
    parts: list[str] = []
    found = sorted((document.index(json_dumps(token)), name) for name, token in tokens.items())
    start = 0
    for at, name in found:
        parts.append(document[start:at])
        start = at + len(json_dumps(tokens[name]))
    parts.append(document[start:])
    return inbox_events.Document(tuple(parts), tuple(name for _, name in found))


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


def _history_statement() -> Any:
    """Every item of ``:nid`` into the history, built once (its values are parameters)."""
    nid = bindparam("nid", type_=Uuid())
    touched = select(
        InboxItem.id, nid, bindparam("sub_type", type_=String()),
        bindparam("at", type_=UTCDateTime()),
    ).where(InboxItem.notification_id == nid)  # fmt: skip
    return insert(cast(Table, InboxItemHistory.__table__)).from_select(
        ["item_id", "notification_id", "sub_type", "created_at"], touched
    )


HISTORY = _history_statement()


async def _record_history(session: AsyncSession, message: InAppMessage) -> None:
    params = {"nid": message.notification_id, "sub_type": message.sub_type, "at": message.at}
    await session.execute(HISTORY, params)


def _updated_events(message: InAppMessage, updated: list[dict[str, Any]]) -> list[PendingEvent]:
    if not message.realtime:
        return []  # poll-only types (missedCall): the count changes, nothing is pushed
    return [
        PendingEvent(r["user_id"], inbox_events.UPDATED, r["id"], item_document(r)) for r in updated
    ]


async def fan_out(
    session: AsyncSession,
    *,
    message: InAppMessage,
    users: list[uuid.UUID],
    bus: Bus,
    texts: TextSource | None = None,
    withheld: Collection[uuid.UUID] = (),
) -> Plan:
    """Create, update or withdraw the recipients' items and append their events.

    Without ``texts`` every item shows the message's text; with it, each its own. Called
    once per notification, with distinct users; ``withheld`` ones get no new item (``plan``).
    """
    chain = await _chain(session, message) if message.correlation_id else {}
    todo = plan(message, users, chain, withheld)
    item_of = {u: item for u, (item, _) in chain.items()}
    own = await texts([*todo.new, *todo.update]) if texts else {}
    # New items first: until the chain's items are updated to this notification, its items
    # are exactly the new ones, which lets the database write their events from them.
    await _insert(session, message, todo.new, own)
    if todo.new:
        created = _created_document(message, bool(own)) if message.realtime else None
        await inbox_events.append_new_items(
            session,
            account_id=message.account_id,
            notification_id=message.notification_id,
            created=created,
            reason=message.sub_type,
            bus=bus,
        )
    await _retext(session, message, own, [(u, item_of[u]) for u in todo.update])
    updated = await _update(session, [item_of[u] for u in todo.update], _shared(message, own))
    gone = {"withdrawn_at": message.at}
    withdrawn = await _update(session, [item_of[u] for u in todo.withdraw], gone)
    await _record_history(session, message)
    pending = _updated_events(message, updated)
    pending += [
        PendingEvent(r["user_id"], inbox_events.WITHDRAWN, r["id"], {"id": str(r["id"])})
        for r in withdrawn
    ]
    touched = [*todo.update, *todo.withdraw]
    pending += await inbox_events.count_events(session, user_ids=touched, reason=message.sub_type)
    await inbox_events.append_events(
        session, account_id=message.account_id, events=pending, bus=bus
    )
    return todo
