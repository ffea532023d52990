"""Request bodies and answers of the delivery routes (API.md "Deliveries and logs", "Providers")."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from herald.delivery.models import AccountProvider, CallbackEndpoint, Delivery, DeliveryAttempt
from herald.inbox.schemas import rfc3339
from herald.rules.schemas import DUE_AT, REASON


class CallbackIn(BaseModel):
    """``PUT /v1/callbacks``: signed Standard Webhooks, or GOV.UK Notify's receipts with a
    bearer token (at least 10 characters, as Notify asks)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://example.com/herald/callbacks",
                    "events": [
                        "delivery.delivered",
                        "delivery.permanent-failure",
                        "notification.action",
                    ],
                }
            ]
        },
        extra="forbid",
    )

    url: Annotated[str, Field(min_length=1, max_length=2048)]
    events: Annotated[list[str], Field(min_length=1, max_length=64)] | None = None
    format: Literal["standard", "notify"] = "standard"
    bearer_token: Annotated[str, Field(min_length=10, max_length=2048)] | None = None


class ProviderIn(BaseModel):
    """``PUT /v1/providers/{channel}/{provider}``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "settings": {"url": "smtp://user:password@smtp.example.com:587?starttls=true"},
                    "priority": 1,
                    "active": True,
                }
            ]
        },
        extra="forbid",
    )

    settings: dict[str, Any]
    priority: Annotated[StrictInt, Field(ge=0, le=1000)] = 1
    active: StrictBool = True


class AttemptOut(BaseModel):
    """One try at handing a message to a provider."""

    at: str
    outcome: str
    provider_response: dict[str, Any] | None


class DeliveryOut(BaseModel):
    """One message to one recipient on one channel, and what became of it."""

    id: uuid.UUID
    notification_id: uuid.UUID
    recipient: dict[str, Any]
    channel: str
    provider: str | None
    status: str = Field(
        description="created, sending, delivered, temporary-failure, permanent-failure, "
        "technical-failure, cancelled or skipped"
    )
    reason: str | None = Field(default=None, description=REASON)
    due_at: str | None = Field(default=None, description=DUE_AT)
    attempts: list[AttemptOut]
    receipt: str | None
    template_id: str | None
    template_version: int | None
    possible_duplicate: bool
    test: bool
    created_at: str
    sent_at: str | None
    completed_at: str | None
    purged_at: str | None
    rendered: dict[str, Any] | None = Field(
        default=None, description="subject, text/html, text/plain...; null once purged"
    )


def attempt_document(attempt: DeliveryAttempt) -> dict[str, Any]:
    """One attempt as the log shows it: when, the outcome, the provider's answer."""
    return {
        "at": rfc3339(attempt.at),
        "outcome": attempt.outcome,
        "provider_response": attempt.provider_response,
    }


def delivery_document(
    delivery: Delivery, attempts: list[DeliveryAttempt], *, rendered: bool = True
) -> dict[str, Any]:
    """A delivery as ``GET /v1/deliveries/{id}`` shows it (callbacks leave out ``rendered``)."""
    document: dict[str, Any] = {
        "id": str(delivery.id),
        "notification_id": str(delivery.notification_id),
        "recipient": delivery.recipient,
        "channel": delivery.channel,
        "provider": delivery.provider,
        "status": delivery.status,
        "reason": delivery.reason,
        "due_at": rfc3339(delivery.due_at),
        "attempts": [attempt_document(a) for a in attempts],
        "receipt": delivery.receipt,
        "template_id": delivery.template_id,
        "template_version": delivery.template_version,
        "template_account_id": (
            str(delivery.template_account_id) if delivery.template_account_id else None
        ),
        "possible_duplicate": delivery.possible_duplicate,
        "test": delivery.test,
        "created_at": rfc3339(delivery.created_at),
        "sent_at": rfc3339(delivery.sent_at),
        "completed_at": rfc3339(delivery.completed_at),
        "purged_at": rfc3339(delivery.purged_at),
    }
    if rendered:
        document["rendered"] = delivery.rendered
    return document


def callback_document(endpoint: CallbackEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    """The account's callback endpoint; the secret only when it was just made (a bearer
    token is never answered)."""
    document: dict[str, Any] = {
        "url": endpoint.url,
        "events": endpoint.events,
        "format": endpoint.format,
    }
    if secret is not None:
        document["secret"] = secret
    return document


def provider_document(row: AccountProvider, settings: dict[str, Any]) -> dict[str, Any]:
    """One of the account's providers, with ``settings`` already masked."""
    return {
        "channel": row.channel,
        "provider": row.provider,
        "settings": settings,
        "priority": row.priority,
        "active": row.active,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
    }
