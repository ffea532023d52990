"""A notification's status, from its deliveries (API.md "Sending").

``queued`` until a delivery starts, ``sending`` while any runs, then from how they ended:
``delivered`` (all delivered or skipped), ``partially-delivered``, ``failed`` (none
delivered) or ``cancelled``. Inbox items count as one delivered part once written (an
in-app-only notification is ``delivered`` at accept), or as a cancelled one once the
notification is cancelled.

The status is stored, so that ``GET /v1/notifications?status=`` is a plain filter, and kept
by the transactions that change deliveries: ``started`` when a worker claims a first
delivery, ``settle`` after deliveries end (the worker's answers, receipts, a cancel). Both
lock the notification rows after the deliveries, in id order, so concurrent transactions see
each other's committed deliveries and never wait on each other in a cycle; ``settle``
reads which statuses are present with one index probe each
(``ix_deliveries_notification_status``), never counting a fan-out's deliveries.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from typing import cast

from sqlalchemy import Label, Table, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from herald.db import utcnow
from herald.delivery.models import Delivery
from herald.inbox.models import InboxItemHistory
from herald.notifications.models import Notification

QUEUED, SENDING, DELIVERED = "queued", "sending", "delivered"
PARTIALLY_DELIVERED, FAILED, CANCELLED = "partially-delivered", "failed", "cancelled"
STATUSES = (QUEUED, SENDING, DELIVERED, PARTIALLY_DELIVERED, FAILED, CANCELLED)

CREATED = "created"
ACTIVE = frozenset({CREATED, "sending"})
DELIVERED_LIKE = frozenset({"delivered", "skipped"})
"""Deliveries that count as delivered: sent, or ruled out on purpose (``skipped``)."""
FAILURES = frozenset({"temporary-failure", "permanent-failure", "technical-failure"})
WITHDRAWN = frozenset({"cancelled"})
GROUPS: dict[str, frozenset[str]] = {
    "created": frozenset({CREATED}), "sending": frozenset({"sending"}),
    "delivered": DELIVERED_LIKE, "failed": FAILURES, "cancelled": WITHDRAWN,
}  # fmt: skip
NOTIFICATIONS = cast(Table, Notification.__table__)


def status_of(present: Collection[str], *, in_app: bool, cancelled: bool) -> str:
    """The status of a notification whose deliveries have the statuses in ``present``.

    ``in_app``: it wrote inbox items; ``cancelled``: ``DELETE`` cancelled it.
    """
    found = set(present)
    if found & ACTIVE:
        return QUEUED if found == {CREATED} else SENDING
    delivered = bool(found & DELIVERED_LIKE) or (in_app and not cancelled)
    failed = bool(found & FAILURES)
    withdrawn = bool(found & WITHDRAWN) or (in_app and cancelled)
    if not (delivered or failed or withdrawn):
        return CANCELLED if cancelled else DELIVERED  # nothing to deliver
    if not (failed or withdrawn):
        return DELIVERED
    if delivered:
        return PARTIALLY_DELIVERED
    return FAILED if failed else CANCELLED


def accepted_status(delivery_statuses: Iterable[str], *, in_app: bool) -> str:
    """The status a notification is written with, from the deliveries written with it."""
    return status_of(set(delivery_statuses), in_app=in_app, cancelled=False)


async def _lock(
    session: AsyncSession, ids: list[uuid.UUID], *, queued_only: bool
) -> list[uuid.UUID]:
    query = select(Notification.id).where(Notification.id.in_(ids))
    if queued_only:
        query = query.where(Notification.status == QUEUED)
    # SQLite compiles no FOR UPDATE: its single writer already serialises these transactions.
    return list(await session.scalars(query.order_by(Notification.id).with_for_update()))


async def started(session: AsyncSession, notification_ids: Iterable[uuid.UUID]) -> None:
    """A first delivery of these notifications was claimed: ``queued`` becomes ``sending``.

    Only rows still queued are locked, so the claims of a big fan-out do not queue on it.
    """
    ids = await _lock(session, sorted(set(notification_ids)), queued_only=True)
    if ids:
        await session.execute(
            update(NOTIFICATIONS)
            .where(NOTIFICATIONS.c.id.in_(ids), NOTIFICATIONS.c.status == QUEUED)
            .values(status=SENDING, updated_at=utcnow())
        )


def _present(name: str, group: Collection[str]) -> Label[bool]:
    """Whether the notification has a delivery in ``group``: one probe of the index."""
    where = Delivery.status.in_(sorted(group))
    return exists().where(Delivery.notification_id == Notification.id, where).label(name)


async def settle(session: AsyncSession, notification_ids: Iterable[uuid.UUID]) -> None:
    """Store the status these notifications' deliveries now give them (after some ended).

    Call it after the deliveries' changes, in the same transaction.
    """
    ids = await _lock(session, sorted(set(notification_ids)), queued_only=False)
    if not ids:
        return
    items = exists().where(InboxItemHistory.notification_id == Notification.id)
    rows = await session.execute(
        select(
            Notification.id,
            Notification.status,
            Notification.cancelled_at,
            items.label("items"),
            *(_present(name, group) for name, group in GROUPS.items()),
        ).where(Notification.id.in_(ids))
    )
    now = utcnow()
    for notification_id, current, cancelled_at, in_app, *flags in rows:
        present: set[str] = set()
        for group, flag in zip(GROUPS.values(), flags, strict=True):
            present |= group if flag else set()
        wanted = status_of(present, in_app=bool(in_app), cancelled=cancelled_at is not None)
        if wanted != current:
            await session.execute(
                update(NOTIFICATIONS)
                .where(NOTIFICATIONS.c.id == notification_id)
                .values(status=wanted, updated_at=now)
            )
