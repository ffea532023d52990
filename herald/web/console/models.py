"""The console's one table: signed-in sessions, kept server side.

The browser holds only a random session token (in an ``HttpOnly`` cookie); the row keeps its
SHA-256 and the key it signed in with, never the key itself. Revoking the key ends every
session opened with it (the row goes with the key, and each page checks the key is live).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from herald.db import Base, new_id, utcnow


class ConsoleSession(Base):
    """One signed-in browser: which key it acts with, until when."""

    __tablename__ = "console_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
