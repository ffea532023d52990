"""Tables of accepted notifications and of the idempotency keys that guard their creation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from herald.db import Base, JSONType, new_id, utcnow

UNPURGED = text("purged_at IS NULL")


class Notification(Base):
    """One accepted event: its envelope, as sent, and what became of it."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_account_id_id", "account_id", "id"),
        Index("ix_notifications_account_correlation", "account_id", "correlation_id"),
        Index("ix_notifications_account_reference", "account_id", "reference"),
        Index("ix_notifications_account_about", "account_id", "about_id"),
        # Retention's next batch: only notifications not purged yet are in it.
        Index(
            "ix_notifications_unpurged_created_at",
            "created_at",
            postgresql_where=UNPURGED,
            sqlite_where=UNPURGED,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key_id: Mapped[uuid.UUID | None]
    test: Mapped[bool] = mapped_column(default=False)
    type: Mapped[str] = mapped_column(String(64))
    sub_type: Mapped[str] = mapped_column(String(255))
    products: Mapped[list[str]] = mapped_column(JSONType)
    targets: Mapped[dict[str, Any]]
    channels: Mapped[list[str]] = mapped_column(JSONType)
    payload: Mapped[dict[str, Any]]
    message: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str | None] = mapped_column(String(255))
    require_action: Mapped[bool] = mapped_column(default=False)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    template: Mapped[str | None] = mapped_column(String(255))
    template_parts: Mapped[dict[str, Any] | None]
    """Channel parts the notification brings itself (a broadcast's inline document), rendered
    over its template's for every recipient."""
    personalisation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(32), default="queued")
    """What its deliveries add up to (``herald.notifications.progress``)."""
    recipients: Mapped[int] = mapped_column(default=0)
    scheduled_at: Mapped[datetime | None]
    reference: Mapped[str | None] = mapped_column(String(1000))
    """The sender's own reference for it (GOV.UK Notify's ``reference``), to find it by."""
    about_id: Mapped[str | None] = mapped_column(String(255))
    """The business entity the notification is about (seed 003's ``targetId``: a missed
    payment, an estimate), to find its notifications by."""
    about_type: Mapped[str | None] = mapped_column(String(255))
    """What kind of entity ``about_id`` names (seed 003's ``targetType``)."""
    sent_by: Mapped[str | None] = mapped_column(String(320))
    """The person who sent it (seed 003's ``user``, an officer), as the sender names them."""
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """How its deliveries are sent, beyond the template: ``reply_to`` (an email address),
    ``sms_sender``, ``unsubscribe_url`` (RFC 8058 headers), ``postage``, ``precompiled``."""
    cancelled_at: Mapped[datetime | None]
    """When ``DELETE /v1/notifications/{id}`` cancelled it."""
    purged_at: Mapped[datetime | None]
    """When retention emptied it of personal data (``herald.retention``)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IdempotencyKey(Base):
    """A client's ``Idempotency-Key`` and the answer to replay, written with the work it
    answers (herald/notifications/idempotency.py)."""

    __tablename__ = "idempotency_keys"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    body: Mapped[str | None] = mapped_column(Text)
    # When the answer was stored. Earlier versions committed a claim apart from its request
    # and held it until this time; claims now live in the request's transaction.
    locked_until: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationAction(Base):
    """An action on a notification as a whole (a server acting for its service, not one
    recipient in their inbox): append-only, never updated."""

    __tablename__ = "notification_actions"
    __table_args__ = (Index("ix_notification_actions_notification_id_id", "notification_id", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE")
    )
    action_type: Mapped[str] = mapped_column(String(16))
    action_note: Mapped[str | None] = mapped_column(Text)
    performed_by: Mapped[str] = mapped_column(String(300))
    performed_at: Mapped[datetime] = mapped_column(default=utcnow)
