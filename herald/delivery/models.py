"""Tables of the delivery pipeline: deliveries (the outbox rows), their attempts, status
callbacks (endpoint and queued jobs) and the providers an account configures.

Deliveries are written by the notifications feature in the accepting transaction; the
worker claims due rows with a lease. Status callbacks are jobs of their own table that
share the queue columns (``Queued``), so one claim, lease and retry policy serves both.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from herald.db import Base, JSONType, new_id, utcnow
from herald.delivery.status import DeliveryStatus


class Queued:
    """The columns a queued job needs: its status, when it is due, its lease and attempts.

    A claimed job's ``due_at`` is its lease's end, so "due" alone finds both new work and
    work whose worker died (see ``herald.delivery.queue``).
    """

    status: Mapped[str] = mapped_column(String(32), default=DeliveryStatus.CREATED.value)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    leased_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(255))
    first_attempt_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Delivery(Queued, Base):
    """One recipient on one external channel (email, sms, push, webhook, letter)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_due_at", "status", "due_at"),
        # A notification's deliveries, and which statuses they have (one probe each).
        Index("ix_deliveries_notification_status", "notification_id", "status"),
        # Frequency caps count a recipient's recent deliveries of one category.
        Index("ix_deliveries_user_category_created", "user_id", "category", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    recipient: Mapped[dict[str, Any]]
    test: Mapped[bool] = mapped_column(default=False)
    provider: Mapped[str | None] = mapped_column(String(64))
    template_id: Mapped[str | None] = mapped_column(String(255))
    template_version: Mapped[int | None]
    template_account_id: Mapped[uuid.UUID | None]
    """The account whose template was rendered (None for a system default)."""
    template_row_id: Mapped[uuid.UUID | None]
    """The template row whose ``template_version`` was checked at accept: what is rendered."""
    rendered: Mapped[dict[str, Any] | None]
    """What was sent (subject, text/html, text/plain, sender and recipients...), for the log."""
    receipt: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    possible_duplicate: Mapped[bool] = mapped_column(default=False, server_default=false())
    document_id: Mapped[str | None] = mapped_column(String(64))
    """A letter's PDF in the document store (``GET /v1/deliveries/{id}/pdf``)."""
    sent_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]
    category: Mapped[str | None] = mapped_column(String(255))
    """The notification's category (its template's ``category``, else its type), for rules."""
    reason: Mapped[str | None] = mapped_column(String(32))
    """Why a ``skipped`` delivery was not sent (``herald.rules``)."""
    mandatory: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Sent whatever preferences say; such an email carries no unsubscribe link."""
    digest_key: Mapped[str | None] = mapped_column(String(512))
    """Set on a digest's delivery (the first event's): what gathers the later events."""
    digest_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    escalation: Mapped[str | None] = mapped_column(String(16))
    """An escalation's condition (``read``, ``seen``, ``actioned``): when the worker claims the
    delivery and the in-app item meets it, the delivery ends ``skipped``."""
    """On an event folded into a digest (``skipped``, ``digested``): the digest's delivery."""


class DeliveryAttempt(Base):
    """One attempt at a delivery and the provider's answer, in order; never rewritten
    (retention only empties ``provider_response``)."""

    __tablename__ = "delivery_attempts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(64))
    provider_response: Mapped[dict[str, Any] | None]
    possible_duplicate: Mapped[bool] = mapped_column(default=False)


class CallbackEndpoint(Base):
    """Where an account wants its status callbacks, which events, and the signing secret."""

    __tablename__ = "callback_endpoints"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSONType, default=list)
    format: Mapped[str] = mapped_column(String(16), default="standard", server_default="standard")
    """``standard`` (Standard Webhooks, signed) or ``notify`` (GOV.UK Notify's receipts)."""
    secret: Mapped[str] = mapped_column(Text)
    """The ``whsec_`` secret (or, for the ``notify`` format, the bearer token), encrypted with
    the deployment's key (``herald.delivery.sealing``)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CallbackJob(Queued, Base):
    """One status callback to POST: the event and its body, queued like a delivery."""

    __tablename__ = "callback_jobs"
    __table_args__ = (Index("ix_callback_jobs_status_due_at", "status", "due_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    last_response: Mapped[dict[str, Any] | None]


class AccountProvider(Base):
    """A provider an account configured for one channel; ``settings`` are sealed."""

    __tablename__ = "account_providers"
    __table_args__ = (UniqueConstraint("account_id", "channel", "provider"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(64))
    settings: Mapped[str] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
