"""Tables of the inbox: items, their history, the audit trail, and the real-time event log.

Every list and count reads a partial index on ``(user_id, account_id, id)`` restricted to
visible rows, so withdrawn items cost nothing (see docs/architecture.md, "Inbox and notification
indexes"). Each index also lists the columns of its own ``WHERE``: they are always NULL in it,
but SQLite only counts from an index alone (a covering index) when every column the query names
is in it, and it has no statistics to prefer the smaller partial index otherwise.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from herald.db import Base, JSONType, new_id, utcnow

VISIBLE = text("withdrawn_at IS NULL")
UNREAD = text("withdrawn_at IS NULL AND read_at IS NULL")
VISIBLE_COLUMNS = ("user_id", "account_id", "id", "withdrawn_at")
UNREAD_COLUMNS = ("user_id", "account_id", "id", "withdrawn_at", "read_at")


class InboxItem(Base):
    """What one user sees of one notification, or of one correlated chain of them."""

    __tablename__ = "inbox_items"
    __table_args__ = (
        Index("uq_inbox_items_chain", "account_id", "correlation_id", "user_id", unique=True),
        Index(
            "ix_inbox_items_visible",
            *VISIBLE_COLUMNS,
            postgresql_where=VISIBLE,
            sqlite_where=VISIBLE,
        ),
        Index(
            "ix_inbox_items_unread",
            *UNREAD_COLUMNS,
            postgresql_where=UNREAD,
            sqlite_where=UNREAD,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(64))
    sub_type: Mapped[str] = mapped_column(String(255))
    correlation_id: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]]
    message: Mapped[str | None] = mapped_column(Text)
    message_formatted: Mapped[str | None] = mapped_column(Text)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    require_action: Mapped[bool] = mapped_column(default=False)
    action_status: Mapped[str | None] = mapped_column(String(16))
    read_at: Mapped[datetime | None]
    seen_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxItemHistory(Base):
    """Each notification of a chain that touched an item (its payload lives on the notification)."""

    __tablename__ = "inbox_item_history"

    item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inbox_items.id", ondelete="CASCADE"), primary_key=True
    )
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    sub_type: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxAudit(Base):
    """One action on an item: append-only, never updated (who did what, when)."""

    __tablename__ = "inbox_audit"
    __table_args__ = (Index("ix_inbox_audit_item_id_id", "item_id", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inbox_items.id", ondelete="CASCADE"))
    action_type: Mapped[str] = mapped_column(String(16))
    action_note: Mapped[str | None] = mapped_column(Text)
    performed_by: Mapped[str] = mapped_column(String(300))
    performed_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxEvent(Base):
    """One change to a user's inbox, numbered per user, for real-time push and resume."""

    __tablename__ = "inbox_events"
    __table_args__ = (Index("ix_inbox_events_created_at", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[uuid.UUID | None]
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserInboxSeq(Base):
    """The last event number given to a user (bumped with an upsert ``RETURNING``, row lock),
    and the user's unread and unseen numbers.

    The numbers are kept by triggers on ``inbox_items`` (migration 0014), in the transaction of
    every change to an item, so they are never written here and never drift from the items.
    """

    __tablename__ = "user_inbox_seq"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    unread: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    unseen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
