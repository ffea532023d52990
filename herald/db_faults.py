"""Database faults, told apart from bugs: an unreachable or locked database is a 503.

Two engine events do it. ``do_connect`` turns a failed connection (refused, timed out, "the
database system is starting up") into ``DatabaseUnavailable``: asyncpg raises those raw,
before SQLAlchemy's own error handling. ``handle_error`` does the same for a statement,
commit or rollback that failed because the server went away (a restart, a stop, a statement
timeout) or because SQLite's write lock stayed taken past its busy timeout; a lost connection
is also marked a disconnect, so that the pool drops every connection of the old server at
once. Everything else (a constraint, a bug) keeps its own exception and stays a 500.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.errors import DatabaseUnavailable

# SQLSTATE classes and codes of a server that cannot serve now: 08 connection exception,
# 53 insufficient resources (too many connections, disk full), 57P01-57P03 shutting down,
# crashed, starting up; 58 system error (I/O).
_SQLSTATE_PREFIXES = ("08", "53", "57P", "58")
# SQLite's primary result codes for the same: BUSY and LOCKED (the write lock stayed taken
# past the busy timeout), IOERR, FULL, CANTOPEN.
_SQLITE_CODES = frozenset({5, 6, 10, 13, 14})


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _lost(exc: BaseException) -> bool:
    if isinstance(exc, OSError):  # refused, reset, timed out (TimeoutError is an OSError)
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        return "connection is closed" in str(exc)
    if isinstance(exc, asyncpg.InternalClientError):
        # "cannot switch to state 12; another operation (2) is in progress": what asyncpg
        # says of a connection that the server terminated while it was idle in the pool.
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_SQLSTATE_PREFIXES)


def _busy(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.OperationalError) or not isinstance(code, int):
        return False
    return (code & 0xFF) in _SQLITE_CODES  # the primary code: extended codes add high bits


def classify(exc: BaseException) -> str | None:
    """``"lost"`` when ``exc`` (or what caused it) means the connection to the database is
    gone or cannot be made, ``"busy"`` when SQLite stayed locked or failed its I/O, None for
    anything else."""
    causes = _causes(exc)
    if any(_busy(cause) for cause in causes):
        return "busy"
    if any(_lost(cause) for cause in causes):
        return "lost"
    return None


# PostgreSQL's deadlock_detected and serialization_failure: the victim may simply run again.
_RETRYABLE = frozenset({"40P01", "40001"})


def retryable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a deadlock or serialisation failure: work
    rolled back for it (a transaction, a savepoint) can run again as it was."""
    return any(getattr(cause, "sqlstate", None) in _RETRYABLE for cause in _causes(exc))


def _unavailable(kind: str, exc: BaseException) -> DatabaseUnavailable:
    message = (
        "The database is busy; try again shortly"
        if kind == "busy"
        else "The database cannot be reached; try again shortly"
    )
    error = DatabaseUnavailable(message)
    error.__cause__ = exc
    return error


def _connect(dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
    try:
        return dialect.connect(*cargs, **cparams)
    except Exception as exc:
        kind = classify(exc)
        if kind is None:
            raise
        raise _unavailable(kind, exc) from exc


def _translate(context: ExceptionContext) -> BaseException | None:
    if context.is_pre_ping:
        return None
    kind = classify(context.original_exception)
    if kind is None:
        return None
    if kind == "lost":
        context.is_disconnect = True
    return _unavailable(kind, context.original_exception)


def install(engine: AsyncEngine) -> None:
    """Make ``engine`` raise ``DatabaseUnavailable`` for the faults above."""
    event.listen(engine.sync_engine, "do_connect", _connect)
    event.listen(engine.sync_engine, "handle_error", _translate)
