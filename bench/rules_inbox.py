"""The cost of deciding the inbox too: planning and ``rules.decide`` for a fan-out on in-app and
email, with and without the ``in_app`` rows the rules now decide (``outbox.plan(inbox=...)``).

In process, on a SQLite file with ``--users`` users, each with a preferences document (none
turning anything off, so no row is skipped and the work is all deciding); the process's CPU
time of ``plan`` + ``decide`` + ``take_inbox`` is measured, alternating the two cases, and
medians are quoted. CPU time, not wall time: the machine is shared, and what is measured
is Python's own work (both cases make the same statements: the in-app rows' users are the
email rows' users).

    python -m bench.rules_inbox [--users 100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert

from bench.common import Report, median
from herald.accounts import service as accounts
from herald.config import Settings
from herald.db import Database, new_id, utcnow
from herald.directory.models import User
from herald.events.targeting import Recipients
from herald.migrate import upgrade
from herald.notifications import outbox
from herald.rules import decide as rules
from herald.rules.models import Preference

DOCUMENT = {"channels": {"sms": False}, "categories": {"marketing": {"email": True}}}
CHUNK = 5000


async def _seed(db: Database, users: int) -> tuple[uuid.UUID, dict[uuid.UUID, str]]:
    """An account with ``users`` users, each with a preferences document."""
    now = utcnow()
    async with db.sessions() as session, session.begin():
        account = await accounts.create_account(session, name="bench")
        people = {new_id(): f"u{n}" for n in range(users)}
        rows = [
            {"id": u, "account_id": account.id, "external_id": e, "admin": False, "data": {},
             "created_at": now, "updated_at": now}
            for u, e in people.items()
        ]  # fmt: skip
        documents = [
            {"account_id": account.id, "subject": str(u), "user_id": u, "document": DOCUMENT,
             "updated_at": now}
            for u in people
        ]  # fmt: skip
        for start in range(0, users, CHUNK):
            await session.execute(insert(cast(Table, User.__table__)), rows[start : start + CHUNK])
            await session.execute(
                insert(cast(Table, Preference.__table__)), documents[start : start + CHUNK]
            )
    return account.id, people


async def _once(
    db: Database, account: uuid.UUID, people: dict[uuid.UUID, str], inbox: bool
) -> float:
    """CPU seconds of planning and deciding one fan-out."""
    facts = rules.facts_of(type_="custom", type_rules=None, template_body={"category": "marketing"})
    now = utcnow()
    async with db.sessions() as session, session.begin():
        started = time.process_time()
        rows = outbox.plan(
            account_id=account, notification_id=new_id(), channels=["in_app", "email"],
            recipients=Recipients(users=people), due_at=now, now=now, test=False, inbox=inbox,
        )  # fmt: skip
        await rules.decide(session, rows, facts, now=now)
        external, withheld = outbox.take_inbox(rows)
        spent = time.process_time() - started
        assert len(external) == len(people) and not withheld
        await session.rollback()
    return spent


async def run(users: int, repeats: int) -> dict[str, Any]:
    """Seed, then alternate the two cases ``repeats`` times each."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None, database_url=f"sqlite+aiosqlite:///{Path(folder) / 'b.db'}"
        )  # type: ignore[call-arg]
        await upgrade(settings)
        db = Database(settings)
        try:
            account, people = await _seed(db, users)
            await _once(db, account, people, True)  # warm: caches, statements compiled
            runs: dict[str, list[float]] = {"without": [], "with": []}
            for _ in range(repeats):
                runs["without"].append(await _once(db, account, people, False))
                runs["with"].append(await _once(db, account, people, True))
        finally:
            await db.dispose()
    without, with_ = median(runs["without"]), median(runs["with"])
    return {"users": users, "without in_app rows s": round(without, 3),
            "with in_app rows s": round(with_, 3), "ratio": round(with_ / without, 3),
            "runs": runs}  # fmt: skip


def main() -> None:
    """Run the benchmark and write its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    row = asyncio.run(run(args.users, args.repeats))
    columns = ["users", "without in_app rows s", "with in_app rows s", "ratio"]
    report = Report("rules_inbox", "Deciding the inbox too: plan + decide CPU time", columns)
    report.rows.append(row)
    report.notes += [
        f"{args.repeats} runs per case, alternating; CPU time of the process (time.process_time)"
        " for outbox.plan + rules.decide + outbox.take_inbox, medians.",
        "Fan-out on in_app and email to every user; each user has a preferences document that "
        "rules nothing out, so both cases write the same deliveries and make the same "
        "statements; 'with' also plans and decides one in_app row per user.",
    ]
    print(report.write())


if __name__ == "__main__":
    main()
