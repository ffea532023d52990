"""Idempotency-Key: byte-identical replays, mismatches, requests in flight, per account."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from herald.compat.reapit import envelope_of
from herald.db import Database, utcnow
from herald.notifications.idempotency import claim, fingerprint
from herald.notifications.models import IdempotencyKey, Notification
from tests.conftest import MakeTenant, Tenant
from tests.notifications.helpers import add_users

BODY: dict[str, Any] = {
    "type": "custom",
    "subType": "message",
    "message": "once",
    "targets": {"users": ["u"]},
}


async def _sent(db: Database, tenant: Tenant) -> int:
    async with db.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.account_id == tenant.account_id)
        )
    return int(count or 0)


async def test_replay_is_byte_identical_and_sends_once(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await add_users(client, tenant, "u")
    headers = {**tenant.headers, "Idempotency-Key": "order-1"}
    first = await client.post("/v1/notifications", json=BODY, headers=headers)
    again = await client.post(
        "/v1/notifications", json=dict(reversed(list(BODY.items()))), headers=headers
    )
    assert first.status_code == again.status_code == 202
    assert first.content == again.content
    assert await _sent(db, tenant) == 1
    other = await client.post(
        "/v1/notifications", json={**BODY, "message": "twice"}, headers=headers
    )
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_mismatch"
    too_long = await client.post(
        "/v1/notifications", json=BODY, headers={**tenant.headers, "Idempotency-Key": "k" * 256}
    )
    assert too_long.status_code == 422


async def test_keys_are_scoped_per_account(
    client: httpx.AsyncClient, make_tenant: MakeTenant, db: Database
) -> None:
    one, two = await make_tenant("one"), await make_tenant("two")
    for tenant in (one, two):
        await add_users(client, tenant, "u")
        sent = await client.post(
            "/v1/notifications", json=BODY, headers={**tenant.headers, "Idempotency-Key": "same"}
        )
        assert sent.status_code == 202
        assert await _sent(db, tenant) == 1


async def test_a_claim_lasts_as_long_as_its_transaction(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await add_users(client, tenant, "u")
    digest = fingerprint(envelope_of(BODY).model_dump_json())
    headers = {**tenant.headers, "Idempotency-Key": "busy"}
    async with db.sessions() as session:  # a concurrent request holds the key ...
        await session.begin()
        assert await claim(session, account_id=tenant.account_id, key="busy", digest=digest) is None
        if db.settings.is_sqlite:
            # One writer: the second request waits for the first's transaction.
            waiting = asyncio.create_task(
                client.post("/v1/notifications", json=BODY, headers=headers)
            )
            await asyncio.sleep(0.3)
            assert not waiting.done()
        else:
            busy = await client.post("/v1/notifications", json=BODY, headers=headers)
            assert busy.status_code == 409 and busy.json()["error"]["code"] == "conflict"
        await session.rollback()  # ... and fails: nothing of its claim is left
    if db.settings.is_sqlite:
        assert (await waiting).status_code == 202
    else:
        assert (
            await client.post("/v1/notifications", json=BODY, headers=headers)
        ).status_code == 202
    assert await _sent(db, tenant) == 1


async def test_an_unanswered_claim_of_an_earlier_version_is_taken_over(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await add_users(client, tenant, "u")
    digest = fingerprint(envelope_of(BODY).model_dump_json())
    now = utcnow()
    async with db.sessions() as session, session.begin():
        session.add(
            IdempotencyKey(
                account_id=tenant.account_id, key="old", fingerprint=digest,
                locked_until=now + timedelta(seconds=60), expires_at=now + timedelta(hours=24),
            )
        )  # fmt: skip
    headers = {**tenant.headers, "Idempotency-Key": "old"}
    assert (await client.post("/v1/notifications", json=BODY, headers=headers)).status_code == 202
    assert await _sent(db, tenant) == 1


async def test_a_failed_request_releases_its_key(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "retry-me"}
    failed = await client.post("/v1/notifications", json=BODY, headers=headers)
    assert failed.status_code == 422  # user u does not exist yet
    await add_users(client, tenant, "u")
    assert (await client.post("/v1/notifications", json=BODY, headers=headers)).status_code == 202
    async with db.sessions() as session:
        stored = await session.get(IdempotencyKey, (tenant.account_id, "retry-me"))
        assert stored is not None and stored.status_code == 202
        assert stored.expires_at - stored.created_at == timedelta(hours=24)
