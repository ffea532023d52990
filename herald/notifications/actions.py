"""Actions on a notification as a whole, taken by the sending service (seed 003's ``PATCH
/notifications/{id}``): an append-only audit trail, the feedback callback, and erasure.

Beside the per-recipient actions of the inbox (``herald.inbox.service.act``), these record
what an officer did about the notification itself: approved an estimate, saw a missed
payment. ``IsRead`` also marks its inbox items read. A notification that requires an action
cannot be erased until one (other than ``IsRead``) is recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from herald.bus import Bus
from herald.channels.letter.store import DocumentStore
from herald.db import utcnow
from herald.delivery.callbacks.service import action_data, enqueue_callback
from herald.errors import Conflict
from herald.inbox import events as inbox_events
from herald.inbox.models import InboxItem, InboxItemHistory
from herald.inbox.schemas import ActionIn, ActionType
from herald.notifications import service
from herald.notifications.models import Notification, NotificationAction
from herald.retention.notifications import purge_deliveries

PURGE_ALL = 10_000  # a notification's deliveries, all at once: a handful of channels


@dataclass(frozen=True)
class ActionState:
    """What a notification's actions add up to: the latest, and whether it was read."""

    latest: NotificationAction | None
    read: bool
    actioned: bool
    """An action other than ``IsRead`` was recorded (what ``requireAction`` waits for)."""

    def removable(self, notification: Notification) -> bool:
        """Whether it may be erased: it needs no action, or got one."""
        return not notification.require_action or self.actioned


def state_of(actions: Sequence[NotificationAction], *, items_read: bool = False) -> ActionState:
    """The state of a notification from its actions, oldest first."""
    return ActionState(
        latest=actions[-1] if actions else None,
        read=items_read or any(a.action_type == ActionType.IS_READ.value for a in actions),
        actioned=any(a.action_type != ActionType.IS_READ.value for a in actions),
    )


async def actions_of(
    session: AsyncSession, notification_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[NotificationAction]]:
    """The actions of each notification, oldest first (one statement)."""
    found: dict[uuid.UUID, list[NotificationAction]] = {n: [] for n in notification_ids}
    if not notification_ids:
        return found
    rows = await session.scalars(
        select(NotificationAction)
        .where(NotificationAction.notification_id.in_(list(notification_ids)))
        .order_by(NotificationAction.notification_id, NotificationAction.id)
    )
    for row in rows:
        found[row.notification_id].append(row)
    return found


async def read_by_someone(
    session: AsyncSession, notification_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """The notifications one of whose inbox items a recipient has read."""
    if not notification_ids:
        return set()
    rows = await session.scalars(
        select(InboxItemHistory.notification_id)
        .join(InboxItem, InboxItem.id == InboxItemHistory.item_id)
        .where(
            InboxItemHistory.notification_id.in_(list(notification_ids)),
            InboxItem.read_at.is_not(None),
        )
        .distinct()
    )
    return set(rows)


async def act(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    notification_id: uuid.UUID,
    actor: str,
    action: ActionIn,
    bus: Bus,
) -> Notification:
    """Record an action on the notification, tell the sender's callback; 404 if not theirs."""
    found = await service.get_notification(
        session, account_id=account_id, notification_id=notification_id
    )
    now = utcnow()
    session.add(
        NotificationAction(
            account_id=account_id,
            notification_id=found.id,
            action_type=action.actionType.value,
            action_note=action.actionNote,
            performed_by=actor,
            performed_at=now,
        )
    )
    if action.actionType is ActionType.IS_READ:
        await _read_items(session, account_id=account_id, notification_id=found.id, bus=bus)
    data = action_data(
        notification_id=found.id, item_id=None, recipient=None,
        action_type=action.actionType.value, action_note=action.actionNote, performed_by=actor,
        performed_at=now,
    )  # fmt: skip
    await enqueue_callback(
        session, account_id=account_id, event="notification.action", data=data, bus=bus
    )
    await session.flush()
    return found


async def _read_items(
    session: AsyncSession, *, account_id: uuid.UUID, notification_id: uuid.UUID, bus: Bus
) -> None:
    """Mark the notification's unread items read; their owners' counts drop."""
    touched = select(InboxItemHistory.item_id).where(
        InboxItemHistory.notification_id == notification_id
    )
    now = utcnow()
    result = await session.execute(
        update(InboxItem)
        .where(
            InboxItem.account_id == account_id,
            InboxItem.id.in_(touched),
            InboxItem.read_at.is_(None),
        )
        .values(read_at=now, seen_at=now)
        .returning(InboxItem.user_id)
    )
    users = list(dict.fromkeys(result.scalars()))
    events = await inbox_events.count_events(session, user_ids=users, reason="read")
    await inbox_events.append_events(session, account_id=account_id, events=events, bus=bus)


async def erase(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    notification_id: uuid.UUID,
    documents: DocumentStore,
    bus: Bus,
) -> None:
    """Remove the notification at once, with what could name a person (its deliveries'
    content, letters' PDFs, inbox items); 409 while it still awaits its required action."""
    found = await service.get_notification(
        session, account_id=account_id, notification_id=notification_id
    )
    actions = (await actions_of(session, [found.id]))[found.id]
    if not state_of(actions).removable(found):
        raise Conflict("This notification requires an action first: it cannot be removed")
    await service.cancel(session, account_id=account_id, notification_id=found.id, bus=bus)
    await purge_deliveries(session, [found.id], documents=documents, now=utcnow(), limit=PURGE_ALL)
    await session.execute(
        delete(Notification)
        .where(Notification.id == found.id)
        .execution_options(synchronize_session=False)
    )
    session.expunge(found)
