"""Request rates per key and daily message caps per account: 429 with the right headers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import update

from herald.accounts import cache
from herald.accounts.models import Account
from herald.app import create_app
from herald.config import Settings
from herald.db import Database
from herald.throttling.service import storage_uri
from tests.conftest import MakeTenant, Tenant, bearer, make_key, settings_for
from tests.notifications.helpers import add_users


@pytest.fixture
async def strict(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An application allowing 3 requests per minute per key."""
    app = create_app(settings_for(database_url, rate_limit="3/minute"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
            yield http


async def test_rate_per_key_with_headers(
    strict: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    answers = [await strict.get("/v1/users", headers=tenant.headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    assert (
        answers[0].headers["RateLimit-Limit"] == "3"
        and 0 < int(answers[0].headers["RateLimit-Reset"]) <= 60
    )
    refused = await strict.get("/v1/users", headers=tenant.headers)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_reached"
    assert (
        0 < int(refused.headers["Retry-After"]) <= 60
        and refused.headers["RateLimit-Remaining"] == "0"
    )
    other_key = bearer(await make_key(db, tenant, "users.read"))
    assert (await strict.get("/v1/users", headers=other_key)).status_code == 200
    assert (
        await strict.get("/healthz")
    ).status_code == 200  # unauthenticated routes are not counted


async def test_account_rate_overrides_the_default(
    strict: httpx.AsyncClient, make_tenant: MakeTenant, db: Database
) -> None:
    roomy = await make_tenant("roomy")
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == roomy.account_id).values(rate_limit="5/minute")
        )
    codes = [(await strict.get("/v1/users", headers=roomy.headers)).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


async def test_daily_cap_counts_messages_and_spares_test_keys(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "TTL", 0.2)
    await add_users(client, tenant, "a", "b", "c")
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == tenant.account_id).values(daily_limit=4)
        )
    # Changed behind the application's back, as another process would: the key it remembers,
    # with its account's limits, is read again once the cache's TTL has passed.
    await asyncio.sleep(cache.TTL)
    body = {
        "type": "custom",
        "subType": "message",
        "message": "hi",
        "channels": ["in_app"],
        "targets": {"users": ["a", "b", "c"]},
    }
    assert (
        await client.post("/v1/notifications", json=body, headers=tenant.headers)
    ).status_code == 202
    refused = await client.post("/v1/notifications", json=body, headers=tenant.headers)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "daily_limit_reached"
    assert 0 < int(refused.headers["Retry-After"]) <= 86_400
    one = {**body, "targets": {"users": ["a"]}}
    assert (
        await client.post("/v1/notifications", json=one, headers=tenant.headers)
    ).status_code == 202
    test_key = bearer(await make_key(db, tenant, "notifications.write", test=True))
    for _ in range(3):
        assert (
            await client.post("/v1/notifications", json=body, headers=test_key)
        ).status_code == 202
    assert (
        await client.post("/v1/notifications", json=one, headers=tenant.headers)
    ).status_code == 429


def test_storage_follows_settings() -> None:
    assert storage_uri(Settings(_env_file=None)) == "async+memory://"  # type: ignore[call-arg]
    redis = Settings(_env_file=None, bus_url="redis://127.0.0.1:6379/0")  # type: ignore[call-arg]
    assert storage_uri(redis) == "async+redis://127.0.0.1:6379/0"
    own = Settings(_env_file=None, rate_limit_storage_url="redis://cache:6379/1")  # type: ignore[call-arg]
    assert storage_uri(own) == "async+redis://cache:6379/1"


async def test_redis_storage_is_shared_between_processes(database_url: str, tenant: Tenant) -> None:
    settings = settings_for(
        database_url, rate_limit="2/minute", rate_limit_storage_url="redis://127.0.0.1:6379/15"
    )
    apps = [create_app(settings), create_app(settings)]
    codes = []
    for app in (*apps, apps[0]):
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://herald.test"
            ) as http:
                codes.append((await http.get("/v1/users", headers=tenant.headers)).status_code)
    assert codes == [200, 200, 429]
