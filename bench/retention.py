"""Retention purge: how long a big purge takes, and how long it makes other writers wait.

For each backend: N expired notifications, each with one finished email delivery (and its
attempt), one inbox item (and its history row) and two real-time events, written directly;
then ``herald.retention.service.purge`` runs while another task commits a small write every
20 ms on the same database (as the API and the worker's claims would), and records how long
each write waited. A pass is one transaction; the longest pass is the longest any writer can
be held up by the purge.

    python -m bench.retention [--notifications 100000] [--batch 1000]

PostgreSQL too when ``HERALD_BENCH_DATABASE_URL`` names an admin DSN.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from bench.backends import backend, names
from bench.common import Report, percentile
from herald.accounts.models import Account
from herald.channels.letter.store import FilesystemDocumentStore
from herald.config import Settings
from herald.db import Database, new_id, utcnow
from herald.delivery.gate import Gate
from herald.delivery.models import Delivery, DeliveryAttempt
from herald.directory.models import User
from herald.inbox.models import InboxEvent, InboxItem, InboxItemHistory
from herald.notifications.models import Notification
from herald.retention.service import purge

CHUNK = 5000


def _rows(
    account_id: uuid.UUID, user_id: uuid.UUID, start: int, count: int
) -> dict[str, list[dict[str, Any]]]:
    old = utcnow() - timedelta(days=30)
    tables: dict[str, list[dict[str, Any]]] = {
        "notifications": [], "deliveries": [], "attempts": [], "items": [], "history": [],
        "events": [],
    }  # fmt: skip
    for n in range(start, start + count):
        nid, did, iid = new_id(), new_id(), new_id()
        tables["notifications"].append(
            {
                "id": nid,
                "account_id": account_id,
                "type": "custom",
                "sub_type": "message",
                "products": [],
                "targets": {"emails": [f"p{n}@example.com"]},
                "channels": ["in_app", "email"],
                "payload": {"n": n},
                "message": f"message {n}",
                "actions": [],
                "personalisation": {"n": n},
                "status": "delivered",
                "recipients": 1,
                "test": False,
                "require_action": False,
                "created_at": old,
                "updated_at": old,
            }
        )
        tables["deliveries"].append(
            {
                "id": did,
                "account_id": account_id,
                "notification_id": nid,
                "channel": "email",
                "recipient": {"email": f"p{n}@example.com"},
                "status": "delivered",
                "due_at": old,
                "attempts": 1,
                "test": False,
                "possible_duplicate": False,
                "rendered": {"subject": f"s{n}", "emails": {"to": [f"p{n}@example.com"]}},
                "created_at": old,
                "updated_at": old,
            }
        )
        tables["attempts"].append(
            {
                "id": new_id(),
                "delivery_id": did,
                "at": old,
                "outcome": "delivered",
                "provider": "smtp",
                "provider_response": {"reply": "250 ok"},
                "possible_duplicate": False,
            }
        )
        tables["items"].append(
            {
                "id": iid,
                "account_id": account_id,
                "user_id": user_id,
                "notification_id": nid,
                "type": "custom",
                "sub_type": "message",
                "data": {"n": n},
                "message": f"message {n}",
                "actions": [],
                "require_action": False,
                "created_at": old,
                "updated_at": old,
            }
        )
        tables["history"].append(
            {"item_id": iid, "notification_id": nid, "sub_type": "message", "created_at": old}
        )
        for seq in (2 * n + 1, 2 * n + 2):
            tables["events"].append(
                {
                    "user_id": user_id,
                    "seq": seq,
                    "event": "count",
                    "item_id": iid,
                    "payload": {"n": n},
                    "created_at": old,
                }
            )
    return tables


MODELS: dict[str, Any] = {
    "notifications": Notification, "deliveries": Delivery, "attempts": DeliveryAttempt,
    "items": InboxItem, "history": InboxItemHistory, "events": InboxEvent,
}  # fmt: skip


async def _fill(db: Database, account_id: uuid.UUID, count: int) -> int:
    """Write ``count`` expired notifications with their rows; how many rows in all."""
    async with db.sessions() as session, session.begin():
        user = User(account_id=account_id, external_id="bench", data={})
        session.add(user)
        await session.flush()
        user_id = user.id
    written = 0
    for start in range(0, count, CHUNK):
        tables = _rows(account_id, user_id, start, min(CHUNK, count - start))
        async with db.sessions() as session, session.begin():
            for name, model in MODELS.items():
                await session.execute(insert(model), tables[name])
                written += len(tables[name])
    return written


class _Timed:
    """The purge's transactions, each one timed."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.passes: list[float] = []

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        started = time.perf_counter()
        async with self.gate.transaction() as session:
            yield session
        self.passes.append(time.perf_counter() - started)


async def _other_writer(
    db: Database, gate: Gate, account_id: uuid.UUID, stop: asyncio.Event
) -> list[float]:
    """Commit a one-row write every 20 ms until ``stop``; how long each took."""
    waits: list[float] = []
    while not stop.is_set():
        started = time.perf_counter()
        async with gate.transaction() as session:
            await session.execute(
                update(Account).where(Account.id == account_id).values(default_locale="en")
            )
        waits.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)
    return waits


async def _run(
    name: str, url: str, account_id: uuid.UUID, count: int, batch: int
) -> dict[str, Any]:
    db = Database(Settings(database_url=url, database_pool_size=4))
    try:
        rows = await _fill(db, account_id, count)
        if not db.settings.is_sqlite:
            # As autovacuum would have, over the days these rows took to pile up: planned
            # without statistics, the purge's queries are not the ones a real database gets.
            async with db.engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql("ANALYZE")
        gate = Gate(db)  # one gate, as in a worker process: on SQLite writers take turns
        timed = _Timed(gate)
        stop = asyncio.Event()
        writer = asyncio.create_task(_other_writer(db, gate, account_id, stop))
        with tempfile.TemporaryDirectory() as store:
            started = time.perf_counter()
            purged = await purge(
                timed.transaction, documents=FilesystemDocumentStore(Path(store)), batch=batch
            )
            seconds = time.perf_counter() - started
        stop.set()
        waits = await writer
    finally:
        await db.dispose()
    return {
        "backend": name, "notifications": purged.notifications, "rows": rows,
        "seconds": seconds, "rows/s": rows / seconds, "passes": len(timed.passes),
        "pass p50 ms": percentile(timed.passes, 50) * 1000,
        "pass max ms": max(timed.passes) * 1000,
        "writer p99 ms": percentile(waits, 99) * 1000, "writer max ms": max(waits) * 1000,
        "writes": len(waits),
    }  # fmt: skip


def main() -> None:
    """Run on each backend and write bench/results/retention.{json,md}."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notifications", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    report = Report(
        "retention",
        "Retention: a big purge in bounded passes, and the writes that wait for it",
        ["backend", "notifications", "rows", "seconds", "rows/s", "passes", "pass p50 ms",
         "pass max ms", "writes", "writer p99 ms", "writer max ms"],
    )  # fmt: skip
    for name in names():
        with backend(name) as found:
            report.rows.append(
                asyncio.run(_run(name, found.url, found.account_id, args.notifications, args.batch))
            )
    worst = max(row["writer max ms"] for row in report.rows)
    report.target(
        "longest wait of another writer during the purge", worst, "< 1000 ms", worst < 1000
    )
    report.notes += [
        f"Each notification: 1 delivery, 1 attempt, 1 inbox item, 1 history row, 2 events "
        f"(7 rows), all expired; batch {args.batch} rows per statement, one transaction a pass.",
        "The other writer commits a one-row UPDATE every 20 ms through the same gate (SQLite: "
        "the worker process's single writer) or beside it (PostgreSQL), for the whole purge.",
    ]
    print(report.write().read_text())


if __name__ == "__main__":
    main()
