"""Migrations: one head, sequential names, and the database reaches the head."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, inspect

from herald.config import Settings
from herald.db import create_engine
from herald.migrate import MIGRATIONS, alembic_config, current_revision, head_revisions, upgrade
from herald.models import metadata
from tests.conftest import settings_for
from tests.support.postgres import throwaway_database


def test_there_is_exactly_one_head() -> None:
    assert len(head_revisions()) == 1


def test_migration_files_are_numbered_in_sequence() -> None:
    names = sorted(p.name for p in (MIGRATIONS / "versions").glob("*.py"))
    numbers = [int(re.match(r"(\d{4})_", n).group(1)) for n in names]  # type: ignore[union-attr]
    assert numbers == list(range(1, len(numbers) + 1))


async def test_database_is_at_head_with_every_table(settings: Settings, db) -> None:  # type: ignore[no-untyped-def]
    assert await current_revision(settings) == head_revisions()[0]
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(c.dialect.get_table_names(c)))
    assert set(metadata.tables) <= names


async def _inbox_indexes(settings: Settings) -> set[str]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(lambda c: inspect(c).get_indexes("inbox_items"))
    finally:
        await engine.dispose()
    return {index["name"] for index in found if index["name"]}


async def _downgrade(settings: Settings, revision: str) -> None:
    engine = create_engine(settings)
    config = alembic_config()

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own, migrated to head, on each backend."""
    if request.param == "postgres":
        async with throwaway_database("herald_migrate") as url:
            yield url
        return
    url = f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}"
    await upgrade(settings_for(url))
    yield url


async def test_0016_drops_the_unseen_index_and_its_downgrade_restores_it(fresh_url: str) -> None:
    settings = settings_for(fresh_url)
    assert "ix_inbox_items_unseen" not in await _inbox_indexes(settings)
    assert "ix_inbox_items_unread" in await _inbox_indexes(settings)
    await _downgrade(settings, "0015")
    assert await current_revision(settings) == "0015"
    assert "ix_inbox_items_unseen" in await _inbox_indexes(settings)
    await upgrade(settings)
    assert await current_revision(settings) == head_revisions()[0]
    assert "ix_inbox_items_unseen" not in await _inbox_indexes(settings)
