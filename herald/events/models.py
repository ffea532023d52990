"""Tables of the notification catalogue: the types an account registers for itself."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from herald.db import Base, JSONType, new_id, utcnow


class NotificationType(Base):
    """A ``type``/``subType`` an account registered, with the JSON Schema of its payload."""

    __tablename__ = "notification_types"
    __table_args__ = (
        UniqueConstraint("account_id", "type", "sub_type", name="uq_notification_types_name"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    sub_type: Mapped[str] = mapped_column(String(255))
    payload_schema: Mapped[dict[str, Any]]
    realtime: Mapped[bool] = mapped_column(default=True)
    channels: Mapped[list[str]] = mapped_column(JSONType)
    macros: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rules: Mapped[dict[str, Any] | None]
    """Delivery rules of the type (``mandatory``, ``frequency_cap``; ``herald.rules``)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
