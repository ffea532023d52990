"""Notifications of one recipient on one channel (what a GOV.UK Notify-style send makes),
read together with their one delivery: by id, or a page newest first, filtered.

The list is keyed by the account's ``(account_id, id)`` index; a filter on the delivery's
channel or status joins the notification's delivery (``ix_deliveries_notification_id``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.delivery.models import Delivery
from herald.errors import NotFound
from herald.notifications.models import Notification


@dataclass(frozen=True)
class Single:
    """A notification and its delivery."""

    notification: Notification
    delivery: Delivery


@dataclass(frozen=True)
class SingleFilters:
    """What a page is narrowed to; None is any. ``test`` keeps a test key's sends apart."""

    type: str
    test: bool
    channels: Collection[str] | None = None
    statuses: Collection[str] | None = None
    reference: str | None = None


async def get_single(
    session: AsyncSession, *, account_id: uuid.UUID, notification_id: uuid.UUID, type_: str
) -> Single:
    """One of the account's notifications of ``type_`` with its delivery, or 404."""
    found = (
        await session.execute(
            select(Notification, Delivery)
            .join(Delivery, Delivery.notification_id == Notification.id)
            .where(
                Notification.id == notification_id,
                Notification.account_id == account_id,
                Notification.type == type_,
            )
            .limit(1)
        )
    ).first()
    if found is None:
        raise NotFound("No such notification")
    return Single(found[0], found[1])


def _where(account_id: uuid.UUID, filters: SingleFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        Notification.account_id == account_id,
        Notification.type == filters.type,
        Notification.test.is_(filters.test),
    ]
    if filters.reference is not None:
        where.append(Notification.reference == filters.reference)
    if filters.channels is not None:
        where.append(Delivery.channel.in_(list(filters.channels)))
    if filters.statuses is not None:
        where.append(Delivery.status.in_(list(filters.statuses)))
    return where


async def list_single(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    filters: SingleFilters,
    older_than: uuid.UUID | None,
    limit: int,
) -> list[Single]:
    """A page newest first; after ``older_than`` (an empty page when the account has no
    notification of that id: nothing is older than what does not exist)."""
    where = _where(account_id, filters)
    if older_than is not None:
        known = exists().where(Notification.id == older_than, Notification.account_id == account_id)
        if not await session.scalar(select(known)):
            return []
        where.append(Notification.id < older_than)
    rows = await session.execute(
        select(Notification, Delivery)
        .join(Delivery, Delivery.notification_id == Notification.id)
        .where(*where)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return [Single(n, d) for n, d in rows.all()]
