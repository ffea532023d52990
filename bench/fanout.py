"""Fan-out: one event to a team of 100,000 users, until every inbox item is committed.

Herald (``herald api``, one process, core 0) answers 202 only after the transaction holding
the notification, the 100,000 inbox items, their history and their real-time events has
committed, so the POST's own latency is the time to commit them all; the rows are counted
afterwards to confirm. The baseline, in the same run and on the same core, inserts the same
100,000 rows into the same ``inbox_items`` table with the same driver in one transaction,
the fastest ways SQLAlchemy core offers (``executemany``, and multi-row ``VALUES``); the
faster of the two is the baseline rate.

    python -m bench.fanout [--users 100000] [--repeats 3] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from typing import Any, cast

import httpx
from sqlalchemy import Table, func, insert, select

# The foreign keys to accounts take their column type from that table: it must be loaded.
import herald.accounts.models  # noqa: F401
from bench import backends
from bench.backends import HERALD, Backend
from bench.common import PYTHON, ROOT, Report, free_port, median, running, server_cores
from bench.progress import Steps
from herald.config import Settings
from herald.db import Database, new_id, utcnow
from herald.directory.models import Team, User, team_members
from herald.inbox.models import InboxItem
from herald.notifications.models import Notification

ITEMS = cast(Table, InboxItem.__table__)
SEED_CHUNK = 5000
EXECUTEMANY_CHUNK = 5000
# PostgreSQL takes at most 32,767 bind parameters per statement; an item row has 19 columns.
VALUES_CHUNK = 1000
TEAM = "everyone"
MESSAGE = "The office is closed on Friday"
COLUMNS = [
    "backend",
    "users",
    "Herald s",
    "Herald rows/s",
    "baseline s",
    "baseline rows/s",
    "ratio",
    "rows counted",
]


async def _seed(url: str, account_id: uuid.UUID, users: int) -> None:
    """``users`` users, all members of one team, with bulk statements."""
    db = Database(Settings(database_url=url))
    now = utcnow()
    team_id = new_id()
    try:
        async with db.sessions() as session, session.begin():
            await session.execute(
                insert(Team.__table__).values(
                    id=team_id, account_id=account_id, key=TEAM, created_at=now, updated_at=now
                )
            )
            for start in range(0, users, SEED_CHUNK):
                rows = [
                    {
                        "id": new_id(),
                        "account_id": account_id,
                        "external_id": f"m{n}",
                        "admin": False,
                        "data": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(start, min(users, start + SEED_CHUNK))
                ]
                await session.execute(insert(User.__table__), rows)
                members = [{"team_id": team_id, "user_id": r["id"]} for r in rows]
                await session.execute(insert(team_members), members)
    finally:
        await db.dispose()


def _item_rows(
    account_id: uuid.UUID, notification_id: uuid.UUID, users: list[uuid.UUID]
) -> list[dict[str, Any]]:
    """Rows as Herald writes them for a ``custom/message`` to ``users``."""
    now = utcnow()
    return [
        {
            "id": new_id(),
            "account_id": account_id,
            "user_id": u,
            "notification_id": notification_id,
            "type": "custom",
            "sub_type": "message",
            "correlation_id": None,
            "data": {},
            "message": MESSAGE,
            "message_formatted": None,
            "actions": [],
            "require_action": False,
            "action_status": None,
            "read_at": None,
            "seen_at": None,
            "withdrawn_at": None,
            "created_at": now,
            "updated_at": now,
        }
        for u in users
    ]


async def _notification(session: Any, account_id: uuid.UUID) -> uuid.UUID:
    """A notification row for the baseline's items to belong to (the foreign key needs one)."""
    now = utcnow()
    record = Notification(
        id=new_id(),
        account_id=account_id,
        type="custom",
        sub_type="message",
        products=[],
        targets={"teams": [TEAM]},
        channels=["in_app"],
        payload={},
        message=MESSAGE,
        actions=[],
        personalisation={},
        created_at=now,
        updated_at=now,
    )
    session.add(record)
    await session.flush()
    return record.id


async def _baseline(url: str, account_id: uuid.UUID) -> dict[str, float]:
    """Seconds to insert and commit one item per user, by each bulk method."""
    db = Database(Settings(database_url=url))
    found: dict[str, float] = {}
    try:
        async with db.sessions() as session:
            users = list(
                await session.scalars(select(User.id).where(User.account_id == account_id))
            )
        for method in ("executemany", "values"):
            async with db.sessions() as session, session.begin():
                notification_id = await _notification(session, account_id)
            rows = _item_rows(account_id, notification_id, users)
            started = time.perf_counter()
            async with db.sessions() as session, session.begin():
                if method == "executemany":
                    for start in range(0, len(rows), EXECUTEMANY_CHUNK):
                        await session.execute(
                            insert(ITEMS), rows[start : start + EXECUTEMANY_CHUNK]
                        )
                else:
                    for start in range(0, len(rows), VALUES_CHUNK):
                        await session.execute(
                            insert(ITEMS).values(rows[start : start + VALUES_CHUNK])
                        )
            found[method] = time.perf_counter() - started
    finally:
        await db.dispose()
    return found


def _run_baseline(backend: Backend, cores: set[int]) -> dict[str, float]:
    """The baseline in its own process on the server's core, as the server would run it."""
    import subprocess

    argv = [PYTHON, "-m", "bench.fanout", "--baseline-of", backend.url, str(backend.account_id)]
    argv = ["taskset", "-c", ",".join(map(str, sorted(cores))), *argv]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    return cast(dict[str, float], json.loads(done.stdout.strip().splitlines()[-1]))


async def _counted(url: str, notification_id: uuid.UUID) -> int:
    db = Database(Settings(database_url=url))
    try:
        async with db.sessions() as session:
            query = (
                select(func.count())
                .select_from(InboxItem)
                .where(InboxItem.notification_id == notification_id)
            )
            return int(await session.scalar(query) or 0)
    finally:
        await db.dispose()


def _send(port: int, key: str) -> tuple[float, uuid.UUID]:
    body = {
        "type": "custom",
        "subType": "message",
        "targets": {"teams": [TEAM]},
        "channels": ["in_app"],
        "message": MESSAGE,
    }
    started = time.perf_counter()
    answer = httpx.post(
        f"http://127.0.0.1:{port}/v1/notifications",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=3600,
    )
    elapsed = time.perf_counter() - started
    if answer.status_code != 202:
        raise RuntimeError(f"fan-out answered {answer.status_code}: {answer.text[:500]}")
    return elapsed, uuid.UUID(answer.json()["id"])


def measure(backend: Backend, *, users: int, repeats: int, steps: Steps) -> dict[str, Any]:
    """Herald's fan-out and the raw inserts in turns; one row of medians."""
    server, _ = server_cores()
    steps.start(f"{backend.name}: seeding {users:,} users")
    asyncio.run(_seed(backend.url, backend.account_id, users))
    steps.advance()
    port = free_port()
    herald: list[float] = []
    base: list[dict[str, float]] = []
    counted: list[int] = []
    with running([HERALD, "api", "--port", str(port)], port=port, env=backend.env(), cores=server):
        for n in range(repeats):
            steps.start(f"{backend.name}: baseline inserts, run {n + 1}")
            base.append(_run_baseline(backend, server))
            steps.advance(f"{backend.name}: Herald fan-out, run {n + 1}")
            seconds, notification_id = _send(port, backend.api_key)
            herald.append(seconds)
            counted.append(asyncio.run(_counted(backend.url, notification_id)))
            steps.advance()
    best = [min(b.values()) for b in base]
    h, b = median(herald), median(best)
    return {
        "backend": backend.name,
        "users": users,
        "Herald s": h,
        "Herald rows/s": users / h,
        "baseline s": b,
        "baseline rows/s": users / b,
        "ratio": b / h,
        "rows counted": ", ".join(f"{c:,}" for c in counted),
        "runs": {"herald_s": herald, "baseline_s": base},
        "all_counted": all(c == users for c in counted),
    }


def main() -> None:
    """Run the fan-out benchmark on every configured backend and write its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument(
        "--baseline-of", nargs=2, metavar=("URL", "ACCOUNT_ID"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.baseline_of:
        url, account = args.baseline_of
        print(json.dumps(asyncio.run(_baseline(url, uuid.UUID(account)))))
        return
    names = args.backend or backends.names()
    report = Report("fanout", "Fan-out: one event to a team", COLUMNS)
    with Steps("fanout", len(names) * (1 + 2 * args.repeats)) as steps:
        for name in names:
            with backends.backend(name) as backend:
                report.rows.append(
                    measure(backend, users=args.users, repeats=args.repeats, steps=steps)
                )
    for row in report.rows:
        goal = f"{row['backend']}: Herald ≥ 50% of the raw insert rate"
        met = row["ratio"] >= 0.5 and row["all_counted"]
        report.target(goal, round(row["ratio"], 3), "≥ 0.50, every item committed", met)
    report.notes += [
        f"{args.repeats} runs per backend, alternating baseline and Herald; figures are medians.",
        "Herald: `herald api` pinned to core 0; one POST /v1/notifications "
        '`{"targets": {"teams": ["everyone"]}, "channels": ["in_app"]}` timed from the client '
        "until its 202, which comes after the commit; `rows counted` are the inbox items of "
        "each notification, counted after the 202.",
        "Herald writes more than the items in that transaction: the notification, one history "
        "row per item, two real-time events per user (created and count) and one upsert per "
        "user of the event sequence.",
        "Baseline: a separate process pinned to core 0 inserting the same item rows into "
        "inbox_items in one transaction with SQLAlchemy core and the same driver: executemany "
        f"in chunks of {EXECUTEMANY_CHUNK:,}, and multi-row VALUES in chunks of {VALUES_CHUNK:,}; "
        "the faster of the two is the baseline (both are in the JSON).",
    ]
    print(report.write())


if __name__ == "__main__":
    sys.exit(main())
