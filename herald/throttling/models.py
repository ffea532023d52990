"""The table of daily message counts: one row per account per UTC day."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from herald.db import Base


class DailyUsage(Base):
    """How many messages an account was charged on one UTC day (``YYYY-MM-DD``)."""

    __tablename__ = "daily_usage"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    messages: Mapped[int] = mapped_column(BigInteger)
