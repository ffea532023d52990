"""Fan-out: one event to a team of 100,000 users, until every inbox item is committed.

Herald (``herald api``, one process, core 0) answers 202 only after the transaction holding
the notification, the 100,000 inbox items, their history and their real-time events has
committed, so the POST's own latency is the time to commit them all; the rows are counted
afterwards to confirm. The baseline, in the same run and on the same core, inserts the same
100,000 rows into the same ``inbox_items`` table with the same driver in one transaction,
the fastest ways SQLAlchemy core offers (``executemany``, and multi-row ``VALUES``); the
faster of the two is the baseline rate.

    python -m bench.fanout [--users 100000] [--repeats 3] [--backend sqlite|postgresql]

``--case rules`` measures the delivery rules instead (issue 16): the same fan-out on the
in-app and email channels, once with no preferences stored and once with a preferences
document for every one of the 100,000 users (plus the account's defaults), alternating; the
target is that preferences for all cost at most 1.5 times the fan-out without them.

    python -m bench.fanout --case rules [--users 100000] [--repeats 3]
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
from sqlalchemy import Table, delete, func, insert, select

# The foreign keys to accounts take their column type from that table: it must be loaded.
import herald.accounts.models  # noqa: F401
from bench import backends
from bench.backends import HERALD, Backend
from bench.common import PYTHON, ROOT, Report, free_port, median, running, server_cores
from bench.progress import Steps
from herald.config import Settings
from herald.db import Database, new_id, utcnow
from herald.delivery.models import Delivery
from herald.directory.models import Team, User, team_members
from herald.inbox.models import InboxItem
from herald.notifications.models import Notification
from herald.rules.models import ACCOUNT, Preference

ITEMS = cast(Table, InboxItem.__table__)
PREFERENCES = cast(Table, Preference.__table__)
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


def _send(port: int, key: str, channels: tuple[str, ...] = ("in_app",)) -> tuple[float, uuid.UUID]:
    body = {
        "type": "custom",
        "subType": "message",
        "targets": {"teams": [TEAM]},
        "channels": list(channels),
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


RULES_COLUMNS = [
    "backend",
    "users",
    "no preferences s",
    "preferences for all s",
    "ratio",
    "deliveries counted",
    "skipped",
]
# Every user's own document: the email of category ``custom`` stays on (all deliveries are
# written ``created``, the heavier case), the rest is what a real document holds.
USER_DOCUMENT = {
    "channels": {"sms": False, "push": True},
    "categories": {"marketing": {"email": False}, "custom": {"email": True}},
    "quiet_hours": None,
}


async def _preferences(url: str, account_id: uuid.UUID, *, present: bool) -> None:
    """Store (or remove) the account's defaults and one document per user, in bulk."""
    db = Database(Settings(database_url=url))
    try:
        async with db.sessions() as session, session.begin():
            await session.execute(delete(Preference).where(Preference.account_id == account_id))
            if not present:
                return
            users = list(
                await session.scalars(select(User.id).where(User.account_id == account_id))
            )
            now = utcnow()
            rows = [
                {"account_id": account_id, "subject": str(u), "user_id": u,
                 "document": USER_DOCUMENT, "updated_at": now}
                for u in users
            ]  # fmt: skip
            rows.append(
                {"account_id": account_id, "subject": ACCOUNT, "user_id": None,
                 "document": {"channels": {"letter": False}}, "updated_at": now}
            )  # fmt: skip
            for start in range(0, len(rows), SEED_CHUNK):
                await session.execute(insert(PREFERENCES), rows[start : start + SEED_CHUNK])
    finally:
        await db.dispose()


async def _delivery_counts(url: str, notification_id: uuid.UUID) -> tuple[int, int]:
    """The notification's deliveries, and how many of them are skipped."""
    db = Database(Settings(database_url=url))
    try:
        async with db.sessions() as session:
            where = Delivery.notification_id == notification_id
            total = await session.scalar(select(func.count()).select_from(Delivery).where(where))
            skipped = await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(where, Delivery.status == "skipped")
            )
            return int(total or 0), int(skipped or 0)
    finally:
        await db.dispose()


def measure_rules(backend: Backend, *, users: int, repeats: int, steps: Steps) -> dict[str, Any]:
    """The in-app + email fan-out without preferences and with them for all, in turns."""
    server, _ = server_cores()
    steps.start(f"{backend.name}: seeding {users:,} users")
    asyncio.run(_seed(backend.url, backend.account_id, users))
    steps.advance()
    port = free_port()
    timings: dict[bool, list[float]] = {False: [], True: []}
    counted: list[tuple[int, int]] = []
    with running([HERALD, "api", "--port", str(port)], port=port, env=backend.env(), cores=server):
        _send(port, backend.api_key, ("in_app", "email"))  # warm: caches, first-use imports
        for n in range(repeats):
            for present in (False, True):
                asyncio.run(_preferences(backend.url, backend.account_id, present=present))
                label = "with preferences for all" if present else "without preferences"
                steps.start(f"{backend.name}: fan-out {label}, run {n + 1}")
                seconds, notification_id = _send(port, backend.api_key, ("in_app", "email"))
                timings[present].append(seconds)
                counted.append(asyncio.run(_delivery_counts(backend.url, notification_id)))
                steps.advance()
    none, every = median(timings[False]), median(timings[True])
    return {
        "backend": backend.name,
        "users": users,
        "no preferences s": none,
        "preferences for all s": every,
        "ratio": every / none,
        "deliveries counted": ", ".join(f"{c:,}" for c, _ in counted),
        "skipped": ", ".join(str(s) for _, s in counted),
        "runs": {"no_preferences_s": timings[False], "preferences_for_all_s": timings[True]},
        "all_counted": all(c == users for c, _ in counted),
    }


def _rules_report(args: argparse.Namespace, names: list[str]) -> Report:
    report = Report(
        "fanout-rules", "Fan-out with delivery rules: preferences for all vs none", RULES_COLUMNS
    )
    with Steps("fanout-rules", len(names) * (1 + 2 * args.repeats)) as steps:
        for name in names:
            with backends.backend(name) as backend:
                report.rows.append(
                    measure_rules(backend, users=args.users, repeats=args.repeats, steps=steps)
                )
    for row in report.rows:
        goal = f"{row['backend']}: preferences for all ≤ 1.5 times none"
        met = row["ratio"] <= 1.5 and row["all_counted"]
        report.target(goal, round(row["ratio"], 3), "≤ 1.50, every delivery written", met)
    report.notes += [
        f"{args.repeats} runs per backend, alternating without and with preferences (the "
        "preferences are stored or removed in bulk before each run); figures are medians.",
        "Herald: `herald api` pinned to core 0, no worker; one POST /v1/notifications "
        '`{"targets": {"teams": ["everyone"]}, "channels": ["in_app", "email"]}` timed from the '
        "client until its 202 (after the commit of 100,000 inbox items and 100,000 email "
        "deliveries, each decided by herald.rules).",
        "With preferences: the account's defaults and one document per user (channels and "
        "categories, none ruling this email out, so every delivery is still written): the "
        "decision reads 100,000 documents in statements of 5,000 and merges each with the "
        "defaults.",
    ]
    return report


def main() -> None:
    """Run the fan-out benchmark on every configured backend and write its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--case", choices=["inbox", "rules"], default="inbox")
    parser.add_argument(
        "--baseline-of", nargs=2, metavar=("URL", "ACCOUNT_ID"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.baseline_of:
        url, account = args.baseline_of
        print(json.dumps(asyncio.run(_baseline(url, uuid.UUID(account)))))
        return
    names = args.backend or backends.names()
    if args.case == "rules":
        print(_rules_report(args, names).write())
        return
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
