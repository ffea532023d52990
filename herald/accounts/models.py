"""Tables of the tenants tree, API keys and the server's own secrets."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from herald.db import Base, JSONType, new_id, utcnow


class Account(Base):
    """A tenant. ``path`` is the materialised chain of ids from the root (``/a/b/c/``)."""

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    path: Mapped[str] = mapped_column(String(4000), index=True)
    rate_limit: Mapped[str | None] = mapped_column(String(64))
    daily_limit: Mapped[int | None]
    sms_allowance: Mapped[int | None]
    retention_days: Mapped[int] = mapped_column(default=7)
    default_locale: Mapped[str] = mapped_column(String(35), default="en")
    default_region: Mapped[str | None] = mapped_column(String(2))
    """Where national phone numbers (without a country code) are read (``GB``)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def ancestor_ids(self) -> list[uuid.UUID]:
        """Ids from the root down to the parent (nearest last)."""
        return ancestors_in(self.path)


def ancestors_in(path: str) -> list[uuid.UUID]:
    """The ancestors a materialised path names, from the root down to the parent."""
    return [uuid.UUID(p) for p in path.strip("/").split("/")[:-1]]


class ApiKey(Base):
    """A server key of one account. Only a SHA-256 of the key is kept; the key is shown once.

    A GOV.UK Notify-format key (``notify_type`` set) signs its requests' JWTs with its secret,
    so the server must be able to read the secret back: it is kept sealed
    (``herald.delivery.sealing``) in ``secret``, and never answered again.
    """

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255), default="")
    prefix: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSONType)
    test: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    notify_type: Mapped[str | None] = mapped_column(String(8))
    """``live``, ``team`` or ``test`` for a Notify-format key; None for Herald's own keys."""
    secret: Mapped[str | None] = mapped_column(Text)
    """A Notify-format key's JWT signing secret, sealed under the deployment's key."""


class ServerSecret(Base):
    """Secrets Herald makes for itself (the JWT signing key), shared by every process."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(512))
