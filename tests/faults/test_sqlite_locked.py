"""SQLite locked past its busy timeout under a real ``herald serve``: 503 with ``Retry-After``,
``/readyz`` says so, and once the lock is released the retry with the same key is served once
and its email sent."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from herald.migrate import upgrade
from tests.conftest import settings_for
from tests.faults.conftest import Log, email, make_tenant, send_until_accepted
from tests.support.processes import herald, smtp_sink

pytestmark = [pytest.mark.e2e]
TIMEOUT = 1  # HERALD_DATABASE_TIMEOUT


@pytest.mark.timeout(180)
async def test_a_lock_held_past_the_busy_timeout_is_a_503_then_served_once(tmp_path: Path) -> None:
    path = tmp_path / "herald.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(settings_for(url))
    tenant = await make_tenant(url)
    with smtp_sink() as (sink, smtp_url):
        env = {
            "HERALD_DATABASE_URL": url,
            "HERALD_SMTP_URL": smtp_url,
            "HERALD_DATABASE_TIMEOUT": str(TIMEOUT),
            "HERALD_LOG_LEVEL": "WARNING",
        }
        with herald(["serve"], env, tmp_path / "serve.log") as serve:
            await serve.up()
            async with httpx.AsyncClient(
                base_url=serve.url, headers=tenant.headers, timeout=30
            ) as http:
                body = email("locked@example.com", "locked")
                headers = {"Idempotency-Key": "locked"}
                lock = sqlite3.connect(path, isolation_level=None)
                lock.execute("BEGIN IMMEDIATE")  # another process holds the write lock
                try:
                    started = time.monotonic()
                    refused = await http.post("/v1/notifications", json=body, headers=headers)
                    took = time.monotonic() - started
                    listed = await http.get("/v1/notifications")
                    ready = await http.get("/readyz")
                finally:
                    lock.rollback()
                    lock.close()
                log = Log()
                first = await send_until_accepted(http, body, log, key="locked")
                again = await send_until_accepted(http, body, log, key="locked")
                ready_after = await http.get("/readyz")
                for _ in range(100):
                    if sink.recipients:
                        break
                    await asyncio.sleep(0.1)
                listed_after = (await http.get("/v1/notifications")).json()
            assert serve.process.poll() is None, serve.tail()

    for answer in (refused, listed):
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"].isdigit()
        assert answer.json()["error"]["code"] == "database_unavailable"
        assert set(answer.json()["error"]) == {"code", "message", "details"}
    assert took < TIMEOUT + 2, took
    assert ready.status_code == 503, ready.text
    assert ready.json()["checks"]["database"].startswith("unavailable"), ready.json()
    assert ready_after.status_code == 200, ready_after.text
    assert first == again and log.statuses == {202: 2}, str(log)
    assert [item["id"] for item in listed_after["data"]] == [first]
    assert sink.recipients == ["locked@example.com"]
