"""Received text messages as ``GET /v2/received-text-messages`` lists them.

Storing incoming SMS (each provider's inbound route) belongs to the SMS feature; this module
is the one place the dialect reads them, so it is the seam where that storage plugs in: a
page of the account's received messages, newest first, after ``older_than``. Until Herald
keeps received messages there are none, and the route answers Notify's empty page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession


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
    """The account's received messages, newest first (none are stored yet)."""
    del session, account_id, older_than, limit
    return []
