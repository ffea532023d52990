"""The daily message cap of an account, checked and counted in the database, atomically.

One statement both checks and counts (``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` the new
total stays within the cap ``RETURNING``), in the transaction of the work it pays for: two
concurrent requests can never both take the last messages (PostgreSQL's upsert waits for the
other's row lock and re-reads the committed total; SQLite has one writer), and a request that
fails afterwards rolls its count back with everything else. Every API process shares the count.

Call ``spend`` last in the transaction: on PostgreSQL the row stays locked until the commit, so
the account's other requests wait only for the commit, not for the work. A refusal says how
many messages the day had used (``DailyCapReached.used``): the count only grows within a day,
so a process may refuse the next requests that cannot fit without asking the database
(``herald.notifications.charging``).
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from herald.errors import DailyLimitReached
from herald.throttling.models import DailyUsage


def day_of(now: datetime) -> str:
    """The UTC day a count belongs to, ``YYYY-MM-DD``."""
    return now.astimezone(UTC).strftime("%Y-%m-%d")


def _seconds_to_midnight(now: datetime) -> int:
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((tomorrow - now).total_seconds()))


class DailyCapReached(DailyLimitReached):
    """429 ``daily_limit_reached``, with ``Retry-After`` until midnight UTC."""

    def __init__(self, cap: int, *, used: int, now: datetime) -> None:
        super().__init__(
            f"The daily limit of {cap} messages is reached for this account",
            limit=cap,
            headers={"Retry-After": str(_seconds_to_midnight(now))},
        )
        self.used = used
        """The day's committed count when this was refused."""


@cache
def _spend_statement(dialect: str) -> Any:
    """The checking upsert, built once per dialect (its values are parameters): building it on
    every accept cost more than running it."""
    insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    # The table, not the mapped class: an ORM insert given parameters is a bulk insert.
    table = cast(Table, DailyUsage.__table__)
    columns = table.c
    statement = insert(table).values(
        account_id=bindparam("account_id", type_=columns.account_id.type),
        day=bindparam("day", type_=columns.day.type),
        messages=bindparam("messages", type_=columns.messages.type),
    )
    total = columns.messages + statement.excluded.messages
    return statement.on_conflict_do_update(
        index_elements=[columns.account_id, columns.day],
        set_={"messages": total},
        where=total <= bindparam("cap", type_=columns.messages.type),
    ).returning(columns.messages)


USED = select(DailyUsage.messages).where(
    DailyUsage.account_id == bindparam("account_id"), DailyUsage.day == bindparam("day")
)


async def spend(session: AsyncSession, *, account_id: uuid.UUID, messages: int, cap: int) -> int:
    """Count ``messages`` against today's ``cap`` and return the day's new total, or raise
    ``DailyCapReached`` and count nothing. Atomic: the check and the count are one statement."""
    now = datetime.now(UTC)
    day = day_of(now)
    params = {"account_id": account_id, "day": day, "messages": messages, "cap": cap}
    statement = _spend_statement(session.get_bind().dialect.name)
    counted = None if messages > cap else await session.scalar(statement, params)
    if counted is None:
        used = await session.scalar(USED, {"account_id": account_id, "day": day})
        raise DailyCapReached(cap, used=int(used or 0), now=now)
    return int(counted)


async def forget_before(session: AsyncSession, *, day: str) -> int:
    """Delete the counts of days before ``day`` (retention); how many rows went."""
    result = await session.execute(
        delete(DailyUsage).where(DailyUsage.day < day).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
