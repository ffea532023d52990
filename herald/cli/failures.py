"""How the ``herald`` command fails: one line on stderr, exit 1 (2 for usage), never a traceback.

An exception is turned into a ``Failure`` whose message is safe to print: Herald's own errors
say what they are; a database that cannot be reached or is not migrated is named by its URL
without its password; anything else is named by its type only, since its text may hold a
secret (SQL with a key's hash, a URL with a password).
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from herald.errors import DatabaseUnavailable, HeraldError

USAGE = 2
FAILED = 1
NOT_MIGRATED = ("no such table", "does not exist", "undefinedtable")


@dataclass
class Failure(Exception):
    """A failed command: what to say, a stable code, and the exit status."""

    message: str
    code: str = "error"
    exit_code: int = FAILED
    details: list[dict[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        """``{"error": {"code", "message", "details"}}``, as the API writes errors."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def _database_failure(exc: Exception, database: str) -> Failure:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    text = str(exc).lower()
    if isinstance(exc, ProgrammingError | OperationalError) and any(
        marker in text for marker in NOT_MIGRATED
    ):
        return Failure(
            f"the database {database} is not migrated: run `herald migrate`", "not_migrated"
        )
    return Failure(f"cannot reach the database {database}", "database_unavailable")


def _is_usage_error(exc: BaseException) -> bool:
    # Click's UsageError, which typer vendors privately (typer._click): told by its shape.
    return callable(getattr(exc, "format_message", None)) and getattr(exc, "exit_code", 0) == USAGE


def failure_of(exc: BaseException, *, database: Callable[[], str]) -> Failure:
    """The printable failure for any exception a command raised; ``database`` names the
    database (without its password) when the failure is about it."""
    if isinstance(exc, Failure):
        return exc
    if _is_usage_error(exc):
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message: str = exc.format_message()  # type: ignore[attr-defined]
        return Failure(message + hint, "usage", USAGE)
    return _failure_of_error(exc, database())


def _failure_of_error(exc: BaseException, database: str) -> Failure:
    # Imported here, as a command's own heavy imports are: a failure on the arguments alone
    # does not wait for SQLAlchemy.
    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError

    if isinstance(exc, ValidationError):
        names = ", ".join("HERALD_" + str(e["loc"][0]).upper() for e in exc.errors() if e["loc"])
        return Failure(f"invalid setting {names or '(unknown)'}", "bad_setting")
    if isinstance(exc, DatabaseUnavailable):
        return Failure(f"cannot reach the database {database}", "database_unavailable")
    if isinstance(exc, HeraldError):
        details = [d.as_dict() for d in exc.details]
        return Failure(exc.message, exc.code, FAILED, details)
    if isinstance(exc, OperationalError | InterfaceError | ProgrammingError):
        return _database_failure(exc, database)
    if isinstance(exc, DBAPIError):
        return Failure(f"the database {database} refused the command", "database_error")
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return Failure(f"cannot reach the database {database}", "database_unavailable")
    if isinstance(exc, OSError) and exc.filename is None:
        return Failure(f"cannot reach the database {database}", "database_unavailable")
    if isinstance(exc, OSError):
        return Failure(f"cannot read {exc.filename}: {exc.strerror}", "file_unreadable")
    return Failure(f"unexpected error ({type(exc).__name__})", "internal_error")


def report(failure: Failure, *, as_json: bool) -> None:
    """Write the failure as one line on stderr (JSON with ``--json``).

    A usage failure with no message is a command group called bare: its help is the answer.
    """
    if failure.exit_code == USAGE and failure.message.startswith(" (see"):
        return
    if as_json:
        line = json.dumps(failure.body())
    else:
        line = "herald: " + " ".join(failure.message.split())
        if failure.details:
            line += ": " + "; ".join(f"{d['path']} {d['message']}" for d in failure.details)
    sys.stderr.write(line + "\n")
