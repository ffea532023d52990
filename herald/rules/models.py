"""The preferences table: an account's defaults and each recipient's own choices."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from herald.db import Base, utcnow

ACCOUNT = "account"
"""The ``subject`` of an account's own defaults (a user's row names the user's id)."""


class Preference(Base):
    """One preferences document (API.md "Preferences and delivery rules") of an account's
    defaults (``subject`` = ``account``) or of one of its users (``subject`` = the user's id)."""

    __tablename__ = "preferences"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    document: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
