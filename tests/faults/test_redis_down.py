"""Redis down under a real ``herald api`` whose bus and rate-limit counters are on it.

A private redis-server (never the shared one) is killed and started again. No request fails:
rate limits are counted in the process's memory meanwhile (a log line, a metric and
``/readyz`` say so, and the limit still holds), they go back to Redis once it answers, and an
event sent while the bus was down reaches a WebSocket client after it reconnects.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from tests.bus.conftest import RedisServer
from tests.faults.conftest import make_tenant
from tests.realtime.conftest import call, websocket
from tests.support.postgres import throwaway_database
from tests.support.processes import herald

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
RATE = 8  # requests per minute per key


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A throwaway database on the shared server (only Redis is stopped here)."""
    async with throwaway_database("herald_faults") as url:
        yield url


async def _counters(redis: RedisServer) -> int:
    client = Redis.from_url(redis.url)
    try:
        return len([key async for key in client.scan_iter("LIMITS*")])
    finally:
        await client.aclose()


async def _gauge(http: httpx.AsyncClient) -> str:
    metrics = (await http.get("/metrics")).text
    return next(
        line.split()[-1] for line in metrics.splitlines()
        if line.startswith("herald_rate_limit_fallback ")
    )  # fmt: skip


async def _until_ready(
    http: httpx.AsyncClient, status: str, within: float = 20
) -> dict[str, object]:
    deadline = time.monotonic() + within
    while True:
        body: dict[str, object] = (await http.get("/readyz")).json()
        if body["status"] == status or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.2)


@pytest.mark.timeout(180)
async def test_redis_down_fails_no_request_and_counts_in_memory(
    postgres_url: str, tmp_path: Path
) -> None:
    redis = RedisServer()
    await redis.start()
    tenant = await make_tenant(postgres_url)
    env = {
        "HERALD_DATABASE_URL": postgres_url,
        "HERALD_BUS_URL": redis.url,  # the rate-limit counters follow it
        "HERALD_RATE_LIMIT": f"{RATE}/minute",
        "HERALD_LOG_LEVEL": "WARNING",
        "HERALD_REALTIME_RESUME_GRACE": "0",
    }
    statuses: Counter[int] = Counter()
    try:
        with herald(["api"], env, tmp_path / "api.log") as api:
            await api.up()
            async with httpx.AsyncClient(
                base_url=api.url, headers=tenant.headers, timeout=10
            ) as http:
                assert (await http.put("/v1/users/alice", json={})).status_code == 201
                token = (await http.post("/v1/users/alice/tokens")).json()["token"]
                assert await _counters(redis) == 1  # counted in Redis
                async with websocket(f"ws://127.0.0.1:{api.port}/v1/realtime?token={token}") as ws:
                    await ws.op(op="resume", after=0)
                    await redis.kill()
                    started = time.monotonic()
                    sent = await http.post(
                        "/v1/notifications",
                        json={"type": "telephony", "subType": "incomingCall",
                              "targets": {"users": ["alice"]}, "payload": call("down")},
                    )  # fmt: skip
                    assert sent.status_code == 202, sent.text
                    remaining = [int(sent.headers["RateLimit-Remaining"])]
                    for _ in range(RATE):
                        answer = await http.get("/v1/users/alice")
                        statuses[answer.status_code] += 1
                        remaining.append(int(answer.headers["RateLimit-Remaining"]))
                    took = time.monotonic() - started
                    degraded = await _until_ready(http, "degraded")
                    gauge_down = await _gauge(http)

                    await redis.start()
                    # The event sent while the bus was down, re-read from the database.
                    frame = await ws.until("notification.created", within=30)
                    # After its retry period, counting goes back to Redis.
                    deadline = time.monotonic() + 20
                    while await _counters(redis) == 0 and time.monotonic() < deadline:
                        await asyncio.sleep(0.5)
                        answer = await http.get("/v1/users/alice")
                        statuses[answer.status_code] += 1
                    counters_after = await _counters(redis)
                    ready = await _until_ready(http, "ok")
                    gauge_up = await _gauge(http)
            log = api.log.read_text()
    finally:
        await redis.kill()

    # Counted in memory from zero: RATE requests admitted, then the limit held.
    assert remaining[:RATE] == list(range(RATE - 1, -1, -1)), remaining
    assert statuses[429] >= 1 and set(statuses) <= {200, 429}, statuses
    assert took < 10, took  # a dead Redis costs no request its timeout
    assert degraded["status"] == "degraded", degraded
    checks = degraded["checks"]
    assert isinstance(checks, dict)
    assert checks["database"] == "ok" and checks["rate_limits"].startswith("degraded"), checks
    assert checks["bus"].startswith("degraded"), checks
    assert gauge_down == "1.0" and gauge_up == "0.0", (gauge_down, gauge_up)
    assert "rate_limit_storage_unavailable" in log and "rate_limit_storage_recovered" in log
    assert frame["data"]["notification_id"] == sent.json()["id"], frame
    assert counters_after >= 1
    assert ready["status"] == "ok", ready
