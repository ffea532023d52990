"""The ``herald`` command: serve, migrate, bootstrap accounts and keys, send, purge.

Every failure is one line on stderr (``{"error": {...}}`` with ``--json``) and exit code 1, or 2
for a usage mistake; never a traceback (``herald.cli.failures``).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated

import typer

from herald.cli import serve as servers
from herald.cli.accounts import accounts_app, keys_app, senders_app
from herald.cli.common import JsonOption, console, parse_id, print_result, run, safe_url
from herald.cli.failures import Failure, failure_of, report
from herald.cli.serve import SERVER_OPTIONS, HttpProtocol
from herald.config import Settings

app = typer.Typer(
    help="Herald, the self-hosted notification service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
app.add_typer(senders_app, name="senders")
Host = Annotated[str, typer.Option(help="Address to bind.")]
Port = Annotated[int, typer.Option(help="Port to bind.")]
__all__ = ["SERVER_OPTIONS", "HttpProtocol", "app", "main"]


def herald_version() -> str:
    """The installed package's version."""
    try:
        return version("herald")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"herald {herald_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Herald, the self-hosted notification service."""


@app.command()
def migrate() -> None:
    """Create or upgrade the database named by HERALD_DATABASE_URL; say what was applied."""
    from herald.migrate import upgrade_reporting

    settings = Settings()
    applied = asyncio.run(upgrade_reporting(settings))
    where = safe_url(settings.database_url)
    for revision in applied:
        console.print(f"applied {revision}")
    state = f"applied {len(applied)} migration(s)" if applied else "already up to date"
    console.print(f"[green]Database is up to date[/green] ({where}): {state}")


@app.command()
def serve(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Migrate, then run the API, the worker and the real-time hub in one process."""
    servers.serve(host, port)


@app.command()
def api(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Run the API and the real-time hub, no worker: start as many side by side as you need.

    Does not migrate (run ``herald migrate`` once per deployment). On SIGTERM, SSE streams
    get a few seconds before they are cut; their clients come back with Last-Event-ID.
    """
    servers.api(host, port)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Sends at once.")] = 32,
    lease: Annotated[float, typer.Option(min=1, help="Seconds a claim lasts unrenewed.")] = 15,
    poll: Annotated[float, typer.Option(min=0.05, help="Seconds between polls.")] = 1.0,
) -> None:
    """Run a delivery worker alone (no API); SIGTERM drains it.

    With HERALD_WORKER_METRICS_PORT it serves its own /metrics on that port.
    """
    servers.worker(concurrency, lease, poll)


@app.command()
def send(
    file: Annotated[Path, typer.Argument(help="A .json envelope (or list of them), or a .csv.")],
    account: Annotated[str, typer.Option("--account", help="The sending account's id.")],
    template: Annotated[str | None, typer.Option(help="The template of every row.")] = None,
    message: Annotated[
        str | None, typer.Option(help="The text of every CSV row (custom/message needs one).")
    ] = None,
    as_json: Annotated[bool, JsonOption] = False,
) -> None:
    """Send a notification per row of a CSV (or each envelope of a JSON file) as an account.

    CSV columns users/user, emails/email/email address and phones/phone/phone number name the
    recipients (several with , or ;); every other column is personalisation. Exit code 0 only
    when every row was accepted.
    """
    from herald.cli.rows import read_rows

    account_id = parse_id(account, "--account")
    # A file that cannot be read fails before the services are imported (a second of start-up).
    rows = read_rows(file, template=template, message=message)
    from herald.cli.sending import send_rows

    summary = run(lambda settings: send_rows(settings, rows, name=file.name, account_id=account_id))
    summary.print(as_json)
    if summary.refused:
        raise typer.Exit(1)


@app.command()
def purge(as_json: Annotated[bool, JsonOption] = False) -> None:
    """Apply retention now: delete what each account's retention_days have let expire."""
    from herald.cli.sending import purge_now

    print_result(run(purge_now), as_json)


def _thread_failure(args: threading.ExceptHookArgs) -> None:
    # aiosqlite's thread answers a failed connection after asyncio.run closed the loop: the
    # failure itself is already reported.
    if isinstance(args.exc_value, RuntimeError) and "Event loop is closed" in str(args.exc_value):
        return
    name = type(args.exc_value).__name__
    sys.stderr.write(f"herald: unexpected error in a background thread ({name})\n")


def main() -> None:
    """Entry point of the ``herald`` script: run a command, turn any failure into one line."""
    as_json = "--json" in sys.argv[1:]
    threading.excepthook = _thread_failure
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        report(Failure("aborted", "aborted"), as_json=as_json)
        sys.exit(1)
    except Exception as exc:
        failure = failure_of(exc, database=_database_url)
        report(failure, as_json=as_json)
        sys.exit(failure.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _database_url() -> str:
    try:
        return safe_url(Settings().database_url)
    except Exception:  # settings that do not even parse: name the variable, not its value
        return "(HERALD_DATABASE_URL)"
