"""What the commands share: running async work in one transaction, ids, printing results."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console

from herald.cli.failures import Failure
from herald.config import Settings
from herald.errors import NotFound

# SQLAlchemy and the models are imported by the commands that open the database: a command
# that fails on its arguments, or needs no database, starts in a fraction of the time.
if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from herald.accounts.models import Account

# Wide enough that ids in tables are never cut, even when the output is not a terminal.
WIDTH = max(shutil.get_terminal_size((160, 24)).columns, 120)
console = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, width=WIDTH)
T = TypeVar("T")
JsonOption = typer.Option("--json", help="Print JSON (errors too).")


def run(work: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` with the process settings on a new event loop."""
    return asyncio.run(work(Settings()))


async def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction of a database opened for it."""
    from herald.db import Database

    db = Database(settings)
    try:
        async with db.sessions() as session, session.begin():
            return await work(session)
    finally:
        await db.dispose()


def transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``run`` of ``in_transaction``: the usual shape of a command."""
    return run(lambda settings: in_transaction(settings, work))


def parse_id(value: str, what: str) -> uuid.UUID:
    """An id given on the command line, or a one-line failure naming the option."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Failure(f"{what} {value!r} is not an id (a UUID)", "malformed_id") from None


async def existing_account(session: AsyncSession, account_id: uuid.UUID) -> Account:
    """The account, or 404 ``No account ...``."""
    from herald.accounts.models import Account

    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound(f"No account {account_id}")
    return account


def safe_url(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: show none of it, it may hold a password
        return "(HERALD_DATABASE_URL)"


def print_result(result: dict[str, Any], as_json: bool, *, secret: bool = False) -> None:
    """JSON on stdout, or one ``key: value`` line each (with a warning for a shown secret)."""
    if as_json:
        typer.echo(json.dumps(result))
        return
    for key, value in result.items():
        out.print(f"[bold]{key}[/bold]: {value}")
    if secret:
        console.print("[yellow]Keep the key now: Herald stores only its hash.[/yellow]")
