"""Applying Alembic migrations from code (the CLI, ``serve``, tests) on the app's own engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from herald.config import Settings
from herald.db import create_engine
from herald.templates.system import sync_system_templates

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revisions() -> tuple[str, ...]:
    """The head revision(s) of the migration scripts (there must be exactly one)."""
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def revisions_after(revision: str | None) -> list[str]:
    """The migrations above ``revision`` (all of them from None), oldest first, as
    ``0004 delivery pipeline: ...``."""
    script = ScriptDirectory.from_config(alembic_config())
    above = script.iterate_revisions("heads", revision or "base")
    return [f"{r.revision} {(r.doc or '').strip()}".strip() for r in reversed(list(above))]


async def upgrade_reporting(settings: Settings) -> list[str]:
    """Upgrade to the head and say which migrations that applied (none when up to date)."""
    before = await current_revision(settings)
    await upgrade(settings)
    return revisions_after(before)


async def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the database named by the settings to ``revision``."""
    # A migration may rewrite a large table: no statement timeout for it.
    engine = create_engine(settings.model_copy(update={"database_statement_timeout": 0}))
    config = alembic_config()

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
        # The system default templates ship as files; the database follows them.
        async with AsyncSession(engine) as session, session.begin():
            await sync_system_templates(session)
    finally:
        await engine.dispose()


async def current_revision(settings: Settings) -> str | None:
    """The revision the database is at, or None before the first migration."""
    engine = create_engine(settings)

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    try:
        async with engine.connect() as conn:
            return await conn.run_sync(read)
    finally:
        await engine.dispose()
