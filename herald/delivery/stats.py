"""Delivery outcomes counted per UTC day and channel: sent (delivered) and failed (temporary,
permanent or technical failure), by when they ended. Never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.delivery.models import Delivery
from herald.delivery.status import DeliveryStatus

SENT = frozenset({DeliveryStatus.DELIVERED.value})
FAILED = frozenset(
    {
        DeliveryStatus.TEMPORARY_FAILURE.value,
        DeliveryStatus.PERMANENT_FAILURE.value,
        DeliveryStatus.TECHNICAL_FAILURE.value,
    }
)


@dataclass(frozen=True)
class DayCount:
    """One channel's outcomes on one UTC day."""

    day: date
    channel: str
    sent: int
    failed: int


def _completion_day(session: AsyncSession) -> ColumnElement[object]:
    # SQLite keeps UTC text, whose date() is the UTC day; PostgreSQL's timestamptz needs its
    # zone named, or the session's would decide the day.
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", Delivery.completed_at))
    return func.date(Delivery.completed_at)


async def daily_outcomes(
    session: AsyncSession, *, account_id: uuid.UUID, first: date, last: date
) -> list[DayCount]:
    """Sent and failed deliveries of the account per channel per day, from ``first`` to
    ``last`` (UTC days, both included); days and channels without any are left out."""
    start = datetime.combine(first, time.min, UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, UTC)
    day = _completion_day(session)
    rows = await session.execute(
        select(day, Delivery.channel, Delivery.status, func.count())
        .where(
            Delivery.account_id == account_id,
            Delivery.completed_at >= start,
            Delivery.completed_at < end,
            Delivery.status.in_(SENT | FAILED),
        )
        .group_by(day, Delivery.channel, Delivery.status)
    )
    counts: dict[tuple[date, str], list[int]] = {}
    for value, channel, status, count in rows:
        key = (value if isinstance(value, date) else date.fromisoformat(str(value)), channel)
        pair = counts.setdefault(key, [0, 0])
        pair[0 if status in SENT else 1] += int(count)
    return [DayCount(d, c, sent, failed) for (d, c), (sent, failed) in sorted(counts.items())]
