"""Digests: one recipient's events with the same key, within a window, sent as one delivery.

The first event's delivery (per recipient and external channel) is the digest: it is written
with ``digest_key`` and due when the window ends, a timer row the worker claims like any due
delivery. Later events within the window are written ``skipped`` (``digested``) pointing at it
(``digest_id``). When the worker composes the digest it reads those events from the database
(``events_of``), so nothing is kept in memory and a restart loses nothing. A digest holding
``max`` events is made due at once, and the next event starts a new one. The inbox gets every
item as usual.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from herald.delivery.models import Delivery
from herald.delivery.status import DeliveryStatus
from herald.notifications.models import Notification
from herald.rules.durations import parse_duration

CHUNK = 5000
MARGIN = timedelta(seconds=5)
"""A digest this close to its end takes no more events: a worker may be composing it (a
quarter of the window for windows under 20 seconds)."""
DIGESTED = "digested"


@dataclass(frozen=True)
class DigestRule:
    """A notification's digest: the key (``<scope>:<field>=<value>``), window and size."""

    key: str
    window: timedelta
    max: int


def rule_of(
    config: Mapping[str, Any] | None, *, scope: str, payload: Mapping[str, Any]
) -> DigestRule | None:
    """The digest a type's or template's ``digest`` makes of this payload; None when there is
    none or the payload lacks the key's field (such an event goes alone)."""
    if not config or config.get("key") not in payload:
        return None
    field = str(config["key"])
    return DigestRule(
        key=f"{scope}:{field}={payload[field]}"[:512],
        window=parse_duration(str(config["window"])),
        max=int(config.get("max", 50)),
    )


async def fold(
    session: AsyncSession, rows: list[dict[str, Any]], rule: DigestRule, *, now: datetime
) -> list[dict[str, Any]]:
    """Join each row to its recipient's open digest on its channel, or open one with it.

    Returns the rows folded into a digest (the caller marks them skipped). Two statements per
    5000 recipients find the open digests and how full they are; one more makes full ones due.
    """
    open_digests = await _open(session, rows, rule, now=now)
    folded: list[dict[str, Any]] = []
    full: list[uuid.UUID] = []
    for row in rows:
        found = open_digests.get((row["user_id"], row["channel"]))
        if found is not None and found[1] < rule.max:
            row["digest_id"] = found[0]
            open_digests[(row["user_id"], row["channel"])] = (found[0], found[1] + 1)
            if found[1] + 1 == rule.max:
                full.append(found[0])
            folded.append(row)
        else:
            row["digest_key"] = rule.key
            row["due_at"] = max(row["due_at"], now) + rule.window
            open_digests[(row["user_id"], row["channel"])] = (row["id"], 1)
    for start in range(0, len(full), CHUNK):
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(full[start : start + CHUNK]))
            .values(due_at=now, updated_at=now)
        )
    return folded


async def _open(
    session: AsyncSession, rows: list[dict[str, Any]], rule: DigestRule, *, now: datetime
) -> dict[tuple[uuid.UUID, str], tuple[uuid.UUID, int]]:
    """(recipient, channel) → (the open digest's delivery, events it holds)."""
    users = list({row["user_id"] for row in rows})
    found: dict[tuple[uuid.UUID, str], tuple[uuid.UUID, int]] = {}
    for start in range(0, len(users), CHUNK):
        leaders = await session.execute(
            select(Delivery.id, Delivery.user_id, Delivery.channel).where(
                Delivery.user_id.in_(users[start : start + CHUNK]),
                Delivery.digest_key == rule.key,
                Delivery.status == DeliveryStatus.CREATED.value,
                Delivery.due_at > now + min(MARGIN, rule.window / 4),
            )
        )
        by_id = {lid: (uid, channel) for lid, uid, channel in leaders if uid is not None}
        if not by_id:
            continue
        counts = dict(
            (
                await session.execute(
                    select(Delivery.digest_id, func.count())
                    .where(Delivery.digest_id.in_(list(by_id)))
                    .group_by(Delivery.digest_id)
                )
            ).all()
        )
        for lid, place in by_id.items():
            held = 1 + int(counts.get(lid, 0))
            if place not in found or held < found[place][1]:
                found[place] = (lid, held)
    return found


def _event(notification: Notification) -> dict[str, Any]:
    return {
        "id": str(notification.id),
        "type": notification.type,
        "subType": notification.sub_type,
        "payload": dict(notification.payload or {}),
        "message": notification.message,
        "created_at": notification.created_at.isoformat(),
    }


async def events_of(session: AsyncSession, delivery: Delivery) -> list[dict[str, Any]] | None:
    """A digest's events, oldest first (its own notification's, then those folded into it);
    None for a delivery that is no digest."""
    if delivery.digest_key is None:
        return None
    ids = [delivery.notification_id]
    ids += list(
        await session.scalars(
            select(Delivery.notification_id)
            .where(Delivery.digest_id == delivery.id)
            .order_by(Delivery.created_at, Delivery.id)
        )
    )
    notifications = {
        n.id: n for n in await session.scalars(select(Notification).where(Notification.id.in_(ids)))
    }
    return [_event(notifications[i]) for i in ids if i in notifications]


async def digested(
    session: AsyncSession, delivery: Delivery, personalisation: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The personalisation a delivery renders with: a digest's adds ``events`` and ``count``
    (every other render sees itself as a digest of one, ``herald.templates.compose``)."""
    values = dict(personalisation or {})
    events = await events_of(session, delivery)
    if events is not None:
        values.setdefault("events", events)
        values.setdefault("count", len(events))
    return values
