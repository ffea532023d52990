"""Received text messages as ``GET /v2/received-text-messages`` lists them: the SMS feature's
received messages (``herald.sms.inbound``), in the terms Notify uses for them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from herald.sms.inbound import list_received


@dataclass(frozen=True)
class ReceivedText:
    """One incoming message: who sent it, to which of the account's numbers, and what."""

    id: uuid.UUID
    service_id: uuid.UUID
    created_at: datetime
    user_number: str
    notify_number: str
    content: str


async def received_page(
    session: AsyncSession, *, account_id: uuid.UUID, older_than: uuid.UUID | None, limit: int
) -> list[ReceivedText]:
    """The account's received messages, newest first, received before ``older_than``."""
    rows = await list_received(session, account_id=account_id, older_than=older_than, limit=limit)
    return [
        ReceivedText(
            row.id, row.account_id, row.created_at, row.from_number, row.to_number, row.body
        )
        for row in rows
    ]
