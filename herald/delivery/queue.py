"""The database is the queue: claim due jobs with a lease, renew it, release it, finish a job.

A job is a row with the ``Queued`` columns (a delivery or a status callback). A claimed
job's ``due_at`` is moved to its lease's end, so one condition, ``status`` not terminal
and ``due_at <= now``, finds new work, retries that are due, and work whose worker died
(its lease ran out). Claiming is exclusive: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on
SQLite every transaction begins ``IMMEDIATE`` (``herald.db``), so one writer claims at a
time. Every status written here goes through the state machine (``herald.delivery.status``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar, cast

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from herald.bus import Bus
from herald.channels.outcome import Outcome
from herald.db import on_commit, utcnow
from herald.delivery.models import CallbackJob, Delivery
from herald.delivery.policy import DEFAULT_POLICY, RetryPolicy
from herald.delivery.status import RETRYABLE, TERMINAL, Decision, DeliveryStatus, claim, transition

WAKE_CHANNEL = "deliveries"
"""The bus channel that wakes workers after a commit that made work due."""
ACTIVE = tuple(s.value for s in DeliveryStatus if s not in TERMINAL)

Job = Delivery | CallbackJob
JobT = TypeVar("JobT", Delivery, CallbackJob)


@dataclass(frozen=True)
class Claimed:
    """A job this worker holds, and what it knew when it claimed it."""

    id: uuid.UUID
    attempt: int
    """The attempt number this claim started; a later claim by anyone has a higher one."""
    lease_was_lost: bool
    """A previous worker held this job and its lease ran out: it may have sent it already."""
    previous: DeliveryStatus
    """The status before this claim (``created`` for a first claim)."""


async def claim_due(
    session: AsyncSession,
    *,
    model: type[Job],
    worker: str,
    limit: int,
    lease: timedelta,
    now: datetime | None = None,
) -> list[Claimed]:
    """Lease up to ``limit`` due jobs to ``worker``, oldest due first; counts an attempt each."""
    now = now or utcnow()
    rows = cast(
        list[Job],
        list(
            await session.scalars(
                select(model)
                .where(model.status.in_(ACTIVE), model.due_at <= now)
                .order_by(model.due_at)
                .limit(limit)
                # SQLite compiles no FOR UPDATE; its BEGIN IMMEDIATE already excludes other writers.
                .with_for_update(skip_locked=True)
                .execution_options(populate_existing=True)
            )
        ),
    )
    until = now + lease
    jobs = []
    for row in rows:
        previous = DeliveryStatus(row.status)
        lost = row.leased_until is not None
        jobs.append(Claimed(row.id, row.attempts + 1, lease_was_lost=lost, previous=previous))
        row.status = claim(previous).status.value
        row.attempts += 1
        row.first_attempt_at = row.first_attempt_at or now
        row.due_at = row.leased_until = until
        row.leased_by = worker
    await session.flush()
    return jobs


async def renew(
    session: AsyncSession,
    *,
    model: type[Job],
    worker: str,
    ids: list[uuid.UUID],
    lease: timedelta,
) -> int:
    """Extend the leases ``worker`` still holds on ``ids`` (a heartbeat during long sends)."""
    if not ids:
        return 0
    until = utcnow() + lease
    result = await session.execute(
        update(model)
        .where(model.id.in_(ids), model.leased_by == worker, model.status.in_(ACTIVE))
        .values(leased_until=until, due_at=until)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def release(
    session: AsyncSession, *, model: type[Job], worker: str, ids: list[uuid.UUID]
) -> int:
    """Give back jobs whose attempt ``worker`` interrupted (draining): due again now.

    The interrupted attempt still counts, and a delivery is flagged as a possible
    duplicate: the send may have reached the provider before it was cut.
    """
    if not ids:
        return 0
    values: dict[str, object] = {"leased_until": None, "leased_by": None, "due_at": utcnow()}
    if model is Delivery:
        values["possible_duplicate"] = True
    result = await session.execute(
        update(model)
        .where(model.id.in_(ids), model.leased_by == worker, model.status.in_(ACTIVE))
        .values(values)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Finished:
    """What recording an outcome did: the decision, and the status before it."""

    decision: Decision
    previous: DeliveryStatus
    applied: bool
    """False when the outcome changed nothing (already terminal, or another worker owns it)."""

    @property
    def changed(self) -> bool:
        """Whether the job's status is now different (a status callback is due)."""
        return self.applied and self.decision.status is not self.previous


async def lock(session: AsyncSession, model: type[JobT], job_id: uuid.UUID) -> JobT | None:
    """The job's row, locked for this transaction (a no-op lock on SQLite, see above)."""
    row: JobT | None = await session.scalar(
        select(model)
        .where(model.id == job_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return row


async def lock_all(
    session: AsyncSession, model: type[JobT], ids: list[uuid.UUID]
) -> dict[uuid.UUID, JobT]:
    """The jobs' rows by id, locked for this transaction with one statement.

    Locked in id order, so two workers locking overlapping sets cannot wait on each other
    in a cycle.
    """
    if not ids:
        return {}
    rows = await session.scalars(
        select(model)
        .where(model.id.in_(list(dict.fromkeys(ids))))
        .order_by(model.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in rows}


def finish(
    row: Job,
    *,
    job: Claimed,
    worker: str,
    outcome: Outcome,
    retry_after: float | None = None,
    final: bool = False,
    policy: RetryPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> Finished:
    """Apply an attempt's ``outcome`` to a locked ``row``: retry on the policy, or end it.

    ``final`` ends the job even on a retryable (or ``sent``) outcome. A worker that lost
    its lease may still end the job (a delivered message is delivered) but never
    reschedules it: the job belongs to whoever claimed it since.
    """
    now = now or utcnow()
    previous = DeliveryStatus(row.status)
    retry_at = None
    if outcome in RETRYABLE and not final:
        retry_at = policy.next_attempt_at(
            attempts=row.attempts,
            first_attempt_at=row.first_attempt_at or now,
            now=now,
            retry_after=retry_after,
        )
    elif outcome is Outcome.SENT and not final:
        # Due again when the wait for its delivery receipt is over (see DeliveryRunner).
        retry_at = now + policy.receipt_wait
    decision = transition(previous, outcome, retry_at=retry_at)
    owner = row.leased_by == worker and row.attempts == job.attempt
    if decision.ignored or not (owner or decision.terminal):
        return Finished(decision, previous, applied=False)
    row.status = decision.status.value
    row.leased_until = row.leased_by = None
    if decision.terminal:
        row.completed_at = now
    else:
        assert decision.retry_at is not None
        row.due_at = decision.retry_at
    return Finished(decision, previous, applied=True)


def wake_workers(session: AsyncSession, bus: Bus) -> None:
    """Wake idle workers once this transaction commits (they poll anyway, more slowly).

    Call it from any transaction that writes due deliveries, such as accepting a notification.
    """

    async def publish() -> None:
        await bus.publish(WAKE_CHANNEL, {"wake": True})

    on_commit(session, publish)
