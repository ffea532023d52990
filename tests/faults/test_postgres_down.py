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
import orjson
import pytest
from sqlalchemy import select

from herald.db import Database
from herald.delivery.models import Delivery
from herald.notifications.models import Notification
from tests.conftest import settings_for
from tests.delivery.conftest import FINISHED
from tests.faults.conftest import Log, email, make_tenant, send_until_accepted
from tests.realtime.conftest import call, websocket
from tests.support.postgres import PrivatePostgres, private_postgres
from tests.support.processes import Herald, SmtpSink, herald, smtp_sink, start_herald

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
SENDERS = 4
TIMEOUT = 2  # HERALD_DATABASE_TIMEOUT: a request waits no longer for the database


async def _readiness(http: httpx.AsyncClient) -> tuple[int, dict[str, object], float]:
    started = time.monotonic()
    answer = await http.get("/readyz")
    return answer.status_code, answer.json(), time.monotonic() - started


async def _faults(
    pg: PrivatePostgres, http: httpx.AsyncClient, workers: list[Herald]
) -> list[tuple[int, dict[str, object], float]]:
    """Restart the server, then stop it for 3 s or more; what /readyz said while it was down.

    During the stop the worker is killed and another started, and the stop lasts until the
    new one says it waits for the database.
    """
    await asyncio.sleep(1)
    await asyncio.to_thread(pg.restart)
    await asyncio.sleep(1)
    await asyncio.to_thread(pg.stop)
    workers[-1].kill()
    start = len(workers[-1].log.read_bytes())
    workers.append(workers[-1].again())
    down = [await _readiness(http)]
    await asyncio.sleep(3)
    # Up to 2 minutes: a new worker's start-up (imports, settings) took over 30 s on a machine
    # running five suites at once, and the test is about a worker that starts during the stop.
    for _ in range(1200):
        if b"waiting_for_dependency" in workers[-1].log.read_bytes()[start:]:
            break
        await asyncio.sleep(0.1)
    down.append(await _readiness(http))
    await asyncio.to_thread(pg.start)
    return down


async def _keep_sending(http: httpx.AsyncClient, log: Log, stop: asyncio.Event, n: int) -> None:
    while not stop.is_set():
        key = f"s{n}-{uuid.uuid4().hex[:8]}"
        await send_until_accepted(http, email(f"{key}@example.com", key), log, key=key)


async def _abandon(port: int, api_key: str, body: dict[str, object], key: str) -> None:
    """Send a request and hang up before its answer, as a client that gave up would."""
    payload = orjson.dumps(body)
    head = (
        "POST /v1/notifications HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {api_key}\r\nIdempotency-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head.encode() + payload)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


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
    """The deliveries once each is in the sink and has ended: the sink has a message before
    the worker writes down that it was sent."""
    deadline = time.monotonic() + within
    while True:
        _, deliveries = await _rows(url)
        sent = {str(d.id) for d in deliveries} <= set(sink.copies)
        if sent and all(d.status in FINISHED for d in deliveries):
            return deliveries
        if time.monotonic() > deadline:
            return deliveries
        await asyncio.sleep(0.3)


@pytest.mark.timeout(300)  # the stop waits up to 2 min for a new worker to start
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
        workers = [start_herald(worker_argv, env, tmp_path / "worker.log")]
        try:
            with herald(["api"], env, tmp_path / "api.log") as api:
                await api.up()
                async with httpx.AsyncClient(
                    base_url=api.url, headers=tenant.headers, timeout=30
                ) as http:
                    made = await http.put("/v1/users/alice", json={"name": "Alice"})
                    assert made.status_code == 201, made.text
                    token = (await http.post("/v1/users/alice/tokens")).json()["token"]
                    # A client that hangs up mid-request leaves no claim behind: its retry is
                    # served (409 only while the first request still runs), once.
                    gone = email("gone@example.com", "gone")
                    await _abandon(api.port, tenant.api_key, gone, "gone")
                    patient = Log()
                    await send_until_accepted(http, gone, patient, key="gone", in_flight_ok=True)
                    assert not patient.wrong, str(patient)
                    ws_url = f"ws://127.0.0.1:{api.port}/v1/realtime?token={token}"
                    async with websocket(ws_url) as client:
                        await client.op(op="resume", after=0)
                        log, stop = Log(), asyncio.Event()
                        senders = [
                            asyncio.create_task(_keep_sending(http, log, stop, n))
                            for n in range(SENDERS)
                        ]
                        down = await _faults(pg, http, workers)
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
                assert api.process.poll() is None and workers[-1].process.poll() is None
        finally:
            for worker in workers:
                worker.stop()
        worker_log = workers[-1].tail()

    assert not log.wrong, str(log)
    assert not log.dropped, str(log)
    assert set(log.statuses) == {202, 503}, str(log)  # the faults were seen, as 503s
    assert log.slowest < TIMEOUT + 3, log.slowest
    for status, body, took in down:
        assert status == 503 and took < TIMEOUT + 1, (status, body, took)
        assert body["status"] == "unavailable" and body["checks"]["database"] != "ok", body
    assert ready.status_code == 200, ready.text
    assert "waiting_for_dependency" in worker_log  # the worker started during the stop waited

    # Exactly one notification per key, each email sent (at least once; a copy sent twice
    # keeps its delivery id, as docs/delivery.md says).
    emails = {str(n.id) for n in notifications if n.type == "custom"}
    expected = {*log.accepted.values(), *patient.accepted.values()}
    assert emails == expected, (len(emails), len(expected))
    assert len(deliveries) == len(emails)
    assert {str(d.id) for d in deliveries} == set(sink.copies)
    assert {d.status for d in deliveries} == {"delivered"}
