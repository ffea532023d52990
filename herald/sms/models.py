"""Tables of the SMS gateway: sender names with their approval state, allowance charges and
received messages."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from herald.db import Base, new_id, utcnow


class SmsSender(Base):
    """A sender name an account registered; only an ``approved`` one may be used."""

    __tablename__ = "sms_senders"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(11))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class SmsCharge(Base):
    """The segments one SMS delivery holds of its account's monthly allowance.

    ``state`` is ``reserved`` at accept, ``committed`` once sent and ``released`` when it
    failed for good; the month's use is the sum of what is not released.
    """

    __tablename__ = "sms_charges"
    __table_args__ = (Index("ix_sms_charges_account_period", "account_id", "period"),)

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    """The UTC calendar month charged, ``YYYY-MM``."""
    segments: Mapped[int]
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReceivedMessage(Base):
    """A text message someone sent to one of the account's numbers, as its provider gave it.

    ``provider_message_id`` (Twilio's ``MessageSid``) is unique per account and provider, so
    a webhook the provider posts again is kept once; SMPP gives messages no id.
    """

    __tablename__ = "received_messages"
    __table_args__ = (
        UniqueConstraint("account_id", "provider", "provider_message_id"),
        Index("ix_received_messages_account_id_id", "account_id", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(64))
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    from_number: Mapped[str] = mapped_column(String(32))
    """The sender: a number in E.164 when it is one."""
    to_number: Mapped[str] = mapped_column(String(32))
    """The account's number (or short code) it was sent to."""
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
