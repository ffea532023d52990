"""PostgreSQL restarted and stopped under a real ``herald api`` + ``herald worker``.

A private server (never the shared one) is restarted, then stopped for a few seconds, while
clients keep sending emails with idempotency keys. Every answer is a 202 or a 503 with
``Retry-After`` in the contract's body, none is slow, no connection drops, ``/readyz`` says the
database is down; every key ends as exactly one notification, every email is sent, and the
worker, the LISTEN/NOTIFY bus and the real-time hub come back by themselves.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from herald.db import Database
from herald.delivery.models import Delivery
from herald.notifications.models import Notification
from tests.conftest import settings_for
from tests.faults.conftest import Log, email, make_tenant, send_until_accepted
from tests.realtime.conftest import call, websocket
from tests.support.postgres import PrivatePostgres, private_postgres
from tests.support.processes import SmtpSink, herald, smtp_sink

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
SENDERS = 4
TIMEOUT = 2  # HERALD_DATABASE_TIMEOUT: a request waits no longer for the database


async def _readiness(http: httpx.AsyncClient) -> tuple[int, dict[str, object], float]:
    started = time.monotonic()
    answer = await http.get("/readyz")
    return answer.status_code, answer.json(), time.monotonic() - started


async def _faults(
    pg: PrivatePostgres, http: httpx.AsyncClient
) -> list[tuple[int, dict[str, object], float]]:
    """Restart the server, then stop it for 3 s; what /readyz said while it was down."""
    await asyncio.sleep(1)
    await asyncio.to_thread(pg.restart)
    await asyncio.sleep(1)
    await asyncio.to_thread(pg.stop)
    down = [await _readiness(http)]
    await asyncio.sleep(3)
    down.append(await _readiness(http))
    await asyncio.to_thread(pg.start)
    return down


async def _keep_sending(http: httpx.AsyncClient, log: Log, stop: asyncio.Event, n: int) -> None:
    while not stop.is_set():
        key = f"s{n}-{uuid.uuid4().hex[:8]}"
        await send_until_accepted(http, email(f"{key}@example.com", key), log, key=key)


async def _rows(url: str) -> tuple[list[Notification], list[Delivery]]:
    db = Database(settings_for(url))
    try:
        async with db.sessions() as session:
            notifications = list(await session.scalars(select(Notification)))
            deliveries = list(await session.scalars(select(Delivery)))
    finally:
        await db.dispose()
    return notifications, deliveries


async def _all_sent(url: str, sink: SmtpSink, within: float = 30.0) -> list[Delivery]:
    deadline = time.monotonic() + within
    while True:
        _, deliveries = await _rows(url)
        if {str(d.id) for d in deliveries} <= set(sink.copies) or time.monotonic() > deadline:
            return deliveries
        await asyncio.sleep(0.3)


@pytest.mark.timeout(150)
async def test_restart_and_stop_answer_503_and_lose_nothing(tmp_path: Path) -> None:
    with private_postgres() as pg, smtp_sink() as (sink, smtp_url):
        url = await pg.create_database()
        tenant = await make_tenant(url)
        env = {
            "HERALD_DATABASE_URL": url,
            "HERALD_SMTP_URL": smtp_url,
            "HERALD_DATABASE_TIMEOUT": str(TIMEOUT),
            "HERALD_LOG_LEVEL": "WARNING",
            "HERALD_REALTIME_RESUME_GRACE": "0",
        }
        worker_argv = ["worker", "--lease", "5", "--poll", "0.2"]
        with (
            herald(["api"], env, tmp_path / "api.log") as api,
            herald(worker_argv, env, tmp_path / "worker.log") as worker,
        ):
            await api.up()
            async with httpx.AsyncClient(
                base_url=api.url, headers=tenant.headers, timeout=30
            ) as http:
                made = await http.put("/v1/users/alice", json={"name": "Alice"})
                assert made.status_code == 201, made.text
                token = (await http.post("/v1/users/alice/tokens")).json()["token"]
                ws_url = f"ws://127.0.0.1:{api.port}/v1/realtime?token={token}"
                async with websocket(ws_url) as client:
                    await client.op(op="resume", after=0)
                    log, stop = Log(), asyncio.Event()
                    senders = [
                        asyncio.create_task(_keep_sending(http, log, stop, n))
                        for n in range(SENDERS)
                    ]
                    down = await _faults(pg, http)
                    await asyncio.sleep(2)
                    stop.set()
                    await asyncio.gather(*senders)

                    # The hub and its bus came back: an event sent now is pushed live.
                    sent = await http.post(
                        "/v1/notifications",
                        json={"type": "telephony", "subType": "incomingCall",
                              "targets": {"users": ["alice"]}, "payload": call("after")},
                    )  # fmt: skip
                    assert sent.status_code == 202, sent.text
                    frame = await client.until("notification.created", within=20)
                    assert frame["data"]["notification_id"] == sent.json()["id"], frame
                ready = await http.get("/readyz")
            deliveries = await _all_sent(url, sink)
            notifications, _ = await _rows(url)
            assert api.process.poll() is None and worker.process.poll() is None

    assert not log.wrong, str(log)
    assert not log.dropped, str(log)
    assert set(log.statuses) == {202, 503}, str(log)  # the faults were seen, as 503s
    assert log.slowest < TIMEOUT + 3, log.slowest
    for status, body, took in down:
        assert status == 503 and took < TIMEOUT + 1, (status, body, took)
        assert body["status"] == "unavailable" and body["checks"]["database"] != "ok", body
    assert ready.status_code == 200, ready.text

    # Exactly one notification per key, each email sent (at least once; a copy sent twice
    # keeps its delivery id, as docs/delivery.md says).
    emails = {str(n.id) for n in notifications if n.type == "custom"}
    assert emails == set(log.accepted.values()), (len(emails), len(log.accepted))
    assert len(deliveries) == len(emails)
    assert {str(d.id) for d in deliveries} == set(sink.copies)
    assert {d.status for d in deliveries} == {"delivered"}
