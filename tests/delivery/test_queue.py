"""The queue on both databases: exclusive claims under concurrency, leases that run out,
renewals, releases, and late answers from a worker that lost its lease.

Jobs here are due in the year 2000 and claimed "as of" then, so the claims never touch
the rows other tests leave in the shared database.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from herald.channels.outcome import Outcome
from herald.config import Settings
from herald.db import Database
from herald.delivery.models import Delivery
from herald.delivery.queue import Claimed, claim_due, finish, lock, release, renew
from herald.delivery.status import DeliveryStatus
from tests.conftest import Tenant
from tests.delivery.conftest import deliveries_of, drop_notification, make_deliveries

T0 = datetime(2000, 1, 1, tzinfo=UTC)
LEASE = timedelta(minutes=5)


async def _claim(db: Database, worker: str, *, now: datetime, limit: int = 50) -> list[Claimed]:
    async with db.sessions() as session, session.begin():
        return await claim_due(
            session, model=Delivery, worker=worker, limit=limit, lease=LEASE, now=now
        )


async def _claim_all(settings: Settings, worker: str) -> list[uuid.UUID]:
    """Claim batches on a connection pool of its own until nothing is due."""
    db = Database(settings)
    claimed: list[uuid.UUID] = []
    try:
        while batch := await _claim(db, worker, now=T0):
            claimed += [job.id for job in batch]
            await asyncio.sleep(0)
    finally:
        await db.dispose()
    return claimed


async def test_concurrent_claimers_claim_each_job_exactly_once(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    notification, ids = await make_deliveries(db, tenant, 3000, due_at=T0)
    try:
        results = await asyncio.gather(*(_claim_all(settings, f"w{i}") for i in range(4)))
        counts = Counter(job for claimed in results for job in claimed)
        assert set(counts) == set(ids)
        assert max(counts.values()) == 1
        rows = await deliveries_of(db, notification)
        assert {r.status for r in rows} == {"sending"} and {r.attempts for r in rows} == {1}
        owners = {r.leased_by for r in rows}
        assert owners <= {"w0", "w1", "w2", "w3"}
    finally:
        await drop_notification(db, notification)


async def test_a_job_due_later_is_not_claimed(db: Database, tenant: Tenant) -> None:
    notification, _ = await make_deliveries(db, tenant, 1, due_at=T0 + timedelta(hours=1))
    try:
        assert await _claim(db, "w", now=T0) == []
        [job] = await _claim(db, "w", now=T0 + timedelta(hours=1))
        assert job.previous is DeliveryStatus.CREATED and job.lease_was_lost is False
    finally:
        await drop_notification(db, notification)


async def test_an_expired_lease_is_reclaimed_and_the_late_answer_cannot_reschedule(
    db: Database, tenant: Tenant
) -> None:
    notification, [delivery_id] = await make_deliveries(db, tenant, 1, due_at=T0)
    try:
        [first] = await _claim(db, "dead", now=T0)
        assert await _claim(db, "other", now=T0 + LEASE / 2) == []
        [second] = await _claim(db, "other", now=T0 + LEASE + timedelta(seconds=1))
        assert (second.attempt, second.lease_was_lost) == (2, True)
        assert second.previous is DeliveryStatus.SENDING

        async with db.sessions() as session, session.begin():
            row = await lock(session, Delivery, delivery_id)
            assert row is not None
            late = finish(row, job=first, worker="dead", outcome=Outcome.TEMPORARY, now=T0)
            assert not late.applied and row.leased_by == "other"
            done = finish(row, job=first, worker="dead", outcome=Outcome.DELIVERED, now=T0)
            assert done.applied and done.changed and row.status == "delivered"
            again = finish(row, job=second, worker="other", outcome=Outcome.PERMANENT, now=T0)
            assert again.decision.ignored and row.status == "delivered"
    finally:
        await drop_notification(db, notification)


async def test_a_retry_is_scheduled_on_the_policy_and_frees_the_lease(
    db: Database, tenant: Tenant
) -> None:
    notification, [delivery_id] = await make_deliveries(db, tenant, 1, due_at=T0)
    try:
        [job] = await _claim(db, "w", now=T0)
        async with db.sessions() as session, session.begin():
            row = await lock(session, Delivery, delivery_id)
            assert row is not None
            result = finish(row, job=job, worker="w", outcome=Outcome.TECHNICAL, now=T0)
            assert result.applied and not result.changed
            assert row.status == "sending" and row.leased_by is None
            assert T0 <= row.due_at <= T0 + timedelta(seconds=30)
        async with db.sessions() as session, session.begin():
            row = await lock(session, Delivery, delivery_id)
            assert row is not None
            final = finish(row, job=job, worker="w", outcome=Outcome.TEMPORARY, final=True)
            # The lease was already given back: only an ending answer still counts.
            assert final.applied and row.status == "temporary-failure"
    finally:
        await drop_notification(db, notification)


async def test_renew_extends_only_own_leases_and_release_makes_jobs_due(
    db: Database, tenant: Tenant
) -> None:
    notification, ids = await make_deliveries(db, tenant, 2, due_at=T0)
    try:
        jobs = await _claim(db, "mine", now=T0)
        assert len(jobs) == 2
        async with db.sessions() as session, session.begin():
            renewed = await renew(session, model=Delivery, worker="mine", ids=ids, lease=LEASE)
            stolen = await renew(session, model=Delivery, worker="thief", ids=ids, lease=LEASE)
        assert (renewed, stolen) == (2, 0)
        rows = await deliveries_of(db, notification)
        assert all(r.leased_until and r.leased_until > datetime.now(UTC) for r in rows)
        async with db.sessions() as session, session.begin():
            assert await release(session, model=Delivery, worker="mine", ids=ids[:1]) == 1
        released, held = sorted(await deliveries_of(db, notification), key=lambda r: r.id != ids[0])
        assert released.leased_by is None and released.possible_duplicate is True
        assert released.due_at <= datetime.now(UTC) and released.attempts == 1
        assert held.leased_by == "mine"
    finally:
        await drop_notification(db, notification)
