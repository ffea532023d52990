"""Which failures are the database being away (a 503) and which stay bugs (a 500)."""

from __future__ import annotations

import sqlite3

import asyncpg  # type: ignore[import-untyped]
import pytest

from herald.db_faults import classify, retryable


def _sqlite(code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorcode = code
    return error


def _wrapped(cause: BaseException) -> Exception:
    try:
        raise RuntimeError("the driver's wrapper") from cause
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ConnectionRefusedError(111, "Connect call failed"), "lost"),
        (TimeoutError(), "lost"),  # a statement or connect timeout
        (asyncpg.CannotConnectNowError("the database system is starting up"), "lost"),
        (asyncpg.AdminShutdownError("terminating connection"), "lost"),
        (asyncpg.TooManyConnectionsError("too many clients"), "lost"),
        (asyncpg.InterfaceError("cannot perform operation: connection is closed"), "lost"),
        (_wrapped(asyncpg.ConnectionDoesNotExistError("closed mid-operation")), "lost"),
        (_sqlite(5), "busy"),  # SQLITE_BUSY
        (_sqlite(5 | 3 << 8), "busy"),  # an extended code of BUSY
        (asyncpg.UniqueViolationError("duplicate key"), None),
        (asyncpg.InterfaceError("another operation is in progress"), None),
        (_sqlite(1), None),  # SQLITE_ERROR: a bad statement is a bug
        (ValueError("naive datetime"), None),
    ],
)
def test_classify(error: BaseException, kind: str | None) -> None:
    assert classify(error) == kind


@pytest.mark.parametrize(
    ("error", "again"),
    [
        (_wrapped(asyncpg.DeadlockDetectedError("deadlock detected")), True),
        (asyncpg.SerializationError("could not serialize access"), True),
        (asyncpg.UniqueViolationError("duplicate key"), False),
        (_sqlite(5), False),
    ],
)
def test_deadlocks_and_serialisation_failures_may_run_again(
    error: BaseException, again: bool
) -> None:
    assert retryable(error) is again
