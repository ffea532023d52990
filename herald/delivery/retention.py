"""Retention: after an account's ``retention_days`` (default 7), a finished delivery loses
its content and personal data and keeps its metadata.

Purged: the rendered content (subject, bodies, sender and recipients), the recipient's
address, and the providers' answers (which may quote addresses). Kept: channel, status,
provider, receipt, template version, timestamps and the attempts' times and outcomes.
Finished status callbacks (whose bodies describe deliveries) are deleted. Deliveries
still in progress are never purged: they need their content to be sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.db import utcnow
from herald.delivery.models import CallbackJob, Delivery, DeliveryAttempt
from herald.delivery.status import TERMINAL

FINISHED = tuple(s.value for s in TERMINAL)


@dataclass(frozen=True)
class Purged:
    """What one purge pass removed."""

    deliveries: int
    callbacks: int


async def purge(session: AsyncSession, *, now: datetime | None = None, limit: int = 1000) -> Purged:
    """Purge up to ``limit`` deliveries (and the callbacks) past their account's retention.

    Call it again while it purges ``limit``: each call is one bounded transaction.
    """
    now = now or utcnow()
    deliveries = callbacks = 0
    periods = await session.scalars(select(Account.retention_days).distinct())
    for days in list(periods):
        accounts = select(Account.id).where(Account.retention_days == days)
        cutoff = now - timedelta(days=days)
        deliveries += await _purge_deliveries(session, accounts, cutoff, now, limit - deliveries)
        result = await session.execute(
            delete(CallbackJob)
            .where(
                CallbackJob.account_id.in_(accounts),
                CallbackJob.created_at < cutoff,
                CallbackJob.status.in_(FINISHED),
            )
            .execution_options(synchronize_session=False)
        )
        callbacks += int(getattr(result, "rowcount", 0) or 0)
    return Purged(deliveries, callbacks)


async def _purge_deliveries(
    session: AsyncSession, accounts: object, cutoff: datetime, now: datetime, limit: int
) -> int:
    if limit <= 0:
        return 0
    ids = list(
        await session.scalars(
            select(Delivery.id)
            .where(
                Delivery.account_id.in_(accounts),  # type: ignore[arg-type]
                Delivery.created_at < cutoff,
                Delivery.purged_at.is_(None),
                Delivery.status.in_(FINISHED),
            )
            .limit(limit)
        )
    )
    if not ids:
        return 0
    await session.execute(
        update(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(ids))
        .values(provider_response=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids))
        .values(rendered=None, recipient={}, purged_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(ids)
