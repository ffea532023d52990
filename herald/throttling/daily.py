"""The daily message cap of an account, checked and counted in the database, atomically.

One statement both checks and counts (``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` the new
total stays within the cap ``RETURNING``), in the transaction of the work it pays for: two
concurrent requests can never both take the last messages (PostgreSQL's upsert waits for the
other's row lock and re-reads the committed total; SQLite has one writer), and a request that
fails afterwards rolls its count back with everything else. Every API process shares the count.

Call ``spend`` last in the transaction: on PostgreSQL the row stays locked until the commit, so
the account's other requests wait only for the commit, not for the work. ``refuse_if_spent``
is a read without a lock, for refusing early a request that cannot fit anyway.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from herald.errors import TooManyRequests
from herald.throttling.models import DailyUsage


def day_of(now: datetime) -> str:
    """The UTC day a count belongs to, ``YYYY-MM-DD``."""
    return now.astimezone(UTC).strftime("%Y-%m-%d")


def _seconds_to_midnight(now: datetime) -> int:
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((tomorrow - now).total_seconds()))


def _refused(cap: int, now: datetime) -> TooManyRequests:
    return TooManyRequests(
        f"The daily limit of {cap} messages is reached for this account",
        code="daily_limit_reached",
        headers={"Retry-After": str(_seconds_to_midnight(now))},
    )


async def refuse_if_spent(
    session: AsyncSession, *, account_id: uuid.UUID, messages: int, cap: int
) -> None:
    """429 now if ``messages`` more cannot fit today (a read; ``spend`` decides for good)."""
    if messages <= 0:
        return
    now = datetime.now(UTC)
    used = await session.scalar(
        select(DailyUsage.messages).where(
            DailyUsage.account_id == account_id, DailyUsage.day == day_of(now)
        )
    )
    if (used or 0) + messages > cap:
        raise _refused(cap, now)


async def spend(session: AsyncSession, *, account_id: uuid.UUID, messages: int, cap: int) -> None:
    """Count ``messages`` against today's ``cap``, or raise 429 ``daily_limit_reached`` and count
    nothing. Atomic: the check and the count are one statement."""
    if messages <= 0:
        return
    now = datetime.now(UTC)
    if messages > cap:
        raise _refused(cap, now)
    insert: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(DailyUsage).values(account_id=account_id, day=day_of(now), messages=messages)
    total = DailyUsage.messages + statement.excluded.messages
    counted = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[DailyUsage.account_id, DailyUsage.day],
            set_={"messages": total},
            where=total <= cap,
        ).returning(DailyUsage.messages)
    )
    if counted.first() is None:
        raise _refused(cap, now)


async def forget_before(session: AsyncSession, *, day: str) -> int:
    """Delete the counts of days before ``day`` (retention); how many rows went."""
    result = await session.execute(
        delete(DailyUsage).where(DailyUsage.day < day).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
