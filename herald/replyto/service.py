"""Registering, listing and removing reply-to addresses; finding one by id. Never commits."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.errors import NotFound
from herald.replyto.models import EmailReplyTo


async def add(session: AsyncSession, *, account_id: uuid.UUID, email_address: str) -> EmailReplyTo:
    """Register an address (already normalised) for the account."""
    row = EmailReplyTo(account_id=account_id, email_address=email_address)
    session.add(row)
    await session.flush()
    return row


async def find(
    session: AsyncSession, *, account_id: uuid.UUID, reply_to_id: uuid.UUID
) -> EmailReplyTo | None:
    """The account's address with this id, if it has one (another account's is never found)."""
    found: EmailReplyTo | None = await session.scalar(
        select(EmailReplyTo).where(
            EmailReplyTo.id == reply_to_id, EmailReplyTo.account_id == account_id
        )
    )
    return found


async def get(
    session: AsyncSession, *, account_id: uuid.UUID, reply_to_id: uuid.UUID
) -> EmailReplyTo:
    """The account's address with this id, or 404."""
    found = await find(session, account_id=account_id, reply_to_id=reply_to_id)
    if found is None:
        raise NotFound("No such reply-to address")
    return found


async def list_all(session: AsyncSession, *, account_id: uuid.UUID) -> list[EmailReplyTo]:
    """The account's addresses, oldest first."""
    rows = await session.scalars(
        select(EmailReplyTo).where(EmailReplyTo.account_id == account_id).order_by(EmailReplyTo.id)
    )
    return list(rows)


async def remove(session: AsyncSession, *, account_id: uuid.UUID, reply_to_id: uuid.UUID) -> None:
    """Remove the account's address (404 when it has none with this id)."""
    await session.delete(await get(session, account_id=account_id, reply_to_id=reply_to_id))
    await session.flush()
