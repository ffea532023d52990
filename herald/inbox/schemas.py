"""Bodies of the inbox: the item document (API.md "Inbox"), actions and the audit entry."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from herald.http.pagination import Pagination
from herald.inbox.models import InboxAudit, InboxItem
from herald.notifications.models import NotificationAction

ITEM_COLUMNS = tuple(c.key for c in InboxItem.__table__.columns)


class ActionType(StrEnum):
    """The follow-on actions of seed 003."""

    INITIATED = "Initiated"
    APPROVED = "Approved"
    VALIDATE = "Validate"
    REJECTED = "Rejected"
    IS_READ = "IsRead"


class ActionIn(BaseModel):
    """``PATCH .../notifications/{id}``; seed 003 repeats the item's ``id`` in the body."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"actionType": "Approved", "actionNote": "Call back at 3pm"}]
        },
        extra="forbid",
    )
    id: str | None = Field(default=None, max_length=64)
    actionType: ActionType
    actionNote: str | None = Field(default=None, max_length=2000)


@lru_cache(maxsize=1024)
def rfc3339(value: datetime | None) -> str | None:
    """A UTC time as RFC 3339 with ``Z`` (API.md: times everywhere).

    Cached: a fan-out writes one document per recipient, all with the same timestamps.
    """
    return value.isoformat().replace("+00:00", "Z") if value else None


def item_values(item: InboxItem) -> dict[str, Any]:
    """An ORM item as the column mapping ``item_document`` takes."""
    return {name: getattr(item, name) for name in ITEM_COLUMNS}


class InboxItemOut(BaseModel):
    """One inbox item (also the ``data`` of real-time item events)."""

    id: uuid.UUID
    notification_id: uuid.UUID
    type: str
    subType: str
    data: dict[str, Any]
    message: str | None
    message_formatted: str | None
    read: bool
    read_at: str | None
    seen: bool
    actions: list[dict[str, Any]]
    requireAction: bool
    actionStatus: str | None
    correlationId: str | None
    created_at: str
    updated_at: str


class InboxPagination(Pagination):
    """An inbox page's place, and how many items are unread."""

    unread: int


class InboxPage(BaseModel):
    """A page of the inbox, newest first."""

    data: list[InboxItemOut]
    pagination: InboxPagination


class InboxCountOut(BaseModel):
    """How many items are unread and unseen."""

    unread: int
    unseen: int


class AuditEntryOut(BaseModel):
    """One action on an item."""

    actionType: str
    actionNote: str | None
    performedBy: str
    performedAt: str


def item_document(row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON of one item, from its column values; also the payload of real-time events."""
    return {
        "id": str(row["id"]),
        "notification_id": str(row["notification_id"]),
        "type": row["type"],
        "subType": row["sub_type"],
        "data": row["data"],
        "message": row["message"],
        "message_formatted": row["message_formatted"],
        "read": row["read_at"] is not None,
        "read_at": rfc3339(row["read_at"]),
        "seen": row["seen_at"] is not None,
        "actions": row["actions"],
        "requireAction": row["require_action"],
        "actionStatus": row["action_status"],
        "correlationId": row["correlation_id"],
        "created_at": rfc3339(row["created_at"]),
        "updated_at": rfc3339(row["updated_at"]),
    }


def audit_document(entry: InboxAudit | NotificationAction) -> dict[str, Any]:
    """One audit entry: who did what, when."""
    return {
        "actionType": entry.action_type,
        "actionNote": entry.action_note,
        "performedBy": entry.performed_by,
        "performedAt": rfc3339(entry.performed_at),
    }
