"""The delivery log: an account's deliveries with their attempts. Never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.delivery.models import Delivery, DeliveryAttempt
from herald.errors import NotFound


@dataclass(frozen=True)
class Filters:
    """``GET /v1/deliveries`` filters (None: any)."""

    notification_id: uuid.UUID | None = None
    channel: str | None = None
    status: str | None = None
    created_from: datetime | None = None
    attempted: bool = False
    """Only deliveries that have been tried at least once (seed 002's SMTP log)."""


@dataclass(frozen=True)
class Logged:
    """A delivery and its attempts, oldest first."""

    delivery: Delivery
    attempts: list[DeliveryAttempt]


async def get_delivery(
    session: AsyncSession, *, account_id: uuid.UUID, delivery_id: uuid.UUID
) -> Logged:
    """One of the account's deliveries, or 404 (also for another account's)."""
    delivery = await session.scalar(
        select(Delivery).where(Delivery.id == delivery_id, Delivery.account_id == account_id)
    )
    if delivery is None:
        raise NotFound("No such delivery")
    attempts = await attempts_of(session, [delivery.id])
    return Logged(delivery, attempts.get(delivery.id, []))


async def list_deliveries(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    filters: Filters,
    offset: int,
    limit: int,
    before: uuid.UUID | None,
) -> tuple[list[Logged], int]:
    """A page of the account's deliveries, newest first, with the filtered total."""
    where = _conditions(account_id, filters)
    total = await session.scalar(select(func.count()).select_from(Delivery).where(*where))
    if before is not None:
        where.append(Delivery.id < before)
    rows = list(
        await session.scalars(
            select(Delivery).where(*where).order_by(Delivery.id.desc()).offset(offset).limit(limit)
        )
    )
    attempts = await attempts_of(session, [d.id for d in rows])
    return [Logged(d, attempts.get(d.id, [])) for d in rows], int(total or 0)


def _conditions(account_id: uuid.UUID, filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Delivery.account_id == account_id]
    if filters.notification_id is not None:
        where.append(Delivery.notification_id == filters.notification_id)
    if filters.channel is not None:
        where.append(Delivery.channel == filters.channel)
    if filters.status is not None:
        where.append(Delivery.status == filters.status)
    if filters.created_from is not None:
        where.append(Delivery.created_at >= filters.created_from)
    if filters.attempted:
        where.append(Delivery.attempts > 0)
    return where


async def attempts_of(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[DeliveryAttempt]]:
    """The attempts of these deliveries, oldest first, by delivery."""
    if not ids:
        return {}
    rows = await session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(ids))
        .order_by(DeliveryAttempt.at, DeliveryAttempt.id)
    )
    grouped: dict[uuid.UUID, list[DeliveryAttempt]] = {}
    for attempt in rows:
        grouped.setdefault(attempt.delivery_id, []).append(attempt)
    return grouped
