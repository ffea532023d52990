"""SQLite under asyncio, as Herald runs it: pragmas, ``BEGIN IMMEDIATE``, one trip per statement.

SQLAlchemy's aiosqlite adapter reaches SQLite through aiosqlite's worker thread, and every
call (cursor, execute, fetch, close, begin, commit) is a trip there: two thread switches and
two GIL handovers, ~45 us of CPU, more than a small statement costs SQLite itself. Here each
statement makes one trip, with its ``BEGIN IMMEDIATE`` when it opens a transaction, and a
commit or rollback with nothing open makes none. Inside ``deferred_inserts`` an ``INSERT``
that returns nothing makes no trip of its own either: it rides with the next statement, or
with the flush at the scope's end.

This reaches into aiosqlite's connection (``_conn``, ``_execute``, ``_thread``), which is why
pyproject.toml pins aiosqlite to the minor version it was written and tested against
(docs/decisions/0004-sqlite-one-trip-per-statement.md); tests/test_db.py covers it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any, cast

import aiosqlite
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

Deferred = list[tuple[str, Any]]
"""``executemany`` calls not run yet: their SQL and their sets of parameters, in order."""


def _pragmas(busy_timeout: float) -> Callable[[Any, Any], None]:
    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run beside the single writer; the busy timeout makes writers queue
        # instead of failing (past it, herald.db_faults answers 503); Python's sqlite3 must
        # not open transactions behind our back.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA busy_timeout={round(busy_timeout * 1000)}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
        ):
            cursor.execute(pragma)
        cursor.close()

    return set_pragmas


class _OneTripCursor:
    """An aiosqlite cursor, as SQLAlchemy's adapter uses it, that makes one trip to the
    connection's thread per statement: it opens a sqlite3 cursor, executes, fetches every row
    and closes there, and answers ``fetch*`` from what it brought back.

    aiosqlite's own cursor makes a trip for each of ``cursor()``, ``execute()``,
    ``fetchall()`` and ``close()``, and each trip is two thread switches and two GIL
    handovers: ~40 us of CPU on one core, 3-4 per statement, more than the statement costs
    SQLite. SQLAlchemy fetches every row of a non-streaming result at once anyway, and
    Herald streams none.
    """

    def __init__(self, connection: _OneTripConnection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> _OneTripCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._rows.clear()

    def _in_thread(
        self, run: Callable[[sqlite3.Cursor], object], deferred: Deferred
    ) -> tuple[Any, ...]:
        # aiosqlite's ``_conn`` is the sqlite3 connection, used only from its thread (here).
        connection = self._connection
        cursor = connection._conn.cursor()
        try:
            _begin_and_run_deferred(connection, cursor, deferred)
            run(cursor)
            rows = cursor.fetchall() if cursor.description else []
            return cursor.description, cursor.rowcount, cursor.lastrowid, rows
        finally:
            connection.transaction_open = connection._conn.in_transaction
            cursor.close()

    async def _trip(self, run: Callable[[sqlite3.Cursor], object]) -> _OneTripCursor:
        # ``_execute`` queues a call on the connection's thread, as aiosqlite's cursor does.
        queue = cast(Callable[..., Awaitable[tuple[Any, ...]]], self._connection._execute)
        done = await queue(self._in_thread, run, self._connection.take_deferred())
        self.description, self.rowcount, self.lastrowid, rows = done
        self._rows = deque(rows)
        return self

    async def execute(self, sql: str, parameters: Any = None) -> _OneTripCursor:
        """Run one statement and bring back all its rows."""
        arguments = () if parameters is None else parameters
        return await self._trip(lambda cursor: cursor.execute(sql, arguments))

    async def executemany(self, sql: str, parameters: Any) -> _OneTripCursor:
        """Run one statement for each set of parameters; inside ``deferred_inserts`` an
        ``INSERT`` without ``RETURNING`` is only queued, its row count unknown (-1)."""
        connection = self._connection
        if connection.deferring and _returns_nothing(sql):
            connection.deferred.append((sql, parameters))
            self.description, self.rowcount, self.lastrowid = None, -1, None
            self._rows.clear()
            return self
        return await self._trip(lambda cursor: cursor.executemany(sql, parameters))

    async def fetchone(self) -> Any:
        """The next row, or None."""
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to ``size`` (else ``arraysize``) of the remaining rows."""
        count = min(self.arraysize if size is None else size, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Any]:
        """Every remaining row."""
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        """Nothing is left open in SQLite: drop the rows."""
        self._rows.clear()


def _returns_nothing(sql: str) -> bool:
    """Whether ``sql`` is an ``INSERT`` that brings nothing back (so nothing waits on it)."""
    return sql.lstrip()[:6].upper() == "INSERT" and "RETURNING" not in sql.upper()


def _begin_and_run_deferred(
    connection: _OneTripConnection, cursor: sqlite3.Cursor, deferred: Deferred
) -> None:
    """In SQLite's thread: the pending ``BEGIN IMMEDIATE``, then the deferred inserts, in the
    order they were sent, before whatever the trip came for."""
    if connection.begin_pending:
        connection.begin_pending = False
        cursor.execute("BEGIN IMMEDIATE")
    for sql, parameters in deferred:
        try:
            cursor.executemany(sql, parameters)
        except sqlite3.Error as failed:
            # SQLAlchemy reports the statement of the trip this one rode with.
            failed.add_note(f"raised by a deferred statement: {sql[:200]}")
            raise


class _OneTripConnection(aiosqlite.Connection):
    """aiosqlite's connection, whose cursors make one trip per statement.

    ``BEGIN IMMEDIATE`` rides with the transaction's first statement (``begin_pending``), and
    a commit or rollback with no transaction open in SQLite makes no trip: the pool's rollback
    of every connection it gets back, after a commit, was a trip that did nothing. While
    ``deferring``, inserts that return nothing wait in ``deferred`` for the next trip.
    """

    begin_pending = False
    """``BEGIN IMMEDIATE`` is due before the next statement."""
    transaction_open = False
    """Whether SQLite had a transaction open after the last trip (read in its thread)."""
    deferring = False
    """Whether inserts that return nothing are queued (``deferred_inserts``)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self.deferred: Deferred = []
        """Inserts queued, run first by the next trip (and before a commit)."""

    def take_deferred(self) -> Deferred:
        """The queued inserts, for the trip about to go; none are left queued."""
        deferred, self.deferred = self.deferred, []
        return deferred

    def cursor(self) -> _OneTripCursor:  # type: ignore[override]
        """A cursor for SQLAlchemy's adapter (which enters it with ``async with``)."""
        return _OneTripCursor(self)

    async def commit(self) -> None:
        """Commit the open transaction, if a statement opened one (the queued inserts run
        first, in the same trip)."""
        await self._end(sqlite3.Connection.commit, self.take_deferred())

    async def rollback(self) -> None:
        """Roll the open transaction back, if a statement opened one; queued inserts never
        run."""
        self.deferred = []
        await self._end(sqlite3.Connection.rollback, [])

    async def _end(self, end: Callable[[sqlite3.Connection], None], deferred: Deferred) -> None:
        if not deferred:
            self.begin_pending = False
            if not self.transaction_open:
                return

        def in_thread() -> None:
            cursor = self._conn.cursor()
            try:
                _begin_and_run_deferred(self, cursor, deferred)
                end(self._conn)
            finally:
                self.transaction_open = self._conn.in_transaction
                cursor.close()

        await cast(Callable[..., Awaitable[None]], self._execute)(in_thread)


def _one_trip_connection(database: str, **kwargs: Any) -> _OneTripConnection:
    # What aiosqlite.connect does, with our connection class; SQLAlchemy awaits it.
    connection = _OneTripConnection(partial(sqlite3.connect, database, **kwargs), 64)
    connection._thread.daemon = True  # as SQLAlchemy sets it for aiosqlite's own
    return connection


def _sqlite_one_trip(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
    # SQLAlchemy's aiosqlite adapter calls ``async_creator_fn`` with the URL's arguments.
    cparams["async_creator_fn"] = _one_trip_connection


def _sqlite_begin_immediate(conn: Any) -> None:
    # A deferred transaction that later writes can fail at once with "database is locked"
    # when another writer got there first; taking the write lock up front makes it wait.
    # It is sent with the transaction's first statement, in the same trip to SQLite's thread.
    driver = conn.connection.driver_connection
    if isinstance(driver, _OneTripConnection):
        driver.begin_pending = True
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextlib.asynccontextmanager
async def deferred_inserts(session: AsyncSession) -> AsyncIterator[None]:
    """Within the block, the session's SQLite inserts that return nothing (``executemany``
    calls) make no trip of their own: each rides, in order, with the next statement sent (a
    read sees them), and those still queued at the block's end run there, in one trip, so
    that their errors are raised inside it. Elsewhere than on our SQLite driver, nothing
    changes.

    A deferred insert's error is raised by the statement it rode with, wrapped by SQLAlchemy
    (and ``herald.db_faults``) as that statement's would be, with its text; the error's notes
    name the deferred one. The block's flush is its last queued insert, sent through
    SQLAlchemy for that wrapping (so a statement counter sees that insert twice). If the block
    raises, what is queued stays queued: a rollback drops it, a commit would run it first.
    """
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    if not isinstance(driver, _OneTripConnection):
        yield
        return
    driver.deferring = True
    try:
        yield
    finally:
        driver.deferring = False
    if driver.deferred:
        sql, parameters = driver.deferred.pop()
        await connection.exec_driver_sql(sql, parameters)


def adapt(engine: AsyncEngine, *, busy_timeout: float) -> None:
    """Make ``engine``'s SQLite connections one-trip, WAL, foreign-keyed and ``BEGIN IMMEDIATE``;
    a writer waits up to ``busy_timeout`` seconds for the write lock."""
    event.listen(engine.sync_engine, "do_connect", _sqlite_one_trip)
    event.listen(engine.sync_engine, "connect", _pragmas(busy_timeout))
    event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
