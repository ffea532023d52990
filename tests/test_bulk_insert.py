"""Driver rows on SQLite: what SQLAlchemy would have written."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, func, insert, select
from sqlalchemy.dialects import sqlite

from herald.bulk_insert import insert_rows
from herald.db import Database, JSONType, UTCDateTime, new_id
from tests.conftest import settings_for

metadata = MetaData()
THINGS = Table(
    "things",
    metadata,
    Column("id", sqlite.CHAR(32), primary_key=True),
    Column("ref", Uuid(), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("doc", JSONType, nullable=False),
    Column("n", Integer, nullable=False, server_default="7"),
    Column("kind", String(16), default="plain"),
)
WITH_SQL_DEFAULT = Table(
    "with_sql_default",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("stamp", String(32), default=func.lower("X")),
)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[Database, Path]]:
    path = tmp_path / "bulk.db"
    database = Database(settings_for(f"sqlite+aiosqlite:///{path}"))
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield database, path
    await database.dispose()


def _rows() -> list[dict[str, Any]]:
    shared = new_id()
    now = datetime(2026, 12, 6, 23, 0, 0, tzinfo=UTC)
    return [
        {"id": "a", "ref": shared, "at": now, "doc": {"x": [1, 2]}, "kind": "k"},
        {"id": "b", "ref": shared, "at": now, "kind": "k"},  # differs in keys: refused below
    ]


async def test_rows_are_stored_as_sqlalchemy_stores_them(
    database: tuple[Database, Path],
) -> None:
    db, path = database
    shared = new_id()
    plus_two = timezone(timedelta(hours=2))
    at = [
        datetime(2026, 12, 6, 23, 0, 0, tzinfo=UTC),  # no microseconds: still six digits
        datetime(2026, 12, 6, 23, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 12, 7, 1, 0, 0, 5, tzinfo=plus_two),  # another zone: converted to UTC
    ]
    ours = [
        {"id": f"o{n}", "ref": shared, "at": a, "doc": {"n": n}, "kind": "k"}
        for n, a in enumerate(at)
    ]
    theirs = [{**row, "id": f"s{row['id'][1:]}"} for row in ours]
    async with db.sessions() as session, session.begin():
        await insert_rows(session, THINGS, ours)
        await session.execute(insert(THINGS), theirs)
    raw = sqlite3.connect(path)
    try:
        stored = {row[0]: row[1:] for row in raw.execute("SELECT * FROM things")}
    finally:
        raw.close()
    for n in range(len(at)):
        assert stored[f"o{n}"] == stored[f"s{n}"]
    assert stored["o0"][1] == "2026-12-06 23:00:00.000000"
    assert stored["o2"][1] == "2026-12-06 23:00:00.000005"
    assert stored["o0"][3:] == (7, "k")  # n: the server's default, which no row names
    async with db.sessions() as session:
        read = (await session.execute(select(THINGS).where(THINGS.c.id == "o1"))).one()
    assert read.ref == shared and read.at == at[1] and read.doc == {"n": 1}


async def test_what_sqlalchemy_must_bind_or_cannot_take_is_not_guessed(
    database: tuple[Database, Path],
) -> None:
    db, _ = database
    async with db.sessions() as session, session.begin():
        with pytest.raises(ValueError, match="same columns"):
            await insert_rows(session, THINGS, _rows())
        with pytest.raises(ValueError, match="not columns"):
            await insert_rows(session, THINGS, [{"id": "c", "kind": "k", "nope": 1}])
        with pytest.raises(ValueError, match="naive"):
            await insert_rows(
                session,
                THINGS,
                [{"id": "d", "ref": uuid.uuid4(), "at": datetime(2026, 1, 1), "kind": "k"}],
            )
        # A column default to apply: SQLAlchemy's own insert applies it.
        await insert_rows(session, WITH_SQL_DEFAULT, [{"id": 1}, {"id": 2}])
        stamps = await session.execute(select(WITH_SQL_DEFAULT.c.stamp))
        assert stamps.scalars().all() == ["x", "x"]
        left_out = {"id": "e", "ref": uuid.uuid4(), "at": datetime.now(UTC), "doc": {}}
        await insert_rows(session, THINGS, [left_out, {**left_out, "id": "f"}])
        kinds = await session.execute(select(THINGS.c.kind).where(THINGS.c.id.in_(["e", "f"])))
        assert kinds.scalars().all() == ["plain", "plain"]
