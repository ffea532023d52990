"""The account's SMS allowance in segments, per UTC calendar month (seed 004).

Each SMS delivery holds a charge (``SmsCharge``): ``reserved`` when it is accepted,
``committed`` once a provider took it, ``released`` when it failed for good or was
cancelled. A month's use is the sum of the charges not released; an account with no
``sms_allowance`` is unlimited, and test keys are never charged. Reserving locks the
account's row, so that two requests cannot both take the last segments.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.db import utcnow
from herald.delivery.status import DeliveryStatus
from herald.errors import TooManyRequests
from herald.sms.models import SmsCharge

RESERVED, COMMITTED, RELEASED = "reserved", "committed", "released"
# What a finished SMS delivery does to its charge: sent (even if the handset was
# unreachable) is paid for; never sent, or refused for good, gives the segments back.
SETTLED = {
    DeliveryStatus.DELIVERED: COMMITTED,
    DeliveryStatus.TEMPORARY_FAILURE: COMMITTED,
    DeliveryStatus.PERMANENT_FAILURE: RELEASED,
    DeliveryStatus.TECHNICAL_FAILURE: RELEASED,
    DeliveryStatus.CANCELLED: RELEASED,
    DeliveryStatus.SKIPPED: RELEASED,
}


class OveruseFull(TooManyRequests):
    """The month's allowance cannot hold these segments (429, ``Retry-After`` to month end)."""

    code = "overuse_full"


def period_of(moment: datetime) -> str:
    """The calendar month (UTC) a moment falls in, as ``YYYY-MM``."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def seconds_to_month_end(moment: datetime) -> int:
    """Whole seconds from ``moment`` until the next UTC month begins (at least one)."""
    now = moment.astimezone(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    start = datetime(year, month, 1, tzinfo=UTC)
    return max(1, int((start - now).total_seconds() + 0.999))


async def used(session: AsyncSession, *, account_id: uuid.UUID, period: str) -> int:
    """Segments reserved or committed in the account's ``period``."""
    total = await session.scalar(
        select(func.coalesce(func.sum(SmsCharge.segments), 0)).where(
            SmsCharge.account_id == account_id,
            SmsCharge.period == period,
            SmsCharge.state != RELEASED,
        )
    )
    return int(total or 0)


async def reserve(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    charges: Sequence[tuple[uuid.UUID, int]],
    now: datetime | None = None,
) -> None:
    """Reserve (delivery id, segments) for each delivery, or raise ``OveruseFull`` for all.

    The deliveries must already be flushed (the charges refer to them).
    """
    now = now or utcnow()
    allowance = await session.scalar(
        select(Account.sms_allowance).where(Account.id == account_id).with_for_update()
    )
    wanted = sum(segments for _, segments in charges)
    period = period_of(now)
    if (
        allowance is not None
        and await used(session, account_id=account_id, period=period) + (wanted) > allowance
    ):
        wait = seconds_to_month_end(now)
        raise OveruseFull(
            f"The SMS allowance of {allowance} segments this month is used up",
            headers={"Retry-After": str(wait)},
        )
    session.add_all(
        SmsCharge(
            delivery_id=delivery_id,
            account_id=account_id,
            period=period,
            segments=segments,
            state=RESERVED,
            created_at=now,
            updated_at=now,
        )
        for delivery_id, segments in charges
    )
    await session.flush()


async def settle(session: AsyncSession, *, delivery_id: uuid.UUID, status: DeliveryStatus) -> None:
    """Commit or release the delivery's charge as its final ``status`` says (else no-op).

    A receipt that says a sent message failed for good releases even a committed charge.
    """
    state = SETTLED.get(status)
    if state is not None:
        await _move(session, delivery_id, state)


async def commit(session: AsyncSession, *, delivery_id: uuid.UUID) -> None:
    """A provider took the message (its receipt is still to come): the segments are spent."""
    await _move(session, delivery_id, COMMITTED)


async def _move(session: AsyncSession, delivery_id: uuid.UUID, state: str) -> None:
    from_states = (RESERVED, COMMITTED) if state == RELEASED else (RESERVED,)
    await session.execute(
        update(SmsCharge)
        .where(SmsCharge.delivery_id == delivery_id, SmsCharge.state.in_(from_states))
        .values(state=state, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
