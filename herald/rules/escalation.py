"""Escalation: a later channel only if the in-app item was not read / seen / actioned in time.

At planning, each escalated row is due at ``after`` and keeps its condition (``escalation``).
When a worker claims it, ``not_needed`` reads the recipients' inbox items from the database
(one statement for the batch) and the rows whose item meets the condition end ``skipped``
(``escalation_not_needed``) without a send. Nothing is held in memory, so it works across
processes and restarts: whichever worker claims the row decides, from the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.delivery.models import Delivery
from herald.inbox.models import InboxItem, InboxItemHistory
from herald.rules.durations import parse_duration

NOT_NEEDED = "escalation_not_needed"


def steps_of(configured: Iterable[Mapping[str, Any]] | None) -> dict[str, tuple[timedelta, str]]:
    """channel → (after, unless) of an envelope's or type's ``escalation``."""
    return {
        str(step["channel"]): (parse_duration(str(step["after"])), str(step.get("unless", "read")))
        for step in configured or ()
    }


def escalate(row: dict[str, Any], steps: Mapping[str, tuple[timedelta, str]]) -> None:
    """Make a planned row of an escalated channel wait ``after`` and keep its condition."""
    step = steps.get(row["channel"])
    if step is not None and row["user_id"] is not None:
        after, unless = step
        row["due_at"] = row["due_at"] + after
        row["escalation"] = unless


def _met(unless: str, item: Any) -> bool:
    if item.withdrawn_at is not None:
        return True  # withdrawn (someone else took the call): nothing left to escalate
    if unless == "actioned":
        return item.action_status is not None
    if unless == "seen":
        return item.seen_at is not None or item.read_at is not None
    return item.read_at is not None


async def not_needed(session: AsyncSession, deliveries: Iterable[Delivery]) -> set[uuid.UUID]:
    """The escalated deliveries whose in-app item already meets their condition."""
    waiting = [d for d in deliveries if d.escalation and d.user_id is not None]
    if not waiting:
        return set()
    found = await session.execute(
        select(
            InboxItemHistory.notification_id,
            InboxItem.user_id,
            InboxItem.read_at,
            InboxItem.seen_at,
            InboxItem.action_status,
            InboxItem.withdrawn_at,
        )
        .join(InboxItem, InboxItem.id == InboxItemHistory.item_id)
        .where(InboxItemHistory.notification_id.in_({d.notification_id for d in waiting}))
    )
    items = {(row.notification_id, row.user_id): row for row in found}
    done = set()
    for delivery in waiting:
        item = items.get((delivery.notification_id, delivery.user_id))
        if item is not None and _met(str(delivery.escalation), item):
            done.add(delivery.id)
    return done
