"""Durable accept: ``POST /v1/notifications`` to one user, in-app plus one queued email.

Herald (``herald api``, one process, core 0) and the baseline (``bench.baseline_app``: FastAPI
parsing the same body with the same ``Envelope`` model, no database, one process, core 0) are
driven in turns by wrk on the other core, at each concurrency, ``--repeats`` times each; the
table quotes medians. Herald commits the notification, its inbox item and its delivery before
it answers 202, so every request measured is a durable write.

    python -m bench.accept [--seconds 10] [--repeats 3] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import httpx
from sqlalchemy import func, select

from bench import backends
from bench.backends import HERALD, Backend
from bench.common import PYTHON, Report, free_port, median, running, server_cores
from bench.load import LoadResult, require_wrk, wrk
from bench.progress import Steps
from herald.config import Settings
from herald.db import Database
from herald.delivery.models import Delivery
from herald.inbox.models import InboxItem
from herald.notifications.models import Notification

CONNECTIONS = (16, 64)
BODY = {
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
    "baseline p50 ms",
    "baseline p99 ms",
    "non-2xx",
    "socket errors",
]


def _load(port: int, key: str, connections: int, seconds: int, cores: set[int]) -> LoadResult:
    return wrk(
        f"http://127.0.0.1:{port}/v1/notifications",
        body=json.dumps(BODY),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        connections=connections,
        seconds=seconds,
        cores=cores,
    )


def _summary(runs: list[LoadResult]) -> dict[str, float]:
    return {
        "rps": median([r.requests_per_second for r in runs]),
        "p50": median([r.p50_ms for r in runs]),
        "p99": median([r.p99_ms for r in runs]),
        "non_2xx": sum(r.non_2xx for r in runs),
        "errors": sum(r.errors for r in runs),
    }


def _row(
    backend: str, clients: int, herald: list[LoadResult], base: list[LoadResult]
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
        "baseline p50 ms": b["p50"],
        "baseline p99 ms": b["p99"],
        "non-2xx": int(h["non_2xx"] + b["non_2xx"]),
        "socket errors": int(h["errors"] + b["errors"]),
        "runs": {"herald": [vars(r) for r in herald], "baseline": [vars(r) for r in base]},
    }


def _add_user(port: int, key: str) -> None:
    answer = httpx.put(
        f"http://127.0.0.1:{port}/v1/users/u1",
        json={"name": "User One", "email": "u1@example.com"},
        headers={"Authorization": f"Bearer {key}"},
    )
    answer.raise_for_status()


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
        running([HERALD, "api", "--port", str(hp)], port=hp, env=backend.env(), cores=server),
        running([PYTHON, "-m", "bench.baseline_app", "--port", str(bp)], port=bp, cores=server),
    ):
        _add_user(hp, backend.api_key)
        for port in (hp, bp):  # warm both up (imports, pools, caches) before measuring
            _load(port, backend.api_key, CONNECTIONS[0], 2, load)
        for clients in CONNECTIONS:
            herald: list[LoadResult] = []
            base: list[LoadResult] = []
            for n in range(repeats):
                steps.start(f"{backend.name}: Herald, {clients} clients, run {n + 1}")
                herald.append(_load(hp, backend.api_key, clients, seconds, load))
                steps.advance(f"{backend.name}: baseline, {clients} clients, run {n + 1}")
                base.append(_load(bp, backend.api_key, clients, seconds, load))
                steps.advance()
            rows.append(_row(backend.name, clients, herald, base))
    return rows


def main() -> None:
    """Run the accept benchmark on every configured backend and write its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    args = parser.parse_args()
    require_wrk()
    names = args.backend or backends.names()
    report = Report("accept", "Durable accept: POST /v1/notifications", COLUMNS)
    written: dict[str, dict[str, int]] = {}
    with Steps("accept", len(names) * len(CONNECTIONS) * args.repeats * 2) as steps:
        for name in names:
            with backends.backend(name) as backend:
                report.rows += measure(
                    backend, seconds=args.seconds, repeats=args.repeats, steps=steps
                )
                written[name] = asyncio.run(_written(backend.url))
    for row in report.rows:
        goal = f"{row['backend']}, {row['clients']} clients: Herald ≥ 50% of baseline req/s"
        clean = row["non-2xx"] == 0 and row["socket errors"] == 0
        report.target(
            goal, round(row["ratio"], 3), "≥ 0.50, no non-2xx", row["ratio"] >= 0.5 and clean
        )
    report.notes += [
        f"wrk -t1 on core 1, {args.seconds} s per run, {args.repeats} runs per cell, alternating "
        "Herald and baseline; figures are medians of the runs.",
        "Herald: `herald api` (one uvicorn process, uvloop + httptools, no access log) pinned to "
        "core 0; baseline: `python -m bench.baseline_app` (FastAPI, same Envelope model, no "
        "database), same settings, pinned to core 0.",
        f"Body: `{json.dumps(BODY)}` (user u1 has an email address): each 202 commits the "
        "notification, one inbox item with its events, and one pending email delivery.",
        "The bench server runs with HERALD_RATE_LIMIT=1000000000/minute and "
        "HERALD_DAILY_LIMIT=10^12: the defaults (3000/minute per key, 250,000 messages/day) "
        "would throttle the benchmark, not measure it.",
        *(f"{name}: rows written {counts}" for name, counts in written.items()),
    ]
    print(report.write())


if __name__ == "__main__":
    main()
