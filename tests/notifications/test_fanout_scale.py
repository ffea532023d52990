"""A fan-out to a team of 10,000 users is one transaction of a few bulk statements."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event, func, insert, select

from herald.db import Database, new_id, utcnow
from herald.delivery.models import Delivery
from herald.directory.models import Team, User, team_members
from herald.inbox.models import InboxEvent, InboxItem
from tests.conftest import Tenant

MEMBERS = 10_000


async def _big_team(db: Database, tenant: Tenant) -> None:
    now = utcnow()
    users = [
        {
            "id": new_id(),
            "account_id": tenant.account_id,
            "external_id": f"m{n}",
            "first_name": f"M{n}",
            "admin": False,
            "data": {},
            "created_at": now,
            "updated_at": now,
        }
        for n in range(MEMBERS)
    ]
    team_id = new_id()
    async with db.sessions() as session, session.begin():
        await session.execute(insert(User.__table__), users)
        await session.execute(
            insert(Team.__table__).values(
                id=team_id,
                account_id=tenant.account_id,
                key="everyone",
                created_at=now,
                updated_at=now,
            )
        )
        await session.execute(
            insert(team_members), [{"team_id": team_id, "user_id": u["id"]} for u in users]
        )


@contextmanager
def counting(app: FastAPI) -> Iterator[list[str]]:
    """Every statement the application's engine sends (an executemany counts once)."""
    seen: list[str] = []
    engine = app.state.runtime.db.engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    def committed(_conn: Any) -> None:
        seen.append("-- commit")

    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "commit", committed)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "commit", committed)


async def test_team_of_ten_thousand_in_few_statements(
    client: httpx.AsyncClient, app: FastAPI, tenant: Tenant, db: Database
) -> None:
    await _big_team(db, tenant)
    body = {
        "type": "custom",
        "subType": "message",
        "message": "All hands",
        "targets": {"teams": ["everyone"]},
    }
    with counting(app) as statements:
        sent = await client.post("/v1/notifications", json=body, headers=tenant.headers)
    assert sent.status_code == 202, sent.text
    assert sent.json()["recipients"] == MEMBERS
    writes = [s for s in statements if not s.lstrip().upper().startswith("SELECT")]
    assert len(statements) < 40, len(statements)
    # Every write in one transaction, committed once (a key read to authenticate, before the
    # accept joins its group, commits apart).
    first_write = statements.index(next(s for s in writes if s != "-- commit"))
    assert statements[first_write:].count("-- commit") == 1
    assert statements.count("-- commit") <= 2
    print(f"\n{len(statements)} statements ({len(writes)} not SELECT) for {MEMBERS} recipients")
    notification_id = uuid.UUID(sent.json()["id"])
    async with db.sessions() as session:
        items = await session.scalar(
            select(func.count())
            .select_from(InboxItem)
            .where(InboxItem.notification_id == notification_id)
        )
        pushes = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.notification_id == notification_id)
        )
        member = await session.scalar(
            select(User.id).where(User.account_id == tenant.account_id, User.external_id == "m77")
        )
        events = await session.execute(
            select(InboxEvent.seq, InboxEvent.event)
            .where(InboxEvent.user_id == member)
            .order_by(InboxEvent.seq)
        )
        assert [tuple(e) for e in events] == [(1, "notification.created"), (2, "count")]
    assert items == MEMBERS and pushes == MEMBERS


async def test_a_templated_text_per_recipient_stays_bulk(
    client: httpx.AsyncClient, app: FastAPI, tenant: Tenant, db: Database
) -> None:
    await _big_team(db, tenant)
    template = {"id": "hello", "channels": {"in_app": {"message": "Hi {{ user.first_name }}"}}}
    made = await client.post("/v1/templates", json=template, headers=tenant.headers)
    assert made.status_code == 201, made.text
    body = {
        "type": "custom",
        "subType": "message",
        "message": "All hands",
        "template": "hello",
        "channels": ["in_app"],
        "targets": {"teams": ["everyone"]},
    }
    started = time.perf_counter()
    with counting(app) as statements:
        sent = await client.post("/v1/notifications", json=body, headers=tenant.headers)
    elapsed = time.perf_counter() - started
    assert sent.status_code == 202, sent.text
    # The template check and load, and the users' profiles a query per 5000: still bulk.
    assert len(statements) < 45, len(statements)
    assert statements.count("-- commit") == 1
    print(f"\n{len(statements)} statements, {elapsed:.2f} s for {MEMBERS} rendered texts")
    async with db.sessions() as session:
        texts = dict(
            (
                await session.execute(
                    select(User.external_id, InboxItem.message)
                    .join(User, User.id == InboxItem.user_id)
                    .where(InboxItem.notification_id == uuid.UUID(sent.json()["id"]))
                )
            ).all()
        )
    assert len(texts) == MEMBERS
    assert texts["m0"] == "Hi M0" and texts["m9999"] == "Hi M9999"
