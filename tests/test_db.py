"""SQLite through SQLAlchemy with one trip to the connection's thread per statement."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.exc import IntegrityError

from herald import db as db_module
from herald.db import Database
from herald.sqlite_driver import deferred_inserts
from tests.conftest import settings_for
from tests.support.postgres import throwaway_database


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite database with one small table, through Herald's engine."""
    database = Database(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'one-trip.db'}"))
    async with database.sessions() as session, session.begin():
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    yield database
    await database.dispose()


async def test_rows_counts_and_returning_come_back_from_one_trip_each(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips: list[Any] = []
    queue = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(fn)
        return await queue(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    async with sqlite_db.sessions() as session:
        async with session.begin():
            await session.execute(
                text("INSERT INTO t (id, v) VALUES (:id, :v)"),
                [{"id": n, "v": f"v{n}"} for n in range(1, 6)],
            )
            returned = await session.execute(
                text("INSERT INTO t (id, v) VALUES (6, 'v6') RETURNING id, v")
            )
            assert returned.all() == [(6, "v6")]
            updated = await session.execute(text("UPDATE t SET v = v || '!' WHERE id > 3"))
            assert updated.rowcount == 3  # type: ignore[attr-defined]
            rows = await session.execute(text("SELECT id, v FROM t ORDER BY id"))
            assert [tuple(r) for r in rows] == [
                (1, "v1"), (2, "v2"), (3, "v3"), (4, "v4!"), (5, "v5!"), (6, "v6!")
            ]  # fmt: skip
            assert len(trips) == 4  # BEGIN rode with the first; cursor, fetch and close too
        # The commit; the pool's rollback of the returned connection has nothing to undo.
        assert len(trips) == 5


async def test_the_write_lock_is_taken_with_the_first_statement(
    sqlite_db: Database, tmp_path: Path
) -> None:
    async with sqlite_db.sessions() as session, session.begin():
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 0
        other = sqlite3.connect(tmp_path / "one-trip.db", timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
    async with sqlite_db.sessions() as session, session.begin():  # released by the commit
        await session.execute(text("INSERT INTO t (id, v) VALUES (1, 'after')"))


async def test_errors_surface_and_roll_the_transaction_back(sqlite_db: Database) -> None:
    async with sqlite_db.sessions() as session, session.begin():
        await session.execute(text("INSERT INTO t (id, v) VALUES (1, 'same')"))

    async def clash() -> None:
        async with sqlite_db.sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t (id, v) VALUES (2, 'other')"))
            await session.execute(text("INSERT INTO t (id, v) VALUES (3, 'same')"))

    with pytest.raises(IntegrityError):
        await clash()
    async with sqlite_db.sessions() as session:
        assert (await session.execute(text("SELECT id FROM t"))).scalars().all() == [1]


def _count_trips(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    trips: list[Any] = []
    queue = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(fn)
        return await queue(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return trips


async def test_deferred_inserts_ride_with_the_next_read_in_order(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = _count_trips(monkeypatch)
    insert = text("INSERT INTO t (id, v) VALUES (:id, :v)")
    async with sqlite_db.sessions() as session:
        async with session.begin():
            async with deferred_inserts(session):
                await session.execute(insert, [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}])
                await session.execute(insert, [{"id": 3, "v": "c"}, {"id": 4, "v": "d"}])
                assert trips == []  # BEGIN IMMEDIATE waits with them
                # A read sees what was sent before it: the inserts ran first, in its trip.
                seen = await session.execute(text("SELECT id FROM t ORDER BY id"))
                assert seen.scalars().all() == [1, 2, 3, 4]
                assert len(trips) == 1
                await session.execute(insert, [{"id": 5, "v": "e"}, {"id": 6, "v": "f"}])
                await session.execute(insert, [{"id": 7, "v": "g"}, {"id": 8, "v": "h"}])
                assert len(trips) == 1
            assert len(trips) == 2  # the block's end ran both, in one trip
            # Outside the block an insert makes its own trip again.
            await session.execute(insert, [{"id": 9, "v": "i"}, {"id": 10, "v": "j"}])
            assert len(trips) == 3
        assert len(trips) == 4  # the commit
    async with sqlite_db.sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 10


async def test_a_deferred_insert_fails_inside_the_block(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert = text("INSERT INTO t (id, v) VALUES (:id, :v)")
    async with sqlite_db.sessions() as session:
        async with session.begin():
            await session.execute(insert, [{"id": 1, "v": "same"}])
        with pytest.raises(IntegrityError) as failed:  # noqa: PT012 - raised by the block's end
            async with session.begin(), deferred_inserts(session):
                await session.execute(insert, [{"id": 2, "v": "x"}, {"id": 3, "v": "same"}])
                await session.execute(insert, [{"id": 4, "v": "y"}, {"id": 5, "v": "z"}])
        assert any("deferred statement" in note for note in failed.value.orig.__notes__)  # type: ignore[union-attr]
        # A read in the block raises the deferred insert's error itself.
        with pytest.raises(IntegrityError):  # noqa: PT012
            async with session.begin(), deferred_inserts(session):
                await session.execute(insert, [{"id": 6, "v": "w"}, {"id": 7, "v": "same"}])
                await session.execute(text("SELECT count(*) FROM t"))
        # Each failed transaction was rolled back whole, queued inserts with it.
        assert (await session.execute(text("SELECT id FROM t"))).scalars().all() == [1]
    trips = _count_trips(monkeypatch)
    async with sqlite_db.sessions() as session:
        with pytest.raises(RuntimeError):  # noqa: PT012
            async with session.begin(), deferred_inserts(session):
                await session.execute(insert, [{"id": 8, "v": "p"}, {"id": 9, "v": "q"}])
                raise RuntimeError
        assert trips == []  # never begun in SQLite: the rollback dropped the insert unsent
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 1


async def test_a_commit_runs_what_is_still_queued_first(sqlite_db: Database) -> None:
    async with sqlite_db.sessions() as session, session.begin():
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        driver.deferring = True  # type: ignore[union-attr]
        await session.execute(
            text("INSERT INTO t (id, v) VALUES (:id, :v)"),
            [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}],
        )
        driver.deferring = False  # type: ignore[union-attr]
        assert driver.deferred  # type: ignore[union-attr]
    async with sqlite_db.sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 2


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A throwaway PostgreSQL database: the pool's pings are PostgreSQL's alone."""
    async with throwaway_database("herald_pool") as url:
        yield url


@pytest.fixture
async def postgres_db(postgres_url: str) -> AsyncIterator[Database]:
    """Herald's engine on a throwaway PostgreSQL database."""
    database = Database(settings_for(postgres_url))
    yield database
    await database.dispose()


async def _backend_pid(database: Database) -> int:
    async with database.sessions() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_postgresql_connection_in_steady_use_is_not_pinged(
    postgres_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    ping = AsyncAdapt_asyncpg_connection.ping
    monkeypatch.setattr(
        AsyncAdapt_asyncpg_connection, "ping", lambda self: (pings.append(self), ping(self))[1]
    )
    first = await _backend_pid(postgres_db)
    assert await _backend_pid(postgres_db) == first and pings == []
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 0.0)
    assert await _backend_pid(postgres_db) == first and len(pings) == 1


async def test_a_rested_postgresql_connection_that_died_is_replaced_unseen(
    postgres_db: Database, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = await _backend_pid(postgres_db)
    killer = Database(settings_for(postgres_url))
    try:
        async with killer.sessions() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead})
    finally:
        await killer.dispose()
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 0.0)
    assert await _backend_pid(postgres_db) != dead
