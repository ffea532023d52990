"""The worker: woken by the bus after a commit, readiness, draining on stop, and the app
running one only when built for ``herald serve``."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import pytest

from herald.app import create_app
from herald.config import Settings
from herald.db import Database, run_after_commit, utcnow
from herald.delivery.queue import wake_workers
from herald.delivery.worker import WorkerOptions
from tests.channels.conftest import Server
from tests.conftest import Tenant
from tests.delivery.conftest import (
    deliveries_of,
    drop_notification,
    make_deliveries,
    running_worker,
    wait_finished,
    worker_settings,
)

pytestmark = pytest.mark.usefixtures("parked")

SLOW_POLL = WorkerOptions(concurrency=8, lease=timedelta(seconds=30), poll_interval=60)


async def test_a_commit_that_wakes_workers_is_picked_up_without_waiting_for_the_poll(
    tenant: Tenant, db: Database, database_url: str, smtp: Server
) -> None:
    async with running_worker(worker_settings(database_url, smtp), SLOW_POLL) as worker:
        # The first loop has run; the worker now sleeps for the whole poll interval.
        await asyncio.sleep(0.3)
        started = time.monotonic()
        async with worker.runtime.db.sessions() as session:
            async with session.begin():
                notification, _ = await make_deliveries(db, tenant, 1, due_at=utcnow())
                wake_workers(session, worker.runtime.bus)
            await run_after_commit(session)
        try:
            [delivery] = await wait_finished(db, str(notification), within=10)
            assert delivery.status == "delivered"
            assert time.monotonic() - started < 10  # far less than the 60 s poll
        finally:
            await drop_notification(db, notification)


async def test_stop_drains_in_flight_sends_before_returning(
    tenant: Tenant, db: Database, database_url: str, smtp: Server
) -> None:
    smtp.sink.delay = 0.5  # each send is still in flight when stop() is called
    notification, _ = await make_deliveries(db, tenant, 4, due_at=utcnow())
    try:
        async with running_worker(worker_settings(database_url, smtp)) as worker:
            while not worker._flights:
                import asyncio

                await asyncio.sleep(0.01)
        # The block's end stopped and drained the worker: nothing is left half-done.
        rows = await deliveries_of(db, notification)
        assert all(r.leased_by is None for r in rows)
        assert {r.status for r in rows} == {"delivered"}
    finally:
        await drop_notification(db, notification)


async def test_readyz_reports_the_worker_only_where_one_runs(settings: Settings) -> None:
    for with_worker in (True, False):
        app = create_app(settings, worker=with_worker)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://h") as http:
                ready = (await http.get("/readyz")).json()
            assert ready["status"] == "ok"
            assert ("worker" in ready["checks"]) is with_worker
            assert (app.state.worker is not None) is with_worker
