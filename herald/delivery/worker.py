"""The worker: claims due jobs (deliveries and status callbacks) and runs them concurrently.

It claims only as many jobs as it has free slots, so nothing it holds waits unstarted; it
sleeps until the bus says work was committed, a slot frees up, or the poll interval
passes (the bus is a hint: polling alone is correct). While sends run it renews their
leases; a worker that dies stops renewing and its jobs become due again when the leases
run out. ``stop()`` drains: no new claims, in-flight sends finish (up to
``drain_timeout``), and the leases of any it had to interrupt are given back. Every
``purge_interval`` it starts the retention purge in the background (its passes are
transactions of their own, between the claims). Each step is its own transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.bus import Message
from herald.db import utcnow
from herald.delivery.callbacks.runner import CallbackRunner
from herald.delivery.composers.letter import documents
from herald.delivery.gate import Gate
from herald.delivery.models import CallbackJob, Delivery
from herald.delivery.providers import ProviderPool
from herald.delivery.queue import ACTIVE, WAKE_CHANNEL, Claimed, Job, claim_due, release, renew
from herald.delivery.runner import DeliveryRunner
from herald.errors import DatabaseUnavailable
from herald.logs import get_logger
from herald.retention.service import purge
from herald.runtime import Runtime
from herald.sms.inbound import SmppInbound
from herald.sms.receipts import SmppReceipts

log = get_logger(__name__)
QUEUE_DEPTH = Gauge("herald_queue_due", "Jobs due and not finished, by queue", ["queue"])


class Runner(Protocol):
    """Runs one claimed job of one table."""

    @property
    def model(self) -> type[Job]:
        """The table whose jobs it runs."""

    async def claimed(self, session: AsyncSession, jobs: list[Claimed]) -> None:
        """In the claiming transaction: prepare what the jobs need."""

    async def run(self, job: Claimed) -> None:
        """Attempt one job claimed earlier and record its answer."""

    async def aclose(self) -> None:
        """Release what the runner holds, once no job runs."""


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker runs; the defaults suit one process sending for one machine."""

    concurrency: int = 32
    # Renewed every third of itself while a send runs; what a killed worker held is sent
    # again once it runs out (bench/faults.py measures it), so it is kept short.
    lease: timedelta = timedelta(seconds=15)
    poll_interval: float = 1.0
    drain_timeout: float = 30.0
    purge_interval: float = 3600.0
    depth_interval: float = 15.0


@dataclass
class _Flight:
    """A running job: its task and which table it came from."""

    model: type[Job]
    task: asyncio.Task[None]


@dataclass
class _Timers:
    # The purge and the depth gauge run at start: ``-inf``, not 0, since the monotonic clock
    # counts from boot and a worker on a machine up for less than ``purge_interval`` would
    # otherwise wait that long for its first purge.
    renewed: float = field(default_factory=time.monotonic)
    # Minus infinity, not 0: the monotonic clock counts from boot, so a worker started in a
    # machine's first hour would otherwise wait for its first purge and its first measure.
    purged: float = float("-inf")
    measured: float = float("-inf")


class Worker:
    """Claims and runs due jobs until stopped."""

    def __init__(
        self,
        runtime: Runtime,
        options: WorkerOptions | None = None,
        *,
        provider_options: Mapping[str, Any] | None = None,
    ) -> None:
        """``provider_options`` go to the providers that take them (a test's TLS trust)."""
        self.runtime = runtime
        self.options = options or WorkerOptions()
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._gate = Gate(runtime.db)
        self.receipts = SmppReceipts(self._gate, runtime.bus)
        self.inbound = SmppInbound(self._gate)
        self.providers = ProviderPool(
            settings=runtime.settings, secret=runtime.secret, options=provider_options,
            receipts=self.receipts.handler, inbound=self.inbound.handler,
        )  # fmt: skip
        deliveries = DeliveryRunner(
            gate=self._gate, settings=runtime.settings, bus=runtime.bus, worker=self.name,
            providers=self.providers, sealing_key=runtime.secret,
        )  # fmt: skip
        callbacks = CallbackRunner(
            gate=self._gate, settings=runtime.settings, sealing_key=runtime.secret,
            worker=self.name,
        )  # fmt: skip
        self._runners: tuple[Runner, ...] = (callbacks, deliveries)
        self._flights: dict[uuid.UUID, _Flight] = {}
        self._nudge = asyncio.Event()
        self._stopping = asyncio.Event()
        self._beat = 0.0
        self._timers = _Timers()
        self._task: asyncio.Task[None] | None = None
        self._purging: asyncio.Task[None] | None = None

    async def attach(self) -> None:
        """Listen for wake-ups on the bus (before the bus starts) and report to ``/readyz``."""
        await self.runtime.bus.subscribe(WAKE_CHANNEL, self._on_wake)
        self.runtime.extras.setdefault("readiness", {})["worker"] = self.alive

    @property
    def in_flight(self) -> int:
        """How many jobs are running now."""
        return len(self._flights)

    def alive(self) -> bool:
        """Whether the loop turned recently (readiness)."""
        limit = max(5 * self.options.poll_interval, 30.0)
        return not self._stopping.is_set() and time.monotonic() - self._beat < limit

    def stop(self) -> None:
        """Ask the loop to drain and return."""
        self._stopping.set()
        self._nudge.set()

    def start(self) -> asyncio.Task[None]:
        """Run in the background (``herald serve``); ``shutdown()`` drains it."""
        self._task = asyncio.create_task(self.run(), name="herald-worker")
        return self._task

    async def shutdown(self) -> None:
        """Stop a worker started with ``start()`` and wait for it to drain."""
        self.stop()
        if self._task is not None:
            await self._task

    async def run_until_signalled(self) -> None:
        """Run in the foreground (``herald worker``) until SIGTERM or SIGINT, then drain."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        try:
            await self.run()
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)

    async def run(self) -> None:
        """Claim and run jobs until ``stop()``, then drain."""
        log.info("worker.started", worker=self.name, concurrency=self.options.concurrency)
        try:
            while not self._stopping.is_set():
                self._beat = time.monotonic()
                if not await self._turn():
                    await self._sleep()
        finally:
            await self._drain()
            await self.providers.aclose()
            log.info("worker.stopped", worker=self.name)

    async def _turn(self) -> int:
        """One round of claiming and housekeeping; how many jobs it started."""
        try:
            claimed = await self._fill()
            await self._housekeeping()
        except DatabaseUnavailable as exc:
            # A restart or an outage: no trace to read, only a wait. Try again after a poll.
            log.warning("worker.database_unavailable", worker=self.name, error=exc.message)
            return 0
        except Exception:
            # A claim failed otherwise: keep running, try again after a poll.
            log.exception("worker.turn_failed", worker=self.name)
            return 0
        return claimed

    async def _on_wake(self, _channel: str, _message: Message) -> None:
        self._nudge.set()

    async def _sleep(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._nudge.wait(), self.options.poll_interval)
        self._nudge.clear()

    async def _fill(self) -> int:
        """Claim as many jobs as there are free slots and start them; how many were claimed."""
        started = 0
        for runner in self._runners:
            free = self.options.concurrency - len(self._flights)
            # Claim in batches, not one job per freed slot: each claim is a transaction.
            if free < max(1, self.options.concurrency // 4) and self._flights:
                break
            jobs = await self._claim(runner, free)
            for job in jobs:
                self._start(runner, job)
            started += len(jobs)
        return started

    async def _claim(self, runner: Runner, limit: int) -> list[Claimed]:
        async with self._gate.transaction() as session:
            jobs = await claim_due(
                session, model=runner.model, worker=self.name, limit=limit,
                lease=self.options.lease,
            )  # fmt: skip
            await runner.claimed(session, jobs)
        return jobs

    def _start(self, runner: Runner, job: Claimed) -> None:
        task = asyncio.create_task(self._guarded(runner, job), name=f"herald-job-{job.id}")
        self._flights[job.id] = _Flight(runner.model, task)
        task.add_done_callback(lambda _t: self._landed(job.id))

    def _landed(self, job_id: uuid.UUID) -> None:
        self._flights.pop(job_id, None)
        self._nudge.set()

    async def _guarded(self, runner: Runner, job: Claimed) -> None:
        try:
            await runner.run(job)
        except Exception:
            # A bug or the database going away: the lease runs out and the job is retried.
            log.exception("worker.job_failed", worker=self.name, job_id=str(job.id))

    async def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._timers.renewed >= self.options.lease.total_seconds() / 3:
            self._timers.renewed = now
            await self._renew()
        if now - self._timers.measured >= self.options.depth_interval:
            self._timers.measured = now
            await self._measure()
        if now - self._timers.purged >= self.options.purge_interval:
            self._timers.purged = now
            if self._purging is None or self._purging.done():
                self._purging = asyncio.create_task(self._purge(), name="herald-purge")

    async def _renew(self) -> None:
        async with self._gate.transaction() as session:
            for model, ids in self._in_flight().items():
                await renew(
                    session, model=model, worker=self.name, ids=ids, lease=self.options.lease
                )

    async def _measure(self) -> None:
        async with self._gate.transaction() as session:
            for model in (Delivery, CallbackJob):
                QUEUE_DEPTH.labels(model.__tablename__).set(await _due(session, model))

    async def _purge(self) -> None:
        try:
            purged = await purge(
                self._gate.transaction,
                documents=documents(self.runtime.settings),
                stopping=self._stopping.is_set,
            )
        except Exception:
            # The database went away mid-purge: what was committed stays, the rest waits an hour.
            log.exception("retention.failed", worker=self.name)
            return
        if any(purged.counts().values()):
            log.info("retention.purged", worker=self.name, **purged.counts())

    def _in_flight(self) -> dict[type[Job], list[uuid.UUID]]:
        grouped: dict[type[Job], list[uuid.UUID]] = {}
        for job_id, flight in self._flights.items():
            grouped.setdefault(flight.model, []).append(job_id)
        return grouped

    async def _drain(self) -> None:
        """Let in-flight jobs finish; interrupt the rest and give their leases back."""
        if self._purging is not None:
            await self._purging  # it returns after its current pass
        tasks = [flight.task for flight in self._flights.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=self.options.drain_timeout)
        left = self._in_flight()
        for flight in self._flights.values():
            flight.task.cancel()
        async with self._gate.transaction() as session:
            for model, ids in left.items():
                await release(session, model=model, worker=self.name, ids=ids)
        for runner in self._runners:
            await runner.aclose()


async def _due(session: AsyncSession, model: type[Job]) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(model)
        .where(model.status.in_(ACTIVE), model.due_at <= utcnow())
    )
    return int(count or 0)
