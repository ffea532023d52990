"""Inbox: one user's unread page and count, with 1,000,000 inbox items in the account.

The items are seeded with one ``INSERT ... SELECT`` over a recursive series (spread over
10,000 users), plus 1,000 items for the measured user, 40% of them unread. Herald
(``herald api``, one process, core 0) is then driven over HTTP by wrk with one connection on
the other core (one user's requests, one at a time: latency, not throughput), in turns for
the page and the count, ``--repeats`` times each; the table quotes medians. The statements the
two requests send are captured in-process and explained (``EXPLAIN QUERY PLAN`` on SQLite,
``EXPLAIN`` on PostgreSQL) to show which index serves each one.

    python -m bench.inbox [--items 1000000] [--seconds 10] [--repeats 3] [--backend ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from datetime import timedelta
from typing import Any, cast

import httpx
from sqlalchemy import Table, case, event, func, insert, literal, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession

# The foreign keys to accounts take their column type from that table: it must be loaded.
import herald.accounts.models  # noqa: F401
from bench import backends
from bench.backends import HERALD, UNTHROTTLED, Backend
from bench.common import Report, cpu_seconds, free_port, median, running, server_cores
from bench.load import LoadResult, require_wrk, wrk
from bench.progress import Steps
from herald.config import Settings
from herald.db import Database, JSONType, UTCDateTime, new_id, utcnow
from herald.directory.models import User
from herald.inbox.models import InboxItem
from herald.notifications.models import Notification

ITEMS = cast(Table, InboxItem.__table__)
USERS = cast(Table, User.__table__)
OTHER_USERS = 9_990  # with MINE: (1,000,000 - 1,000) / 9,990 = 100 items each
MINE = 1_000
UNREAD_SHARE = 0.4
ME = "me"
PAGE = "/v1/me/notifications?show=unread"
COUNT = "/v1/me/notifications/count"
COLUMNS = [
    "backend",
    "items",
    "request",
    "p50 ms",
    "p99 ms",
    "req/s",
    "server CPU ms/req",
    "non-2xx",
]


async def _seed_users(session: AsyncSession, account_id: uuid.UUID) -> uuid.UUID:
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "account_id": account_id,
            "external_id": f"u{n}" if n else ME,
            "admin": False,
            "data": {},
            "created_at": now,
            "updated_at": now,
        }
        for n in range(OTHER_USERS + 1)
    ]
    await session.execute(insert(USERS), rows)
    return cast(uuid.UUID, rows[0]["id"])


async def _seed_notification(session: AsyncSession, account_id: uuid.UUID) -> uuid.UUID:
    now = utcnow()
    record = Notification(
        id=new_id(),
        account_id=account_id,
        type="custom",
        sub_type="message",
        products=[],
        targets={"all": True},
        channels=["in_app"],
        payload={},
        message="Seeded",
        actions=[],
        personalisation={},
        created_at=now,
        updated_at=now,
    )
    session.add(record)
    await session.flush()
    return record.id


def _random_id(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.gen_random_uuid()
    return func.lower(func.hex(func.randomblob(16)))  # Uuid is CHAR(32) hex on SQLite


async def _seed_others(
    session: AsyncSession, account_id: uuid.UUID, notification_id: uuid.UUID, per_user: int
) -> None:
    """``per_user`` items for every other user in one INSERT ... SELECT; every other one read."""
    now = utcnow()
    series = select(literal(1).label("n")).cte("series", recursive=True)
    series = series.union_all(select(series.c.n + 1).where(series.c.n < per_user))
    values = {
        "id": _random_id(session),
        "account_id": literal(account_id, ITEMS.c.account_id.type),
        "user_id": USERS.c.id,
        "notification_id": literal(notification_id, ITEMS.c.notification_id.type),
        "type": literal("custom"),
        "sub_type": literal("message"),
        "data": literal({}, JSONType),
        "message": literal("Seeded"),
        "actions": literal([], JSONType),
        "require_action": literal(False),
        "read_at": case((series.c.n % 2 == 0, literal(now, UTCDateTime())), else_=None),
        "seen_at": literal(now, UTCDateTime()),
        "created_at": literal(now, UTCDateTime()),
        "updated_at": literal(now, UTCDateTime()),
    }
    source = (
        select(*values.values())
        .select_from(USERS.join(series, true()))
        .where(USERS.c.account_id == account_id, USERS.c.external_id != ME)
    )
    await session.execute(insert(ITEMS).from_select(list(values), source))


async def _seed_mine(
    session: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID, notification_id: uuid.UUID
) -> None:
    start = utcnow() - timedelta(days=30)
    rows = []
    for n in range(MINE):
        at = start + timedelta(minutes=n)
        unread = n % 10 < UNREAD_SHARE * 10
        rows.append(
            {
                "id": new_id(),
                "account_id": account_id,
                "user_id": user_id,
                "notification_id": notification_id,
                "type": "custom",
                "sub_type": "message",
                "correlation_id": None,
                "data": {"n": n},
                "message": f"Message {n}",
                "message_formatted": None,
                "actions": [],
                "require_action": False,
                "action_status": None,
                "read_at": None if unread else at,
                "seen_at": None if unread else at,
                "withdrawn_at": None,
                "created_at": at,
                "updated_at": at,
            }
        )
    await session.execute(insert(ITEMS), rows)


async def seed(url: str, account_id: uuid.UUID, items: int) -> None:
    """``items`` inbox items in the account, ``MINE`` of them the measured user's."""
    db = Database(Settings(database_url=url))
    try:
        async with db.sessions() as session, session.begin():
            me = await _seed_users(session, account_id)
            notification_id = await _seed_notification(session, account_id)
            await _seed_others(session, account_id, notification_id, (items - MINE) // OTHER_USERS)
            await _seed_mine(session, account_id, me, notification_id)
        if not db.settings.is_sqlite:
            # PostgreSQL's autovacuum would vacuum and analyze a table this size on its own, in
            # time: without the vacuum, the visibility map is empty and every "index-only" scan
            # still reads each row's heap page (Heap Fetches in EXPLAIN ANALYZE).
            async with db.engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM ANALYZE"))
    finally:
        await db.dispose()


async def _count_items(url: str) -> int:
    db = Database(Settings(database_url=url))
    try:
        async with db.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(InboxItem)) or 0)
    finally:
        await db.dispose()


async def plans(backend: Backend, token: str) -> list[str]:
    """The inbox statements of one page and one count request, each with its query plan."""
    from herald.app import create_app

    os.environ.update(UNTHROTTLED)
    app = create_app(Settings(database_url=backend.url))
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_a: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "inbox_items" in statement:
            seen.append((statement, parameters))

    explain = "EXPLAIN QUERY PLAN " if backend.name == "sqlite" else "EXPLAIN "
    found: list[str] = []
    async with app.router.lifespan_context(app):
        engine = app.state.runtime.db.engine
        event.listen(engine.sync_engine, "before_cursor_execute", record)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for path in (PAGE, COUNT):
                answer = await client.get(path, headers={"Authorization": f"Bearer {token}"})
                answer.raise_for_status()
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        async with engine.connect() as conn:
            for statement, parameters in seen:
                rows = (await conn.exec_driver_sql(explain + statement, parameters)).all()
                plan = " / ".join(str(r[-1]).strip() for r in rows)
                found.append(f"`{' '.join(statement.split())[:160]}…` → {plan}")
    return found


def _token(port: int, key: str) -> str:
    answer = httpx.post(
        f"http://127.0.0.1:{port}/v1/users/{ME}/tokens",
        json={},
        headers={"Authorization": f"Bearer {key}"},
    )
    answer.raise_for_status()
    return str(answer.json()["token"])


def _get(port: int, path: str, token: str, seconds: int, cores: set[int]) -> LoadResult:
    return wrk(
        f"http://127.0.0.1:{port}{path}",
        method="GET",
        body="",
        headers={"Authorization": f"Bearer {token}"},
        connections=1,
        seconds=seconds,
        cores=cores,
    )


def measure(
    backend: Backend, *, items: int, seconds: int, repeats: int, steps: Steps
) -> tuple[list[dict[str, Any]], list[str]]:
    """Page and count in turns; a row of medians for each, and the query plans."""
    server, load = server_cores()
    steps.start(f"{backend.name}: seeding {items:,} items")
    asyncio.run(seed(backend.url, backend.account_id, items))
    total = asyncio.run(_count_items(backend.url))
    steps.advance()
    port = free_port()
    runs: dict[str, list[LoadResult]] = {PAGE: [], COUNT: []}
    cpu: dict[str, list[float]] = {PAGE: [], COUNT: []}
    with running(
        [HERALD, "api", "--port", str(port)], port=port, env=backend.env(), cores=server
    ) as herald:
        token = _token(port, backend.api_key)
        for path in runs:  # warm up; the first listing also marks the page's items seen
            _get(port, path, token, 2, load)
        for n in range(repeats):
            for path, found in runs.items():
                steps.start(f"{backend.name}: {path}, run {n + 1}")
                before = cpu_seconds(herald.pid)
                found.append(_get(port, path, token, seconds, load))
                used = cpu_seconds(herald.pid) - before
                cpu[path].append(1000 * used / max(found[-1].requests, 1))
                steps.advance()
    steps.start(f"{backend.name}: query plans")
    explained = asyncio.run(plans(backend, token))
    steps.advance()
    rows = [
        {
            "backend": backend.name,
            "items": total,
            "request": f"GET {path}",
            "p50 ms": median([r.p50_ms for r in found]),
            "p99 ms": median([r.p99_ms for r in found]),
            "req/s": median([r.requests_per_second for r in found]),
            "server CPU ms/req": median(cpu[path]),
            "non-2xx": sum(r.non_2xx + r.errors for r in found),
            "runs": [vars(r) for r in found],
        }
        for path, found in runs.items()
    ]
    return rows, [f"{backend.name}: {p}" for p in explained]


def main() -> None:
    """Run the inbox benchmark on every configured backend and write its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    args = parser.parse_args()
    require_wrk()
    names = args.backend or backends.names()
    report = Report("inbox", "Inbox: unread page and count of one user", COLUMNS)
    explained: list[str] = []
    with Steps("inbox", len(names) * (2 + 2 * args.repeats)) as steps:
        for name in names:
            with backends.backend(name) as backend:
                rows, found = measure(
                    backend,
                    items=args.items,
                    seconds=args.seconds,
                    repeats=args.repeats,
                    steps=steps,
                )
                report.rows += rows
                explained += found
    for row in report.rows:
        goal = f"{row['backend']}: {row['request']} p99"
        met = row["p99 ms"] < 10 and row["non-2xx"] == 0
        report.target(goal, row["p99 ms"], "< 10 ms", met)
    report.notes += [
        f"Over HTTP: wrk with one connection on core 1, {args.seconds} s per run, "
        f"{args.repeats} runs per request alternating page and count; figures are medians. "
        "Herald: `herald api` pinned to core 0, authenticated with a user token. "
        "Server CPU ms/req: the server process's user + system time (`/proc/<pid>/stat`) "
        "over a run divided by the requests it answered.",
        f"Seeded: {OTHER_USERS:,} other users with {(args.items - MINE) // OTHER_USERS} items "
        f"each (half read) and the measured user with {MINE:,} items, "
        f"{UNREAD_SHARE:.0%} unread; the page is 15 items. PostgreSQL was VACUUM ANALYZEd after "
        "seeding (as autovacuum would); SQLite was not (Herald never runs ANALYZE).",
        "Query plans of the statements the two requests send:",
        *explained,
    ]
    print(report.write())


if __name__ == "__main__":
    main()
