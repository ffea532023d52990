"""Tables of the directory: users (recipients), teams and their members, devices."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, String, Table, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from herald.db import Base, new_id, utcnow

team_members = Table(
    "team_members",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_team_members_user_id", "user_id"),
)


class User(Base):
    """A recipient, known to the tenant by its own external id (e.g. a CRM negotiator id)."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("account_id", "external_id", name="uq_users_account_external"),
        Index("ix_users_account_admin", "account_id", "admin"),
        # Whose a raw address or number is (``herald.rules.owners``), migration 0015.
        Index("ix_users_account_email_lower", "account_id", text("lower(email)")),
        Index("ix_users_account_phone", "account_id", "phone"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str | None] = mapped_column(String(35))
    timezone: Mapped[str | None] = mapped_column(String(64))
    admin: Mapped[bool] = mapped_column(default=False)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def display_name(self) -> str | None:
        """``name``, else the first and last names, else None."""
        names = (self.first_name, self.last_name)
        return self.name or " ".join(n for n in names if n) or None


class Team(Base):
    """A group of users (a team, a hunt group) addressed by a key the tenant chooses."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("account_id", "key", name="uq_teams_account_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Device(Base):
    """A push target of one user: an APNs/FCM token or a Web Push subscription."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("account_id", "token", name="uq_devices_account_token"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token: Mapped[str] = mapped_column(String(1024))
    type: Mapped[str] = mapped_column(String(16), default="iOS")
    subscription: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
