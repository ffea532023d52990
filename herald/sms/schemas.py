"""Request and answer bodies of the SMS gateway (seed 004 shapes)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from herald.delivery.models import Delivery
from herald.inbox.schemas import rfc3339
from herald.sms.models import ReceivedMessage, SmsSender

NO_NUL = r"^[^\x00]*$"


class MessageBody(BaseModel):
    """The message: its text, where it is sent from (``endpoint``: ``Reception#<sender id>``,
    ``Employee#<external id>``, a sender name or a number), and whether to hide the number."""

    model_config = ConfigDict(extra="forbid")
    # No NUL character: PostgreSQL stores none in text or JSON (the fuzz found one, a 500).
    body: str = Field(min_length=1, max_length=1600, pattern=NO_NUL)
    endpoint: str | None = Field(default=None, min_length=1, max_length=300, pattern=NO_NUL)
    from_number_hidden: StrictBool = False


class MessageIn(BaseModel):
    """``POST /v1/users/{external_id}/message`` and ``/v1/teams/{key}/message``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"message": {"body": "Your viewing is confirmed for 10am tomorrow."}}]
        },
        extra="forbid",
    )
    message: MessageBody


class MessagesIn(MessageIn):
    """``POST /v1/messages``: the message and the numbers (with or without ``+``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "message": {
                        "body": "Your viewing is confirmed for 10am tomorrow.",
                        "endpoint": "Acme",
                    },
                    "to_numbers": ["4571999999"],
                }
            ]
        }
    )

    to_numbers: list[str | int] = Field(min_length=1, max_length=1000)


def sender_document(sender: SmsSender) -> dict[str, Any]:
    """A sender name and where it stands."""
    return {
        "id": str(sender.id),
        "name": sender.name,
        "status": sender.status,
        "reason": sender.reason,
        "created_at": rfc3339(sender.created_at),
        "decided_at": rfc3339(sender.decided_at) if sender.decided_at else None,
    }


def received_document(message: ReceivedMessage) -> dict[str, Any]:
    """One received SMS as ``GET /v1/messages?direction=incoming`` lists it."""
    return {
        "id": str(message.id),
        "direction": "incoming",
        "from": message.from_number,
        "to": message.to_number,
        "body": message.body,
        "provider": message.provider,
        "provider_message_id": message.provider_message_id,
        "created_at": rfc3339(message.created_at),
    }


def message_document(delivery: Delivery) -> dict[str, Any]:
    """One SMS as ``GET /v1/messages`` lists it (its text is gone once purged)."""
    rendered = delivery.rendered or {}
    return {
        "id": str(delivery.id),
        "direction": "outgoing",
        "notification_id": str(delivery.notification_id),
        "to": rendered.get("to") or delivery.recipient.get("phone"),
        "body": rendered.get("body"),
        "endpoint": rendered.get("endpoint"),
        "sender": rendered.get("sender"),
        "from_number_hidden": bool(rendered.get("from_number_hidden")),
        "segments": rendered.get("segments"),
        "encoding": rendered.get("encoding"),
        "status": delivery.status,
        "receipt": delivery.receipt,
        "created_at": rfc3339(delivery.created_at),
        "sent_at": rfc3339(delivery.sent_at) if delivery.sent_at else None,
        "completed_at": rfc3339(delivery.completed_at) if delivery.completed_at else None,
    }
