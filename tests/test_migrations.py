"""Migrations: one head, sequential names, and the database reaches the head."""

from __future__ import annotations

import re

from herald.config import Settings
from herald.migrate import MIGRATIONS, current_revision, head_revisions
from herald.models import metadata


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
