"""Two ``herald api`` processes on PostgreSQL and a private Redis: events cross processes, and
a Redis restart mid-stream loses nothing (the hub re-reads from the database) and repeats nothing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from herald.accounts import service as accounts
from herald.db import Database
from tests.bus.conftest import RedisServer, free_port
from tests.conftest import Tenant, settings_for
from tests.realtime.conftest import Api, Client, Server, call, seqs, unique, websocket
from tests.support.postgres import throwaway_database

HERALD = str(Path(sys.executable).with_name("herald"))
pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A throwaway, migrated PostgreSQL database."""
    async with throwaway_database("herald_e2e") as url:
        yield url


@contextmanager
def herald_api(
    port: int, database_url: str, bus_url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A ``herald api`` process on ``port`` logging to ``log``, stopped (SIGTERM) at the end."""
    env = {
        **os.environ,
        "HERALD_DATABASE_URL": database_url,
        "HERALD_BUS_URL": bus_url,
        "HERALD_RATE_LIMIT_STORAGE_URL": "memory://",  # Redis here is only the bus under test
        "HERALD_LOG_LEVEL": "WARNING",
        "HERALD_REALTIME_RESUME_GRACE": "0",
    }
    argv = [HERALD, "api", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


async def _up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    async def answers() -> bool:
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    for _ in range(300):
        assert process.poll() is None, _tail(log)
        if await answers():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"herald api on {port} did not come up")


async def _tenant(database_url: str) -> Tenant:
    db = Database(settings_for(database_url))
    try:
        async with db.sessions() as session, session.begin():
            account = await accounts.create_account(session, name="e2e")
            issued = await accounts.create_key(session, account_id=account.id)
    finally:
        await db.dispose()
    return Tenant(account.id, issued.key.id, issued.plain)


async def _calls(api: Api, user: str, count: int) -> None:
    for _ in range(count):
        await api.send("incomingCall", [user], payload=call(unique("c")))


async def _read(client: Client, count: int) -> list[int]:
    return seqs([await client.next(within=60) for _ in range(count)])


@pytest.mark.timeout(240)
async def test_events_cross_processes_and_survive_a_redis_restart(
    postgres_url: str, tmp_path: Path
) -> None:
    redis = RedisServer()
    await redis.start()
    ports = free_port(), free_port()
    logs = tmp_path / "first.log", tmp_path / "second.log"
    try:
        with (
            herald_api(ports[0], postgres_url, redis.url, logs[0]) as first,
            herald_api(ports[1], postgres_url, redis.url, logs[1]) as second,
        ):
            await _up(ports[0], first, logs[0])
            await _up(ports[1], second, logs[1])
            tenant = await _tenant(postgres_url)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{ports[0]}", headers=tenant.headers, timeout=30
            ) as http:
                api = Api(Server(app=None, port=ports[0]), tenant, http)  # type: ignore[arg-type]
                alice, token = await api.user()
                url = f"ws://127.0.0.1:{ports[1]}/v1/realtime?token={token}"
                async with websocket(url) as client:
                    await client.op(op="resume", after=0)
                    await _calls(api, alice, 3)
                    got = await _read(client, 6)  # posted on one process, pushed by the other
                    await redis.kill()
                    await _calls(api, alice, 3)  # their bus messages are lost
                    await redis.start()
                    got += await _read(client, 6)  # recovered from the database
                    await _calls(api, alice, 2)
                    got += await _read(client, 4)
                    await client.op(op="ping")
                    assert await client.next() == {"event": "pong"}  # nothing more was queued
    finally:
        await redis.kill()
    assert got == list(range(1, 17))
