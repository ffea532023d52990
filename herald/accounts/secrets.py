"""The JWT signing secret: from settings when given, else the one migration 0001 made."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import ServerSecret
from herald.config import Settings

SIGNING_KEY = "jwt_signing_key"


async def load_signing_key(session: AsyncSession, settings: Settings) -> str:
    """The key every process of this deployment signs and checks tokens with."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    stored = await session.scalar(
        select(ServerSecret.value).where(ServerSecret.name == SIGNING_KEY)
    )
    if stored is None:
        raise RuntimeError("The database has no signing key: run `herald migrate` first")
    return stored
