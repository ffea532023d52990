"""End to end: 2,000 emails through real ``herald worker`` processes that are killed with
SIGKILL several times mid-run and restarted. Every delivery ends terminal, none is lost,
and any copy the SMTP sink got twice carries the same delivery id and Message-ID (and
the delivery says it may be a duplicate).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from herald.accounts import service as accounts
from herald.db import Database, new_id, utcnow
from herald.delivery.models import Delivery
from herald.migrate import upgrade
from tests.conftest import Tenant, settings_for
from tests.delivery.conftest import FINISHED, make_deliveries, wait_until

pytestmark = [pytest.mark.e2e]
EMAILS = 2000
WORKERS = 2
KILL_AT = (250, 600, 950, 1300, 1650)  # sink counts at which one worker is SIGKILLed
HERALD = str(Path(sys.executable).with_name("herald"))


@dataclass
class CountingSink:
    """An SMTP handler that keeps the delivery id and Message-ID of every message."""

    seen: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        head = (envelope.original_content or b"").split(b"\r\n\r\n", 1)[0].decode()
        fields = dict(line.split(": ", 1) for line in head.split("\r\n") if ": " in line)
        self.seen.append((fields["X-Herald-Delivery-Id"], fields["Message-ID"]))
        await asyncio.sleep(0.002)  # a little latency, so sends are in flight when killed
        return "250 2.0.0 Ok: queued"


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    """A database of its own, so only this test's deliveries are in the queue."""
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}")
    await upgrade(settings)
    db = Database(settings)
    yield db
    await db.dispose()


async def _queue_emails(db: Database) -> list[str]:
    async with db.sessions() as session, session.begin():
        account = await accounts.create_account(session, name="e2e")
    owner = Tenant(account.id, new_id(), "")  # only its account id is used
    _, ids = await make_deliveries(db, owner, EMAILS, due_at=utcnow())
    return [str(i) for i in ids]


@dataclass
class WorkerProcess:
    """A ``herald worker`` and the log it writes (INFO: it says ``worker.started`` once its
    SIGTERM handler is in place)."""

    process: subprocess.Popen[bytes]
    log: Path

    def started(self) -> bool:
        """Whether it got past its start-up, so that SIGTERM drains it."""
        return b"worker.started" in self.log.read_bytes()


def _start_worker(database_url: str, smtp_port: int, log: Path) -> WorkerProcess:
    env = {
        **os.environ,
        "HERALD_DATABASE_URL": database_url,
        "HERALD_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "HERALD_EMAIL_FROM": "Herald <noreply@herald.org>",
        "HERALD_LOG_LEVEL": "INFO",
    }
    argv = [HERALD, "worker", "--lease", "2", "--poll", "0.2", "--concurrency", "16"]
    with log.open("wb") as output:
        process = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)
    return WorkerProcess(process, log)


async def _statuses(db: Database) -> list[Delivery]:
    async with db.sessions() as session:
        return list(await session.scalars(select(Delivery)))


async def _unfinished(db: Database) -> int:
    """How many deliveries are not terminal yet (counted by the database: loading 2,000 rows
    ten times a second took the CPU the workers under test needed)."""
    async with db.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status.not_in(FINISHED))
        )
        return int(count or 0)


@pytest.mark.timeout(300)
async def test_sigkilled_workers_lose_nothing_and_duplicates_keep_their_id(
    database: Database, unused_tcp_port: int, tmp_path: Path
) -> None:
    sink = CountingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=unused_tcp_port)
    controller.start()
    url = database.settings.database_url
    ids = await _queue_emails(database)
    logs = (tmp_path / f"worker-{n}.log" for n in itertools.count())
    workers = [_start_worker(url, unused_tcp_port, next(logs)) for _ in range(WORKERS)]
    kills = 0
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 240
        while loop.time() < deadline:
            if kills < len(KILL_AT) and len(sink.seen) >= KILL_AT[kills]:
                victim = workers[kills % WORKERS].process
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                workers[kills % WORKERS] = _start_worker(url, unused_tcp_port, next(logs))
                kills += 1
            if await _unfinished(database) == 0:
                break
            await asyncio.sleep(0.1)

        # A worker restarted after the last kill may still be starting when the others have
        # sent everything; SIGTERM is the graceful stop only once it runs.
        async def all_started() -> bool:
            return all(w.started() for w in workers)

        await wait_until(all_started, within=60, what="the restarted worker to start")
        for worker in workers:
            worker.process.send_signal(signal.SIGTERM)  # graceful: drains and exits 0
        codes = [worker.process.wait(timeout=30) for worker in workers]
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.kill()
        controller.stop()

    assert kills == len(KILL_AT)
    assert codes == [0] * WORKERS
    rows = {str(r.id): r for r in await _statuses(database)}
    assert sorted(rows) == sorted(ids)
    assert {r.status for r in rows.values()} == {"delivered"}
    received = Counter(delivery_id for delivery_id, _ in sink.seen)
    assert set(received) == set(ids)  # none lost, nothing foreign
    duplicates = {d for d, n in received.items() if n > 1}
    assert all(rows[d].possible_duplicate for d in duplicates)
    message_ids = {(d, m) for d, m in sink.seen}
    assert len(message_ids) == len(received)  # every copy of a delivery has one Message-ID
    assert any(r.attempts > 1 for r in rows.values())  # the kills interrupted real work
