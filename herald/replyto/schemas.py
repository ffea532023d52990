"""Request and answer bodies of reply-to addresses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from herald.directory.contact import Email
from herald.inbox.schemas import rfc3339
from herald.replyto.models import EmailReplyTo


class ReplyToIn(BaseModel):
    """``POST /v1/email-reply-to``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email_address": "replies@example.com"}]}
    )
    email_address: Email


def reply_to_document(row: EmailReplyTo) -> dict[str, Any]:
    """``{"id", "email_address", "created_at"}``."""
    return {
        "id": str(row.id),
        "email_address": row.email_address,
        "created_at": rfc3339(row.created_at),
    }
