"""Park earlier tests' unfinished jobs, so that a test's worker sends only its own.

Every test shares one database, and the queue is the whole ``deliveries`` table: a test
that leaves thousands of deliveries due (a fan-out of 10,000 emails with no SMTP server)
would otherwise keep a later test's worker busy past its timeouts. Parking moves the due
time of every unfinished job a day ahead; the test's own jobs, written after, are due now.
Jobs already parked (due more than an hour from now) are left alone: updating them again
before every test rewrote thousands of rows each time, most of a quick test's time on
PostgreSQL (a new row version per update).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from herald.db import Database, utcnow
from herald.delivery.models import CallbackJob, Delivery
from herald.delivery.queue import ACTIVE


async def park_unfinished(db: Database) -> None:
    """Make every unfinished job due within the hour due a day from now."""
    now = utcnow()
    soon, later = now + timedelta(hours=1), now + timedelta(days=1)
    async with db.sessions() as session, session.begin():
        for model in (Delivery, CallbackJob):
            await session.execute(
                update(model)
                .where(model.status.in_(ACTIVE), model.due_at < soon)
                .values(due_at=later)
            )
