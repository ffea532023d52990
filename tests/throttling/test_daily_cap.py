"""The daily cap is checked and counted atomically, in the database every process shares:
concurrent requests against a cap of N, spread over two application instances, get exactly
N messages accepted."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, update

from herald.accounts.models import Account
from herald.app import create_app
from herald.db import Database
from herald.notifications.models import Notification
from herald.throttling.models import DailyUsage
from tests.conftest import Tenant, settings_for
from tests.notifications.helpers import add_users

CAP = 6
REQUESTS = 16


@pytest.fixture
async def second(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another application on the same database, as another API process would be."""
    app = create_app(settings_for(database_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://other.test") as http:
            yield http


async def test_concurrent_requests_take_exactly_the_cap(
    client: httpx.AsyncClient, second: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == tenant.account_id).values(daily_limit=CAP)
        )
    # One user per request: a fan-out locks its users' sequence rows, which would queue
    # requests to one user behind each other and hide a race.
    users = [f"u{i}" for i in range(REQUESTS)]
    await add_users(client, tenant, *users)
    body = {"type": "custom", "subType": "message", "message": "hi", "channels": ["in_app"]}
    answers = await asyncio.gather(
        *(
            (client, second)[i % 2].post(
                "/v1/notifications", json={**body, "targets": {"users": [user]}},
                headers=tenant.headers,
            )
            for i, user in enumerate(users)
        )
    )  # fmt: skip
    codes = Counter(answer.status_code for answer in answers)
    assert codes == {202: CAP, 429: REQUESTS - CAP}, [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["error"]["code"] == "daily_limit_reached"
    async with db.sessions() as session:
        counted = await session.scalar(
            select(DailyUsage.messages).where(DailyUsage.account_id == tenant.account_id)
        )
        written = await session.scalar(
            select(func.count()).where(Notification.account_id == tenant.account_id)
        )
    assert (counted, written) == (CAP, CAP)


async def test_what_the_rules_rule_out_costs_nothing(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """A delivery the recipient's choices skip is never sent: it does not count against the
    cap, alone or in a group (in-app items withheld by an ``in_app`` opt-out likewise)."""
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == tenant.account_id).values(daily_limit=2)
        )
    for user, address in (("kay", "kay@example.com"), ("lee", "lee@example.com")):
        made = await client.put(
            f"/v1/users/{user}", json={"email": address}, headers=tenant.headers
        )
        assert made.status_code in (200, 201)
    off = {"channels": {"email": False, "in_app": False}}
    chose = await client.put("/v1/users/kay/preferences", json=off, headers=tenant.headers)
    assert chose.status_code == 200, chose.text
    body = {
        "type": "custom",
        "subType": "message",
        "message": "hi",
        "channels": ["in_app", "email"],
    }

    async def send(user: str) -> httpx.Response:
        return await client.post(
            "/v1/notifications", json={**body, "targets": {"users": [user]}},
            headers=tenant.headers,
        )  # fmt: skip

    # Six to kay at once (one group or several), each of whose two messages kay turned off.
    kays = await asyncio.gather(*(send("kay") for _ in range(6)))
    assert [a.status_code for a in kays] == [202] * 6, [a.text for a in kays]
    # lee's item and email are the day's two messages; the next send to lee is refused.
    assert (await send("lee")).status_code == 202
    refused = await send("lee")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "daily_limit_reached"
    async with db.sessions() as session:
        counted = await session.scalar(
            select(DailyUsage.messages).where(DailyUsage.account_id == tenant.account_id)
        )
    assert counted == 2


async def test_a_send_the_cap_refuses_counts_nothing_it_would_have_skipped(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """A refused send writes nothing, so the rules' skips it planned are not counted either."""
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == tenant.account_id).values(daily_limit=1)
        )
    made = await client.put(
        "/v1/users/kim", json={"email": "kim@example.com"}, headers=tenant.headers
    )
    assert made.status_code in (200, 201)
    off = {"channels": {"email": False}}
    chose = await client.put("/v1/users/kim/preferences", json=off, headers=tenant.headers)
    assert chose.status_code == 200, chose.text
    body = {
        "type": "custom", "subType": "message", "message": "hi", "channels": ["in_app", "email"],
        "targets": {"users": ["kim"]},
    }  # fmt: skip

    def skipped() -> float:
        found = REGISTRY.get_sample_value(
            "herald_deliveries_skipped_total", {"reason": "preference"}
        )
        return found or 0.0

    before = skipped()
    kept = await client.post("/v1/notifications", json=body, headers=tenant.headers)
    assert kept.status_code == 202, kept.text  # the item is the day's one message
    refused = await client.post("/v1/notifications", json=body, headers=tenant.headers)
    assert refused.status_code == 429, refused.text
    assert skipped() - before == 1  # the first send's email, not the refused one's
