"""Delivery outcomes per UTC day and channel (the console's stats), on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime

from herald.db import Database
from herald.delivery.models import Delivery
from herald.delivery.stats import DayCount, daily_outcomes
from herald.notifications.models import Notification
from tests.conftest import MakeTenant

ENDED = [  # (completed at, channel, status)
    (datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC), "email", "delivered"),
    (datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC), "email", "delivered"),
    (datetime(2026, 3, 2, 9, 30, tzinfo=UTC), "email", "permanent-failure"),
    (datetime(2026, 3, 2, 10, 0, tzinfo=UTC), "email", "technical-failure"),
    (datetime(2026, 3, 2, 11, 0, tzinfo=UTC), "sms", "temporary-failure"),
    (datetime(2026, 3, 2, 12, 0, tzinfo=UTC), "sms", "cancelled"),  # neither sent nor failed
    (datetime(2026, 3, 3, 8, 0, tzinfo=UTC), "sms", "delivered"),
    (datetime(2026, 3, 4, 8, 0, tzinfo=UTC), "sms", "delivered"),  # after the period
]


async def test_outcomes_are_counted_per_utc_day_and_channel(
    db: Database, make_tenant: MakeTenant
) -> None:
    tenant, other = await make_tenant("stats"), await make_tenant("other")
    async with db.sessions() as session, session.begin():
        for owner in (tenant, other):
            notification = Notification(
                account_id=owner.account_id, type="custom", sub_type="message", products=[],
                targets={}, channels=["email", "sms"], payload={}, actions=[],
            )  # fmt: skip
            session.add(notification)
            await session.flush()
            rows = ENDED if owner is tenant else ENDED[:2]
            session.add_all(
                Delivery(
                    account_id=owner.account_id,
                    notification_id=notification.id,
                    channel=channel,
                    recipient={},
                    status=status,
                    completed_at=ended,
                )
                for ended, channel, status in rows
            )
    async with db.sessions() as session:
        counted = await daily_outcomes(
            session, account_id=tenant.account_id, first=date(2026, 3, 1), last=date(2026, 3, 3)
        )
    assert counted == [
        DayCount(date(2026, 3, 1), "email", sent=1, failed=0),
        DayCount(date(2026, 3, 2), "email", sent=1, failed=2),
        DayCount(date(2026, 3, 2), "sms", sent=0, failed=1),
        DayCount(date(2026, 3, 3), "sms", sent=1, failed=0),
    ]
