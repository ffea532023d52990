"""Durable accept: ``POST /v1/notifications`` to one user, in-app plus one queued email.

Herald (``herald api``, one process, core 0) and the baseline (``bench.baseline_app``: FastAPI
parsing the same body with the same ``Envelope`` model, no database, one process, core 0) are
driven in turns by wrk on the other core, at each concurrency, ``--repeats`` times each; the
table quotes medians, and Herald's CPU per accept from ``/proc``. Herald commits the
notification, its inbox item and its delivery before it answers 202, so every request measured
is a durable write.

The ``inbox-size`` case (``bench/results/accept_inbox_size.md``) sends, in turns, to a user
whose inbox holds 100,000 unread items and to a fresh user (a new one each run): an accept's
cost must not grow with its recipient's inbox.

    python -m bench.accept [--seconds 10] [--repeats 3] [--backend sqlite|postgresql]
                           [--case accept|inbox-size]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Uuid, bindparam, func, select, text

from bench import backends
from bench.backends import HERALD, Backend
from bench.common import PYTHON, Report, cpu_seconds, free_port, median, running, server_cores
from bench.load import LoadResult, require_wrk, wrk
from bench.progress import Steps
from herald.config import Settings
from herald.db import Database
from herald.delivery.models import Delivery
from herald.inbox.models import InboxItem
from herald.notifications.models import Notification

CONNECTIONS = (16, 64)
HOT_ITEMS = 100_000
BODY: dict[str, Any] = {
    "type": "custom",
    "subType": "message",
    "targets": {"users": ["u1"]},
    "channels": ["in_app", "email"],
    "message": "Your report is ready",
}
COLUMNS = [
    "backend",
    "clients",
    "Herald req/s",
    "baseline req/s",
    "ratio",
    "Herald p50 ms",
    "Herald p99 ms",
    "Herald CPU ms/accept",
    "baseline p50 ms",
    "baseline p99 ms",
    "non-2xx",
    "socket errors",
]


INBOX_COLUMNS = [
    "backend",
    "clients",
    "100k-unread req/s",
    "fresh req/s",
    "ratio",
    "100k-unread CPU ms/accept",
    "fresh CPU ms/accept",
    "100k-unread p99 ms",
    "fresh p99 ms",
]


def _load(
    port: int,
    key: str,
    connections: int,
    seconds: int,
    cores: set[int],
    body: dict[str, Any] | None = None,
) -> LoadResult:
    return wrk(
        f"http://127.0.0.1:{port}/v1/notifications",
        body=json.dumps(body or BODY),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        connections=connections,
        seconds=seconds,
        cores=cores,
    )


def _cpu_load(
    proc: Any, port: int, key: str, clients: int, seconds: int, cores: set[int], body: Any = None
) -> tuple[LoadResult, float]:
    """A wrk run and the server's CPU milliseconds per request during it."""
    before = cpu_seconds(proc.pid)
    result = _load(port, key, clients, seconds, cores, body)
    used = cpu_seconds(proc.pid) - before
    return result, 1000 * used / max(result.requests, 1)


def _summary(runs: list[LoadResult]) -> dict[str, float]:
    return {
        "rps": median([r.requests_per_second for r in runs]),
        "p50": median([r.p50_ms for r in runs]),
        "p99": median([r.p99_ms for r in runs]),
        "non_2xx": sum(r.non_2xx for r in runs),
        "errors": sum(r.errors for r in runs),
    }


def _row(
    backend: str, clients: int, herald: list[LoadResult], base: list[LoadResult], cpu: list[float]
) -> dict[str, Any]:
    h, b = _summary(herald), _summary(base)
    return {
        "backend": backend,
        "clients": clients,
        "Herald req/s": h["rps"],
        "baseline req/s": b["rps"],
        "ratio": h["rps"] / b["rps"] if b["rps"] else 0.0,
        "Herald p50 ms": h["p50"],
        "Herald p99 ms": h["p99"],
        "Herald CPU ms/accept": median(cpu),
        "baseline p50 ms": b["p50"],
        "baseline p99 ms": b["p99"],
        "non-2xx": int(h["non_2xx"] + b["non_2xx"]),
        "socket errors": int(h["errors"] + b["errors"]),
        "runs": {
            "herald": [vars(r) for r in herald],
            "baseline": [vars(r) for r in base],
            "herald_cpu_ms": cpu,
        },
    }


def _add_user(port: int, key: str, user: str = "u1") -> None:
    answer = httpx.put(
        f"http://127.0.0.1:{port}/v1/users/{user}",
        json={"name": f"User {user}", "email": f"{user}@example.com"},
        headers={"Authorization": f"Bearer {key}"},
    )
    answer.raise_for_status()


def _body_to(user: str) -> dict[str, Any]:
    return {**BODY, "targets": {"users": [user]}}


async def _fill_inbox(url: str, notification_id: str, items: int) -> None:
    """Copy the one inbox item of ``notification_id`` ``items`` times (unread, unseen), in SQL."""
    db = Database(Settings(database_url=url))
    postgres = db.engine.dialect.name == "postgresql"
    series = (
        "generate_series(1, :n)"
        if postgres
        else "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n)"
        " SELECT i FROM s)"
    )
    new_id = "gen_random_uuid()" if postgres else "lower(hex(randomblob(16)))"
    columns = (
        "account_id, user_id, notification_id, type, sub_type, data, message,"
        " message_formatted, actions, require_action, created_at, updated_at"
    )
    copy = text(
        f"INSERT INTO inbox_items (id, {columns}) SELECT {new_id}, {columns}"  # noqa: S608
        f" FROM (SELECT {columns} FROM inbox_items WHERE notification_id = :nid) t"
        f" CROSS JOIN {series} AS k"
    ).bindparams(bindparam("nid", type_=Uuid()))
    try:
        async with db.engine.begin() as connection:
            await connection.execute(copy, {"nid": uuid.UUID(notification_id), "n": items})
        if postgres:  # autovacuum is off on this server: visibility map and statistics
            async with db.engine.connect() as connection:
                auto = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await auto.execute(text("VACUUM ANALYZE inbox_items"))
    finally:
        await db.dispose()
    if not postgres:
        _settle_sqlite(url)


def _settle_sqlite(url: str) -> None:
    """Fold the copy's WAL back into the database file and refresh the statistics.

    Run with the server stopped (a checkpoint is refused while it holds its connection), so that
    the server's commits do not checkpoint the copy's pages during the first runs after it.
    Plain ``sqlite3``: Herald's driver opens ``BEGIN IMMEDIATE`` transactions, in which neither
    statement may run.
    """
    connection = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
    try:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise RuntimeError("the copy's WAL could not be checkpointed: the database is busy")
        connection.execute("ANALYZE")
    finally:
        connection.close()


async def _written(url: str) -> dict[str, int]:
    db = Database(Settings(database_url=url))
    try:
        async with db.sessions() as session:
            counts = {}
            for name, table in (
                ("notifications", Notification),
                ("inbox items", InboxItem),
                ("email deliveries", Delivery),
            ):
                counts[name] = int(
                    await session.scalar(select(func.count()).select_from(table)) or 0
                )
            return counts
    finally:
        await db.dispose()


def measure(backend: Backend, *, seconds: int, repeats: int, steps: Steps) -> list[dict[str, Any]]:
    """Herald and the baseline in turns, at each concurrency; one row per concurrency."""
    server, load = server_cores()
    hp, bp = free_port(), free_port()
    rows = []
    with (
        running(
            [HERALD, "api", "--port", str(hp)], port=hp, env=backend.env(), cores=server
        ) as proc,
        running([PYTHON, "-m", "bench.baseline_app", "--port", str(bp)], port=bp, cores=server),
    ):
        _add_user(hp, backend.api_key)
        for port in (hp, bp):  # warm both up (imports, pools, caches) before measuring
            _load(port, backend.api_key, CONNECTIONS[0], 2, load)
        for clients in CONNECTIONS:
            herald: list[LoadResult] = []
            base: list[LoadResult] = []
            cpu: list[float] = []
            for n in range(repeats):
                steps.start(f"{backend.name}: Herald, {clients} clients, run {n + 1}")
                result, ms = _cpu_load(proc, hp, backend.api_key, clients, seconds, load)
                herald.append(result)
                cpu.append(ms)
                steps.advance(f"{backend.name}: baseline, {clients} clients, run {n + 1}")
                base.append(_load(bp, backend.api_key, clients, seconds, load))
                steps.advance()
            rows.append(_row(backend.name, clients, herald, base, cpu))
    return rows


def _wal_bytes(url: str) -> int:
    """Size of a SQLite database's write-ahead log (0 on PostgreSQL or with none)."""
    if not url.startswith("sqlite"):
        return 0
    wal = Path(url.split("///", 1)[1] + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def measure_inbox_size(
    backend: Backend, *, seconds: int, repeats: int, steps: Steps
) -> dict[str, Any]:
    """Accepts to a user with 100,000 unread items and to fresh users, in turns, at 16 clients.

    The 100,000 items are copied with the server stopped and settled (checkpoint, statistics)
    before it starts again, and the pairs alternate which user goes first, so that neither
    user's runs inherit the set-up's work or always follow the other's.
    """
    server, load = server_cores()
    hp, key, clients = free_port(), backend.api_key, CONNECTIONS[0]
    herald = [HERALD, "api", "--port", str(hp)]
    with running(herald, port=hp, env=backend.env(), cores=server):
        for user in ["hot", *(f"fresh{n}" for n in range(repeats + 1))]:
            _add_user(hp, key, user)
        first = httpx.post(
            f"http://127.0.0.1:{hp}/v1/notifications",
            json=_body_to("hot"),
            headers={"Authorization": f"Bearer {key}"},
        )
        first.raise_for_status()
    asyncio.run(_fill_inbox(backend.url, first.json()["id"], HOT_ITEMS - 1))
    wal = _wal_bytes(backend.url)
    hot: list[tuple[LoadResult, float]] = []
    fresh: list[tuple[LoadResult, float]] = []
    order: list[str] = []
    with running(herald, port=hp, env=backend.env(), cores=server) as proc:
        for user in ("hot", "fresh0"):  # warm up: imports, pools, both users' pages
            _load(hp, key, clients, 2, load, _body_to(user))
        for n in range(repeats):
            pair = ["hot", "fresh"] if n % 2 == 0 else ["fresh", "hot"]
            order.append("-".join(pair))
            for who in pair:
                label = "to 100k unread" if who == "hot" else "to a fresh user"
                steps.start(f"{backend.name}: {label}, run {n + 1}")
                user = "hot" if who == "hot" else f"fresh{n + 1}"
                run = _cpu_load(proc, hp, key, clients, seconds, load, _body_to(user))
                (hot if who == "hot" else fresh).append(run)
                steps.advance()
    h, f = _summary([r for r, _ in hot]), _summary([r for r, _ in fresh])
    return {
        "backend": backend.name,
        "clients": clients,
        "100k-unread req/s": h["rps"],
        "fresh req/s": f["rps"],
        "ratio": h["rps"] / f["rps"] if f["rps"] else 0.0,
        "100k-unread CPU ms/accept": median([ms for _, ms in hot]),
        "fresh CPU ms/accept": median([ms for _, ms in fresh]),
        "100k-unread p99 ms": h["p99"],
        "fresh p99 ms": f["p99"],
        "non-2xx": int(h["non_2xx"] + f["non_2xx"]),
        "runs": {
            "order": order,
            "wal_bytes_after_checkpoint": wal,
            "hot": [vars(r) for r, _ in hot],
            "fresh": [vars(r) for r, _ in fresh],
            "hot_cpu_ms": [ms for _, ms in hot],
            "fresh_cpu_ms": [ms for _, ms in fresh],
        },
    }


def _accept_report(names: list[str], args: argparse.Namespace, steps: Steps) -> Report:
    report = Report("accept", "Durable accept: POST /v1/notifications", COLUMNS)
    written: dict[str, dict[str, int]] = {}
    for name in names:
        with backends.backend(name) as backend:
            report.rows += measure(backend, seconds=args.seconds, repeats=args.repeats, steps=steps)
            written[name] = asyncio.run(_written(backend.url))
    for row in report.rows:
        where = f"{row['backend']}, {row['clients']} clients"
        clean = row["non-2xx"] == 0 and row["socket errors"] == 0
        report.target(
            f"{where}: Herald ≥ 50% of baseline req/s",
            round(row["ratio"], 3),
            "≥ 0.50, no non-2xx",
            row["ratio"] >= 0.5 and clean,
        )
        cpu = row["Herald CPU ms/accept"]
        report.target(f"{where}: server CPU per accept", round(cpu, 3), "≤ 0.5 ms", cpu <= 0.5)
        if row["clients"] == CONNECTIONS[-1]:
            p99 = row["Herald p99 ms"] / row["baseline p99 ms"] if row["baseline p99 ms"] else 0
            report.target(f"{where}: p99 / baseline p99", round(p99, 2), "≤ 3", p99 <= 3)
    report.notes += [
        f"wrk -t1 on core 1, {args.seconds} s per run, {args.repeats} runs per cell, alternating "
        "Herald and baseline; figures are medians of the runs. CPU per accept: user + system "
        "time of the Herald process (`/proc/<pid>/stat`) over each run, per request.",
        "Herald: `herald api` (one uvicorn process, uvloop + httptools, no access log) pinned to "
        "core 0; baseline: `python -m bench.baseline_app` (FastAPI, same Envelope model, no "
        "database), same settings, pinned to core 0.",
        f"Body: `{json.dumps(BODY)}` (user u1 has an email address): each 202 commits the "
        "notification, one inbox item with its events, and one pending email delivery.",
        "The bench server runs with HERALD_RATE_LIMIT=1000000000/minute and "
        "HERALD_DAILY_LIMIT=10^12: the defaults (3000/minute per key, 250,000 messages/day) "
        "would throttle the benchmark, not measure it.",
        f"Load average when the run ended: {os.getloadavg()[0]:.2f} (1 min).",
        *(f"{name}: rows written {counts}" for name, counts in written.items()),
    ]
    return report


def _inbox_size_report(names: list[str], args: argparse.Namespace, steps: Steps) -> Report:
    report = Report(
        "accept_inbox_size", "Accept to a user with 100,000 unread items vs a fresh user",
        INBOX_COLUMNS,
    )  # fmt: skip
    for name in names:
        with backends.backend(name) as backend:
            report.rows.append(
                measure_inbox_size(backend, seconds=args.seconds, repeats=args.repeats, steps=steps)
            )
    for row in report.rows:
        ratio = row["ratio"]
        report.target(
            f"{row['backend']}: rate to 100k unread / rate to fresh",
            round(ratio, 3),
            "within 10% (≥ 0.90), no non-2xx",
            ratio >= 0.9 and row["non-2xx"] == 0,
        )
    report.notes += [
        f"16 clients, wrk -t1 on core 1, {args.seconds} s per run, {args.repeats} runs each, "
        "in pairs that alternate which user goes first; medians. The 100,000 items are copies "
        "of one accepted item made in SQL with the server stopped, then settled before it "
        "starts again (SQLite: `PRAGMA wal_checkpoint(TRUNCATE)` and `ANALYZE`; PostgreSQL: "
        "`VACUUM ANALYZE inbox_items`); each fresh run sends to a user with no items yet.",
        f"Load average when the run ended: {os.getloadavg()[0]:.2f} (1 min).",
    ]
    return report


def main() -> None:
    """Run the accept benchmark on every configured backend and write its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--case", choices=["accept", "inbox-size"], action="append")
    args = parser.parse_args()
    require_wrk()
    names = args.backend or backends.names()
    cases = args.case or ["accept", "inbox-size"]
    total = (
        len(names)
        * args.repeats
        * 2
        * (len(CONNECTIONS) * ("accept" in cases) + ("inbox-size" in cases))
    )
    with Steps("accept", total) as steps:
        if "accept" in cases:
            print(_accept_report(names, args, steps).write())
        if "inbox-size" in cases:
            print(_inbox_size_report(names, args, steps).write())


if __name__ == "__main__":
    main()
