"""Database plumbing: engine, sessions, the declarative base and column types shared by features."""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, MetaData, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from herald import db_faults, sqlite_driver
from herald.config import Settings
from herald.errors import DatabaseUnavailable

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


RANDOM_BITS = 74  # a UUIDv7 is 48 bits of milliseconds, 6 of version and variant, 74 random
_last_id = (0, 0)  # the milliseconds and random bits of this process's latest id


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7, so that ids sort by creation and index well.

    Monotonic in a process (RFC 9562, method 2): within one millisecond the random part counts
    up from a random start. Written out rather than ``uuid6.uuid7()``, which made two UUID
    objects per id and was 8% of a 100,000-recipient fan-out.
    """
    global _last_id
    millis, bits = time.time_ns() // 1_000_000, secrets.randbits(RANDOM_BITS)
    last_millis, last_bits = _last_id
    if millis <= last_millis:
        millis, bits = last_millis, last_bits + 1
        if bits >> RANDOM_BITS:
            millis, bits = last_millis + 1, 0
    _last_id = (millis, bits)
    rand_a, rand_b = bits >> 62, bits & ((1 << 62) - 1)
    return uuid.UUID(int=millis << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """The usual conversion, remembering the last value: a bulk insert binds one timestamp
        object on every row (a fan-out, 100,000 of them), and converting it cost more than the
        statement. Datetimes are immutable, so the same object always gives the same value."""
        convert = super().bind_processor(dialect)
        if convert is None:
            return None
        if dialect.name == "sqlite" and _utc_text_agrees(convert):
            return remembering(_sqlite_utc_text(convert))
        return remembering(convert)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_PROBES = (datetime(2026, 12, 6, 23, 1, 2, 345678, tzinfo=UTC), datetime(999, 1, 2, tzinfo=UTC))


def _utc_text(value: datetime) -> str:
    """A UTC timestamp as SQLAlchemy's SQLite ``DATETIME`` stores it, in one C call."""
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _utc_text_agrees(convert: Callable[[Any], Any]) -> bool:
    """Whether ``_utc_text`` gives what SQLAlchemy's conversion gives (its storage format)."""
    return all(_utc_text(probe) == convert(probe) for probe in _PROBES)


def _sqlite_utc_text(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``UTCDateTime``'s conversion on SQLite: what ``datetime.now(UTC)`` and our reads give
    (exactly UTC) is formatted by ``_utc_text``, anything else (another zone, a naive value,
    None) goes through ``convert``. The zone juggling and SQLAlchemy's ``%``-formatting of
    seven fields were ~4% of the CPU of a group commit on SQLite (issue 19)."""

    def process(value: Any) -> Any:
        if value.__class__ is datetime and value.tzinfo is UTC:
            return _utc_text(value)
        return convert(value)

    return process


def remembering(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` of bound values, remembering its last value: a bulk insert binds one
    object (a timestamp, a user's id) on many rows in a row, and converting it again can cost
    more than the statement. The same object gives the same answer while nobody changes it:
    an immutable value, or a value the rows of one statement share."""
    last: tuple[Any, Any] = (None, None)

    def process(value: Any) -> Any:
        nonlocal last
        seen, converted = last  # one tuple, read and replaced whole
        if value is not None and value is seen:
            return converted
        converted = convert(value)
        last = (value, converted)
        return converted

    return process


class Base(DeclarativeBase):
    """Declarative base of every table; constraint names are stable for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSONType, datetime: UTCDateTime()}


def json_dumps(value: Any) -> str:
    """JSON columns' serialiser: orjson, several times faster than ``json`` on bulk inserts
    (every event of a fan-out carries a document); ``json`` for what orjson refuses (integers
    beyond 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def create_engine(settings: Settings) -> AsyncEngine:
    """An async engine for the configured URL, tuned for SQLite or PostgreSQL."""
    if settings.is_sqlite:
        # One connection per process: every transaction takes SQLite's single write lock
        # (BEGIN IMMEDIATE), so more connections only wait in SQLite's busy handler, which
        # sleeps up to 100 ms between tries and leaves the lock idle. Waiting for the pool
        # instead is an asyncio queue: first come, first served, handed over at once.
        engine = create_async_engine(
            settings.database_url,
            connect_args={"timeout": settings.database_timeout},
            pool_size=1,
            max_overflow=0,
            pool_timeout=settings.database_timeout,
            json_serializer=json_dumps,
        )
        sqlite_driver.adapt(engine, busy_timeout=settings.database_timeout)
        db_faults.install(engine)
        return engine
    # Every wait is bounded, so that a database that went away is a 503 within
    # database_timeout, never a request that hangs: connecting, waiting for a pooled
    # connection and (a server that stopped answering) each statement.
    statement_timeout = settings.database_statement_timeout or None
    engine = create_async_engine(
        settings.database_url,
        connect_args={"timeout": settings.database_timeout, "command_timeout": statement_timeout},
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_timeout=settings.database_timeout,
        json_serializer=json_dumps,
    )
    event.listen(engine.sync_engine, "checkin", _note_checkin)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    db_faults.install(engine)
    return engine


PING_AFTER_IDLE = 10.0
"""Seconds a pooled PostgreSQL connection may rest before it is pinged on its next checkout."""


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    # What pool_pre_ping does, only for connections that rested: asyncpg's ping is three
    # round trips (BEGIN, ";", ROLLBACK), ~0.3 ms of CPU on every request when done at each
    # checkout. A connection in steady use is known alive; one that rested may have been
    # dropped (a server restart, an idle timeout) and is replaced. After a server restart,
    # a connection used within the last PING_AFTER_IDLE seconds fails its request once, and
    # the error invalidates the pool's other connections at once.
    rested_since = record.info.get("checked_in_at")
    if rested_since is None or time.monotonic() - rested_since < PING_AFTER_IDLE:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        raise DisconnectionError("a rested connection failed its ping") from exc


class Database:
    """The engine and session factory of one process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_engine(settings)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()

    async def check(self) -> str:
        """``"ok"`` when a request would get the database now, else why not (``/readyz``).

        Bounded by ``database_timeout``, as requests are. On SQLite it takes the write lock,
        as every request's transaction does, on a connection of its own: the pool's one
        connection may be the one holding it.
        """
        try:
            if self.settings.is_sqlite:
                await asyncio.to_thread(self._check_sqlite_lock)
            else:
                async with asyncio.timeout(self.settings.database_timeout):
                    async with self.engine.connect() as connection:
                        await connection.execute(text("SELECT 1"))
        except TimeoutError:
            return f"unavailable: no answer within {self.settings.database_timeout:g} s"
        except DatabaseUnavailable as exc:
            return f"unavailable: {exc.message}"
        except sqlite3.OperationalError as exc:
            return f"unavailable: {exc}"
        except Exception as exc:  # any other failure means not ready; the reason is for operators
            return f"error: {type(exc).__name__}"
        return "ok"

    def _check_sqlite_lock(self) -> None:
        path = make_url(self.settings.database_url).database or ""
        connection = sqlite3.connect(path, timeout=self.settings.database_timeout)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.rollback()
        finally:
            connection.close()


AfterCommit = Callable[[], Awaitable[None]]


SHARED_READS = "shared_reads"


def share_reads(session: AsyncSession) -> dict[Hashable, Any]:
    """Let the session's reads of what the transaction does not write (users by external id,
    a type's template) be reused until ``unshare_reads``: a group commit's batch reads them
    once for all its members. The dictionary the readers share."""
    shared: dict[Hashable, Any] = {}
    session.info[SHARED_READS] = shared
    return shared


def unshare_reads(session: AsyncSession) -> None:
    """Read afresh again (``share_reads``)."""
    session.info.pop(SHARED_READS, None)


def shared_reads(session: AsyncSession) -> dict[Hashable, Any] | None:
    """The reads to reuse, when the session shares them (``share_reads``)."""
    found: dict[Hashable, Any] | None = session.info.get(SHARED_READS)
    return found


def on_commit(session: AsyncSession, hook: AfterCommit) -> None:
    """Run ``hook`` once the session's transaction has committed (never if it rolls back)."""
    session.info.setdefault("after_commit", []).append(hook)


async def run_after_commit(session: AsyncSession) -> None:
    """Run and forget the hooks a committed transaction collected (publishing to the bus)."""
    hooks: list[AfterCommit] = session.info.pop("after_commit", [])
    for hook in hooks:
        await hook()


def discard_after_commit(session: AsyncSession) -> None:
    """Drop the hooks of a transaction that rolled back."""
    session.info.pop("after_commit", None)
