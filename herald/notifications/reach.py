"""Push and webhook deliveries reach more than one place: one delivery per device of a user
(APNs for iOS, FCM for Android, Web Push for web), one per webhook endpoint whose types
match the notification's.

A user with no device keeps the one delivery, which the worker ends ``permanent-failure``
("the user has no registered device"), so the log says why nothing was pushed. A
notification no endpoint takes writes no webhook delivery: there is nowhere to send it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.db import new_id
from herald.directory.models import Device
from herald.endpoints.models import WebhookEndpoint
from herald.notifications.models import Notification

CHUNK = 5000


def matches(patterns: Iterable[str], type_: str, sub_type: str) -> bool:
    """Whether an endpoint's ``types`` (``telephony/*``, ``custom/message``, ``*``) take it."""
    name = f"{type_}/{sub_type}"
    return any(fnmatchcase(name, pattern) for pattern in patterns)


async def expand(session: AsyncSession, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with push rows split per device and webhook rows per matching endpoint."""
    pushes = [row["user_id"] for row in rows if row["channel"] == "push" and row["user_id"]]
    devices = await _devices(session, pushes) if pushes else {}
    hooks = {row["notification_id"] for row in rows if row["channel"] == "webhook"}
    endpoints = await _endpoints(session, hooks) if hooks else {}
    expanded: list[dict[str, Any]] = []
    for row in rows:
        if row["channel"] == "push" and devices.get(row["user_id"]):
            expanded += [_copy(row, **device) for device in devices[row["user_id"]]]
        elif row["channel"] == "webhook":
            expanded += [
                _copy(row, webhook=name) for name in endpoints.get(row["notification_id"], [])
            ]
        else:
            expanded.append(row)
    return expanded


def _copy(row: dict[str, Any], **recipient: str) -> dict[str, Any]:
    return {**row, "id": new_id(), "recipient": {**row["recipient"], **recipient}}


async def _devices(
    session: AsyncSession, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, str]]]:
    found: dict[uuid.UUID, list[dict[str, str]]] = {}
    for start in range(0, len(user_ids), CHUNK):
        rows = await session.execute(
            select(Device.user_id, Device.token, Device.type)
            .where(Device.user_id.in_(user_ids[start : start + CHUNK]))
            .order_by(Device.id)
        )
        for user_id, token, platform in rows:
            found.setdefault(user_id, []).append({"device": token, "platform": platform})
    return found


async def _endpoints(
    session: AsyncSession, notification_ids: set[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """The names of the active endpoints that take each notification, by notification id."""
    found: dict[uuid.UUID, list[str]] = {}
    notifications = await session.execute(
        select(
            Notification.id, Notification.account_id, Notification.type, Notification.sub_type
        ).where(Notification.id.in_(notification_ids))
    )
    for notification_id, account_id, type_, sub_type in notifications:
        endpoints = await session.execute(
            select(WebhookEndpoint.name, WebhookEndpoint.types)
            .where(WebhookEndpoint.account_id == account_id, WebhookEndpoint.disabled_at.is_(None))
            .order_by(WebhookEndpoint.name)
        )
        found[notification_id] = [
            name for name, types in endpoints if matches(types, type_, sub_type)
        ]
    return found
