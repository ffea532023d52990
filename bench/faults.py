"""The no-loss probe, run by hand: ~2,000 emails with idempotency keys through database,
worker and Redis faults, counting what was stored, sent, duplicated and refused.

A fresh private PostgreSQL and Redis (never the shared ones), ``herald api`` and two
``herald worker`` processes with their defaults (the bus and the rate-limit counters on
Redis), and a local SMTP server (aiosmtpd) that takes a while per message, so that sends are in
flight when a worker dies. Clients send with an ``Idempotency-Key`` each and retry as a
careful client does (after ``Retry-After`` on 503/429, shortly after anything else), while the
probe, at set counts of accepted emails: restarts PostgreSQL, SIGKILLs a worker (and starts
another in its place), stops Redis for 10 s, SIGKILLs the other worker, and stops PostgreSQL
for 8 s. The re-send wait is the time from a kill until each send the killed worker had in
flight arrives again (from the surviving worker, once the lease runs out).

    .venv/bin/python -m bench.faults [--emails 2000] [--clients 16] [--workers 2]

Writes bench/results/faults.json and .md. Run from the repository root (it uses the test
suite's private-server helpers in tests/support).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.common import Report
from herald.accounts import service as accounts
from herald.config import Settings
from herald.db import Database
from herald.delivery.models import Delivery, DeliveryAttempt
from herald.notifications.models import Notification
from tests.bus.conftest import RedisServer
from tests.support.postgres import PrivatePostgres
from tests.support.processes import HERALD, Herald, SmtpSink, smtp_sink, start_herald

FAULTS = (  # (accepted emails at which it starts, fault)
    (0.15, "postgres_restart"),
    (0.30, "worker_kill"),
    (0.45, "redis_down_10s"),
    (0.65, "worker_kill"),
    (0.80, "postgres_stop_8s"),
)


@dataclass
class Tally:
    """What the clients saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)  # (time, status or error)
    accepted: dict[str, str] = field(default_factory=dict)  # key -> notification id
    mismatched_replays: int = 0
    no_retry_after: int = 0


async def _send(http: httpx.AsyncClient, key: str, tally: Tally) -> None:
    body = {
        "type": "custom",
        "subType": "message",
        "message": f"probe {key}",
        "targets": {"emails": [f"{key}@example.com"]},
        "channels": ["email"],
    }
    while True:
        started = time.monotonic()
        try:
            answer = await http.post(
                "/v1/notifications", json=body, headers={"Idempotency-Key": key}
            )
        except httpx.TransportError as exc:
            tally.dropped[type(exc).__name__] += 1
            tally.timeline.append((time.monotonic(), type(exc).__name__))
            await asyncio.sleep(0.5)
            continue
        finally:
            tally.latencies.append(time.monotonic() - started)
        tally.statuses[answer.status_code] += 1
        tally.timeline.append((time.monotonic(), str(answer.status_code)))
        if answer.status_code == 202:
            notification_id = answer.json()["id"]
            if tally.accepted.setdefault(key, notification_id) != notification_id:
                tally.mismatched_replays += 1
            return
        retry_after = answer.headers.get("Retry-After")
        if answer.status_code in (429, 503) and retry_after is None:
            tally.no_retry_after += 1
        await asyncio.sleep(min(float(retry_after or 0.5), 2.0))


async def _client(http: httpx.AsyncClient, keys: list[str], tally: Tally) -> None:
    while keys:
        await _send(http, keys.pop(), tally)


@dataclass
class Stack:
    """The processes under test and the servers they use."""

    pg: PrivatePostgres
    redis: RedisServer
    env: dict[str, str]
    logs: Path
    api: Herald
    workers: list[Herald]
    db: Database
    kills: list[tuple[float, int]] = field(default_factory=list)  # (time, pid)
    held: dict[int, set[str]] = field(default_factory=dict)  # pid -> deliveries it holds
    interrupted: dict[int, set[str]] = field(default_factory=dict)  # what it held when killed
    spans: list[dict[str, Any]] = field(default_factory=list)

    def start_worker(self) -> Herald:
        return start_herald(["worker"], self.env, self.logs / "worker.log")

    async def fault(self, name: str) -> None:
        started = time.monotonic()
        if name == "postgres_restart":
            await asyncio.to_thread(self.pg.restart)
        elif name == "postgres_stop_8s":
            await asyncio.to_thread(self.pg.stop)
            await asyncio.sleep(8)
            await asyncio.to_thread(self.pg.start)
        elif name == "redis_down_10s":
            await self.redis.kill()
            await asyncio.sleep(10)
            await self.redis.start()
        elif name == "worker_kill":
            victim = len(self.kills) % len(self.workers)
            pid = self.workers[victim].process.pid
            for _ in range(300):  # kill it while it has sends in flight (up to 15 s)
                if self.held.get(pid):
                    break
                await asyncio.sleep(0.05)
            self.workers[victim].kill()
            self.kills.append((time.monotonic(), pid))
            self.workers[victim] = self.start_worker()
            self.interrupted[pid] = await _leased_by(self.db, pid)
        self.spans.append({"fault": name, "start": started, "end": time.monotonic()})


async def _faults(stack: Stack, tally: Tally, total: int) -> None:
    for share, name in FAULTS:
        while len(tally.accepted) < share * total:  # noqa: ASYNC110 - a count clients update
            await asyncio.sleep(0.05)
        await stack.fault(name)


async def _count(db: Database, account_id: uuid.UUID) -> tuple[int, list[Delivery]]:
    async with db.sessions() as session:
        stored = await session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.account_id == account_id)
        )
        deliveries = list(await session.scalars(select(Delivery)))
    return int(stored or 0), deliveries


async def _drained(db: Database, account_id: uuid.UUID, sink: SmtpSink, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            _, deliveries = await _count(db, account_id)
        except Exception:  # the database may still be coming back
            deliveries = []
        if deliveries and {str(d.id) for d in deliveries} <= set(sink.arrived):
            break
        await asyncio.sleep(0.5)
    return time.monotonic() - started


def _by_fault(stack: Stack, tally: Tally, after: float = 5.0) -> list[dict[str, Any]]:
    """What the clients got other than 202 during each fault and ``after`` seconds past it."""
    windows = []
    for span in stack.spans:
        seen = Counter(
            what for at, what in tally.timeline
            if span["start"] <= at <= span["end"] + after and what != "202"
        )  # fmt: skip
        windows.append(
            {
                "fault": span["fault"],
                "seconds": round(span["end"] - span["start"], 1),
                "other_than_202": dict(sorted(seen.items())),
            }
        )
    return windows


async def _leased_by(db: Database, pid: int) -> set[str]:
    """The deliveries a worker process holds (its name has its pid) and has not finished."""
    with contextlib.suppress(Exception):  # the database is down for a moment: none seen
        async with db.sessions() as session:
            held = await session.scalars(
                select(Delivery.id).where(
                    Delivery.leased_by.like(f"%:{pid}:%"), Delivery.status == "sending"
                )
            )
            return {str(i) for i in held}
    return set()


def _resend_waits(stack: Stack, sink: SmtpSink) -> dict[str, float]:
    """Seconds from each kill until each send the killed worker had in flight arrived."""
    waits = {}
    for at, pid in stack.kills:
        for delivery_id in stack.interrupted.get(pid, set()):
            later = [t for t in sink.arrived.get(delivery_id, []) if t >= at]
            if later:
                waits[delivery_id] = min(later) - at
    return waits


async def _attempts(db: Database, ids: list[str]) -> dict[str, list[str]]:
    """Each delivery's attempts: outcome, and the error if any."""
    async with db.sessions() as session:
        rows = await session.execute(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_([uuid.UUID(i) for i in ids]))
            .order_by(DeliveryAttempt.at)
        )
        found: dict[str, list[str]] = {}
        for (attempt,) in rows:
            error = (attempt.provider_response or {}).get("error", "")
            found.setdefault(str(attempt.delivery_id), []).append(f"{attempt.outcome} {error}")
    return found


async def probe(
    emails: int, clients: int, workers: int, smtp_delay: float, logs: Path
) -> dict[str, Any]:
    """Run the probe once; its figures."""
    pg, redis = PrivatePostgres(), RedisServer()
    pg.init()
    pg.start()
    await redis.start()
    url = await pg.create_database()
    db = Database(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
    async with db.sessions() as session, session.begin():
        account = await accounts.create_account(session, name="probe")
        key = (await accounts.create_key(session, account_id=account.id)).plain
    with smtp_sink(delay=smtp_delay) as (sink, smtp_url):
        env = {
            "HERALD_DATABASE_URL": url,
            "HERALD_BUS_URL": redis.url,
            "HERALD_SMTP_URL": smtp_url,
            "HERALD_RATE_LIMIT": "1000000/minute",  # the probe measures faults, not the limits
            "HERALD_DAILY_LIMIT": "1000000",
            "HERALD_LOG_LEVEL": "WARNING",
        }
        api = start_herald(["api"], env, logs / "api.log")
        stack = Stack(pg, redis, env, logs, api, [], db)
        stack.workers = [stack.start_worker() for _ in range(workers)]
        tally = Tally()
        try:
            await api.up()
            keys = [f"probe-{n}-{uuid.uuid4().hex[:8]}" for n in range(emails)]
            limits = httpx.Limits(max_connections=clients)
            async with httpx.AsyncClient(
                base_url=api.url, headers={"Authorization": f"Bearer {key}"}, timeout=60,
                limits=limits,
            ) as http:  # fmt: skip
                started = time.monotonic()
                watch = asyncio.create_task(_watch_leases(stack))
                faults = asyncio.create_task(_faults(stack, tally, emails))
                await asyncio.gather(*(_client(http, keys, tally) for _ in range(clients)))
                sending = time.monotonic() - started
                await faults
                watch.cancel()
            drain = await _drained(db, account.id, sink, within=300)
            waits = _resend_waits(stack, sink)
            slow = [i for i, wait in waits.items() if wait > 20][:5]
            slow_attempts = await _attempts(db, slow) if slow else {}
            running = sum(worker.process.poll() is None for worker in stack.workers)
            stored, deliveries = await _count(db, account.id)
        finally:
            for worker in stack.workers:
                worker.stop()
            api.stop()
            await db.dispose()
            await redis.kill()
            pg.remove()
    copies = sink.copies
    delivered = {str(d.id) for d in deliveries if d.status == "delivered"}
    return {
        "emails": emails,
        "clients": clients,
        "workers": workers,
        "smtp_delay_s": smtp_delay,
        "faults": _by_fault(stack, tally),
        "seconds_sending": round(sending, 1),
        "seconds_to_drain_after_last_accept": round(drain, 1),
        "accepted_keys": len(tally.accepted),
        "distinct_notification_ids": len(set(tally.accepted.values())),
        "stored_notifications": stored,
        "deliveries": len(deliveries),
        "delivered": len(delivered),
        "emails_received_distinct": len(copies),
        "emails_received_total": sum(copies.values()),
        "duplicates": sum(n - 1 for n in copies.values() if n > 1),
        "duplicates_flagged": sum(
            1 for d in deliveries if copies.get(str(d.id), 0) > 1 and d.possible_duplicate
        ),
        "not_sent": len({str(d.id) for d in deliveries} - set(copies)),
        "workers_running_at_end": running,
        "answers": {str(k): v for k, v in sorted(tally.statuses.items())},
        "answers_5xx": {str(k): v for k, v in sorted(tally.statuses.items()) if k >= 500},
        "conflicts_409": tally.statuses.get(409, 0),
        "dropped_connections": dict(tally.dropped),
        "unavailable_without_retry_after": tally.no_retry_after,
        "replays_with_another_id": tally.mismatched_replays,
        "latency_p50_s": round(statistics.median(tally.latencies), 3),
        "latency_max_s": round(max(tally.latencies), 2),
        "sends_in_flight_at_kills": sum(len(ids) for ids in stack.interrupted.values()),
        "resends_after_kills": len(waits),
        "resend_wait_max_s": round(max(waits.values()), 1) if waits else None,
        "resend_wait_median_s": round(statistics.median(waits.values()), 1) if waits else None,
        "resends_slower_than_20s": len([w for w in waits.values() if w > 20]),
        "some_slower_resends": {i: [round(waits[i], 1), *slow_attempts.get(i, [])] for i in slow},
    }


async def _watch_leases(stack: Stack) -> None:
    """Keep, for each running worker, the deliveries it holds (a kill waits for some)."""
    while True:
        for worker in list(stack.workers):
            stack.held[worker.process.pid] = await _leased_by(stack.db, worker.process.pid)
        await asyncio.sleep(0.05)


def main() -> None:
    """Parse arguments, run, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--smtp-delay", type=float, default=1.0,
        help="seconds the SMTP server takes per message (sends are in flight when killed)",
    )  # fmt: skip
    parser.add_argument(
        "--logs", type=Path, default=Path(tempfile.gettempdir()) / "herald-faults-probe"
    )
    parser.add_argument("--name", default="faults", help="results file name")
    parser.add_argument("--note", action="append", default=[], help="a note for the results")
    args = parser.parse_args()
    args.logs.mkdir(parents=True, exist_ok=True)
    figures = asyncio.run(
        probe(args.emails, args.clients, args.workers, args.smtp_delay, args.logs)
    )
    report = Report(
        args.name, "No loss through database, worker and Redis faults", ["figure", "value"]
    )
    report.rows = [{"figure": name, "value": value} for name, value in figures.items()]
    report.notes = [f"herald processes: {HERALD}", *args.note]
    report.write()
    for name, value in figures.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
