"""Throwaway PostgreSQL databases for tests: created, migrated, and dropped afterwards."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from herald.config import Settings
from herald.migrate import upgrade

ADMIN_DSN = os.environ.get("HERALD_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def asyncpg_url(dsn: str, database: str) -> str:
    """The SQLAlchemy URL of ``database`` on the server of ``dsn``."""
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def throwaway_database(prefix: str = "herald_test") -> AsyncIterator[str]:
    """A fresh database migrated to head; yields its SQLAlchemy URL and drops it at the end."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = asyncpg_url(ADMIN_DSN, name)
    try:
        await upgrade(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
