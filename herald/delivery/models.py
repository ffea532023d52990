"""The deliveries table: one message to send on an external channel (the outbox rows).

Written by the notifications feature in the accepting transaction; the delivery pipeline
claims due rows with a lease (``status``, ``due_at``, ``leased_until``) and extends the table.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from herald.db import Base, new_id, utcnow
from herald.delivery.status import DeliveryStatus


class Delivery(Base):
    """One recipient on one external channel (email, sms, push, webhook, letter)."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_due_at", "status", "due_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    recipient: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(32), default=DeliveryStatus.CREATED.value)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    leased_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(255))
    test: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
