"""``herald api`` killed (SIGKILL) while groups of accepts are in flight, then started again, on
SQLite and on PostgreSQL: every request that got a 202 is stored with the id it was answered,
none that got another answer is, and what is stored beyond the 202s is only requests that
were in flight (no answer) at the kill. Sent again with their keys, those end as exactly one
notification each."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from herald.db import Database
from herald.migrate import upgrade
from herald.notifications.models import Notification
from tests.conftest import settings_for
from tests.faults.conftest import make_tenant
from tests.support.postgres import throwaway_database
from tests.support.processes import start_herald

pytestmark = [pytest.mark.e2e]
SENDERS = 16
KILL_AFTER = 60  # accepted requests before the kill


@asynccontextmanager
async def private_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if kind == "postgres":
        async with throwaway_database() as url:
            yield url
        return
    url = f"sqlite+aiosqlite:///{tmp_path / 'herald.db'}"
    await upgrade(settings_for(url))
    yield url


def body(key: str) -> dict[str, Any]:
    return {"type": "custom", "subType": "message", "message": key, "targets": {"users": ["u"]}}


async def _stored(url: str, account_id: uuid.UUID) -> dict[str, list[str]]:
    """message (the request's key) → ids of the notifications stored for it."""
    db = Database(settings_for(url))
    try:
        async with db.sessions() as session:
            rows = await session.execute(
                select(Notification.message, Notification.id).where(
                    Notification.account_id == account_id
                )
            )
            found: dict[str, list[str]] = {}
            for key, notification_id in rows:
                found.setdefault(str(key), []).append(str(notification_id))
            return found
    finally:
        await db.dispose()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_a_kill_with_groups_in_flight_loses_no_202_and_stores_nothing_refused(
    kind: str, tmp_path: Path
) -> None:
    async with private_database(kind, tmp_path) as url:
        tenant = await make_tenant(url)
        env = {
            "HERALD_DATABASE_URL": url,
            "HERALD_LOG_LEVEL": "WARNING",
            "HERALD_RATE_LIMIT": "1000000/minute",
        }
        api = start_herald(["api"], env, tmp_path / "api.log")
        try:
            await api.up()
            answered: dict[str, str] = {}  # key → id of its 202
            refused: dict[str, int] = {}  # key → another status
            in_flight: set[str] = set()  # sent, no answer: the connection died with the server
            killed = asyncio.Event()
            async with httpx.AsyncClient(
                base_url=api.url, headers=tenant.headers, timeout=30
            ) as http:
                made = await http.put("/v1/users/u", json={})
                assert made.status_code in (200, 201)

                async def sender() -> None:
                    while not killed.is_set():
                        key = uuid.uuid4().hex
                        headers = {"Idempotency-Key": key}
                        try:
                            answer = await http.post(
                                "/v1/notifications", json=body(key), headers=headers
                            )
                        except httpx.TransportError:
                            in_flight.add(key)
                            return
                        if answer.status_code == 202:
                            answered[key] = answer.json()["id"]
                        else:
                            refused[key] = answer.status_code
                        if len(answered) >= KILL_AFTER and not killed.is_set():
                            killed.set()
                            api.kill()

                await asyncio.gather(*(sender() for _ in range(SENDERS)))
            assert len(answered) >= KILL_AFTER, api.tail()
            api = api.again()
            await api.up()
            stored = await _stored(url, tenant.account_id)
            for key, notification_id in answered.items():
                assert stored.get(key) == [notification_id], key
            assert not set(stored) & set(refused)
            assert set(stored) <= set(answered) | in_flight
            # A careful client sends again what got no answer, with the same key.
            async with httpx.AsyncClient(
                base_url=api.url, headers=tenant.headers, timeout=30
            ) as http:
                for key in in_flight:
                    again = await http.post(
                        "/v1/notifications", json=body(key), headers={"Idempotency-Key": key}
                    )
                    assert again.status_code == 202, again.text
                    if key in stored:
                        assert [again.json()["id"]] == stored[key]  # replayed, not sent twice
            final = await _stored(url, tenant.account_id)
            assert set(final) == set(answered) | in_flight
            assert all(len(ids) == 1 for ids in final.values())
        finally:
            api.stop()
