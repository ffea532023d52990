"""The ``herald`` command: serve, migrate, bootstrap accounts and keys, decide sender names,
purge what retention let expire."""

from __future__ import annotations

import asyncio
import gc
import json
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from rich.console import Console
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from herald.config import Settings
from herald.db import Database

app = typer.Typer(help="Herald, the self-hosted notification service.", no_args_is_help=True)
accounts_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
senders_app = typer.Typer(help="Decide on accounts' SMS sender names.", no_args_is_help=True)
app.add_typer(senders_app, name="senders")
console = Console(stderr=True)
T = TypeVar("T")


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, without the garbage cycle each WebSocket upgrade left."""

    def handle_websocket_upgrade(self) -> None:
        """Hand the transport to the WebSocket protocol, then drop the HTTP parser.

        The parser holds bound methods of this protocol: uvicorn breaks that cycle in
        ``connection_lost``, which an upgraded connection never reaches here, so each WebSocket
        left ~14 objects (~2.7 KB) that only a full garbage collection frees.
        """
        super().handle_websocket_upgrade()
        self.parser = None  # type: ignore[assignment]


# How uvicorn serves Herald, measured with bench/realtime.py (docs/performance.md):
# - websockets' sans-I/O protocol: one task per WebSocket (the application's), where the
#   default legacy protocol adds three more; the tests run this one too;
# - no permessage-deflate: its zlib state cost 33 KiB per connection (85 -> 52 KiB at 5,000
#   clients) and every frame would be compressed once per connection, where it is encoded once
#   per event; frames are small JSON;
# - client frames are ops of a few hundred bytes: 64 KiB is plenty, where 16 MiB is the default;
# - a longer accept queue, for thousands of clients reconnecting at once after a restart;
# - httptools, less the cycle an upgrade leaves (HttpProtocol): no cyclic garbage per WebSocket.
SERVER_OPTIONS: dict[str, Any] = {
    "http": HttpProtocol,
    "ws": "websockets-sansio",
    "ws_per_message_deflate": False,
    "ws_max_size": 64 * 1024,
    "backlog": 4096,
    "log_config": None,
    "access_log": False,
}


def _freeze_startup_objects() -> None:
    """Keep the objects of imports and app setup out of every later garbage collection.

    They live as long as the process, yet each full collection walks them again; with
    thousands of WebSockets open, full collections are the latency tail (docs/performance.md).
    """
    gc.collect()
    gc.freeze()
    # Full collections 100 times rarer than by default: one walks every object of every open
    # connection (1.2 s at 10,000 WebSockets). Affordable because a connection's life leaves
    # no cycles (tests/realtime/test_garbage.py) that would otherwise wait for one as memory.
    gc.set_threshold(700, 10, 1000)


def _run(work: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(work(Settings()))


async def _in_transaction(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    db = Database(settings)
    try:
        async with db.sessions() as session, session.begin():
            return await work(session)
    finally:
        await db.dispose()


@app.command()
def migrate() -> None:
    """Create or upgrade the database named by HERALD_DATABASE_URL."""
    from herald.migrate import upgrade

    settings = Settings()
    asyncio.run(upgrade(settings))
    console.print(f"[green]Database is up to date[/green] ({_safe_url(settings.database_url)})")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _serve(host: str, port: int) -> None:
    from herald.app import create_app
    from herald.migrate import upgrade

    settings = Settings()
    asyncio.run(upgrade(settings))
    console.print(f"Herald is listening on [bold]http://{host}:{port}[/bold]")
    app = create_app(settings, worker=True)
    _freeze_startup_objects()
    uvicorn.run(app, host=host, port=port, **SERVER_OPTIONS)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
) -> None:
    """Migrate, then run the API, the worker and the real-time hub in one process."""
    _serve(host, port)


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
) -> None:
    """Run the API and the real-time hub, no worker: start as many side by side as you need.

    Does not migrate (run ``herald migrate`` once per deployment). On SIGTERM, SSE streams
    get a few seconds before they are cut; their clients come back with Last-Event-ID.
    """
    from herald.app import create_app

    console.print(f"Herald API is listening on [bold]http://{host}:{port}[/bold]")
    application = create_app(Settings())
    _freeze_startup_objects()
    uvicorn.run(
        application,
        host=host,
        port=port,
        timeout_graceful_shutdown=5,
        **SERVER_OPTIONS,
    )


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Sends at once.")] = 32,
    lease: Annotated[float, typer.Option(min=1, help="Seconds a claim lasts unrenewed.")] = 60,
    poll: Annotated[float, typer.Option(min=0.05, help="Seconds between polls.")] = 1.0,
) -> None:
    """Run a delivery worker alone (no API); SIGTERM drains it."""
    from datetime import timedelta

    from herald.delivery.worker import WorkerOptions

    options = WorkerOptions(
        concurrency=concurrency, lease=timedelta(seconds=lease), poll_interval=poll
    )
    asyncio.run(_work(Settings(), options))


async def _work(settings: Settings, options: Any) -> None:
    from herald.app import start_runtime, stop_runtime
    from herald.delivery.worker import Worker
    from herald.logs import configure_logging

    configure_logging(level=settings.log_level, json=settings.log_json)
    runtime = await start_runtime(settings)
    try:
        runner = Worker(runtime, options)
        await runner.attach()
        await runtime.bus.start()
        await runner.run_until_signalled()
    finally:
        await stop_runtime(runtime)


@app.command("purge")
def purge_now(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Apply retention now: delete what each account's retention_days have let expire."""
    from herald.delivery.gate import Gate
    from herald.delivery.letter import documents
    from herald.retention.service import purge

    async def work(settings: Settings) -> dict[str, int]:
        db = Database(settings)
        try:
            purged = await purge(Gate(db).transaction, documents=documents(settings))
        finally:
            await db.dispose()
        return purged.counts()

    counts = _run(work)
    if as_json:
        typer.echo(json.dumps(counts))
        return
    for name, count in counts.items():
        console.print(f"[bold]{name.replace('_', ' ')}[/bold]: {count}")


@accounts_app.command("create")
def accounts_create(
    name: str,
    parent: Annotated[str | None, typer.Option(help="Parent account id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create an account and a key holding every scope."""
    from herald.accounts import service

    async def work(session: Any) -> dict[str, str]:
        parent_id = uuid.UUID(parent) if parent else None
        account = await service.create_account(session, name=name, parent_id=parent_id)
        issued = await service.create_key(session, account_id=account.id, name="bootstrap")
        return {
            "account_id": str(account.id),
            "api_key": issued.plain,
            "key_id": str(issued.key.id),
        }

    result = _run(lambda s: _in_transaction(s, work))
    _print(result, as_json)


@keys_app.command("create")
def keys_create(
    account: Annotated[str, typer.Option(help="Account id.")],
    scope: Annotated[list[str] | None, typer.Option(help="A scope; repeat for several.")] = None,
    test: Annotated[
        bool, typer.Option("--test", help="A test key: never reaches a provider.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create an API key for an account."""
    from herald.accounts import scopes as scope_rules
    from herald.accounts import service

    for item in scope or []:
        if not scope_rules.is_valid(item):
            raise typer.BadParameter(f"unknown scope {item!r}", param_hint="--scope")

    async def work(session: Any) -> dict[str, Any]:
        issued = await service.create_key(
            session, account_id=uuid.UUID(account), scopes=scope, test=test
        )
        return {
            "key_id": str(issued.key.id),
            "api_key": issued.plain,
            "scopes": issued.key.scopes,
            "test": issued.key.test,
        }

    _print(_run(lambda s: _in_transaction(s, work)), as_json)


def _decide_sender(account: str, name: str, status: str) -> None:
    from herald.accounts.models import Account
    from herald.sms import senders

    async def work(session: Any) -> str:
        found = await session.get(Account, uuid.UUID(account))
        if found is None:
            raise typer.BadParameter(f"no account {account}", param_hint="--account")
        sender = await senders.decide(
            session, account=found, name=name, status=senders.SenderStatus(status)
        )
        return str(sender.status)

    typer.echo(f"{name}: {_run(lambda s: _in_transaction(s, work))}")


@senders_app.command("approve")
def senders_approve(
    name: str, account: Annotated[str, typer.Option(help="The account's id.")]
) -> None:
    """Approve an account's sender name (the CLI acts as every account's ancestor)."""
    _decide_sender(account, name, "approved")


@senders_app.command("reject")
def senders_reject(
    name: str, account: Annotated[str, typer.Option(help="The account's id.")]
) -> None:
    """Reject an account's sender name."""
    _decide_sender(account, name, "rejected")


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result))
        return
    for key, value in result.items():
        console.print(f"[bold]{key}[/bold]: {value}")
    console.print("[yellow]Keep the key now: Herald stores only its hash.[/yellow]")


def main() -> None:
    """Entry point of the ``herald`` script."""
    app()
