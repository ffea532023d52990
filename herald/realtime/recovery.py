"""Reading users' event streams back from the database: the only source of what is pushed.

Live pushes, resumes and the recovery after a bus reconnect are one operation: "the events of
these users after these sequence numbers", in one query for many users.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.inbox.models import InboxEvent, InboxItem, UserInboxSeq
from herald.notifications.models import Notification
from herald.realtime.frames import Event

# SQLite parses ``a OR b OR ...`` as a tree at most 1000 deep; stay well under it.
USERS_PER_QUERY = 400


def _products(value: Any) -> frozenset[str] | None:
    return frozenset(value) if value else None


async def events_after(
    session: AsyncSession, positions: Mapping[uuid.UUID, int], *, limit: int
) -> dict[uuid.UUID, list[Event]]:
    """Each user's events numbered above their position, in order; ``limit`` rows at most.

    The products are those of the envelope behind the item (an item's latest notification);
    ``count`` events have no item and reach every product.
    """
    if not positions:
        return {}
    if len(positions) > USERS_PER_QUERY:
        raise ValueError(f"at most {USERS_PER_QUERY} users per query")
    wanted = or_(*(and_(InboxEvent.user_id == u, InboxEvent.seq > p) for u, p in positions.items()))
    rows = await session.execute(
        select(
            InboxEvent.user_id,
            InboxEvent.seq,
            InboxEvent.event,
            InboxEvent.payload,
            Notification.products,
        )
        .outerjoin(InboxItem, InboxItem.id == InboxEvent.item_id)
        .outerjoin(Notification, Notification.id == InboxItem.notification_id)
        .where(wanted)
        .order_by(InboxEvent.user_id, InboxEvent.seq)
        .limit(limit)
    )
    found: dict[uuid.UUID, list[Event]] = {}
    for user_id, seq, event, payload, products in rows:
        found.setdefault(user_id, []).append(Event(seq, event, payload, _products(products)))
    return found


async def head(session: AsyncSession, user_id: uuid.UUID) -> int:
    """The last sequence number given to ``user_id`` (0 before the first event)."""
    seq = await session.scalar(select(UserInboxSeq.seq).where(UserInboxSeq.user_id == user_id))
    return int(seq or 0)
