"""``herald send`` and ``herald purge``: the services the API uses, run from a terminal.

``send`` reads a file of notifications and accepts each one as the account would through
``POST /v1/notifications`` (the same ``accept`` service, in a transaction of its own, so that
one refused row loses nothing else), with a progress bar and a summary of what was refused.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from herald.accounts import scopes
from herald.accounts.auth import Principal
from herald.cli.common import console, existing_account, out
from herald.cli.rows import Row
from herald.compat.reapit import envelope_of
from herald.config import Settings
from herald.errors import HeraldError
from herald.lifecycle import start_runtime, stop_runtime
from herald.notifications import service
from herald.runtime import Runtime

# The CLI acts for the account with every scope (as its bootstrap key would).
EVERY_SCOPE = frozenset(scopes.BASE_SCOPES)


@dataclass
class Refusal:
    """A row Herald did not accept, and why."""

    row: int
    code: str
    reason: str


@dataclass
class Summary:
    """What ``herald send`` did with each row."""

    accepted: list[tuple[int, str]] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    def print(self, as_json: bool) -> None:
        """The accepted and refused rows: JSON on stdout, or a table of the refusals."""
        if as_json:
            body = {
                "accepted": [{"row": r, "id": i} for r, i in self.accepted],
                "refused": [vars(r) for r in self.refused],
            }
            typer.echo(json.dumps(body))
            return
        total = len(self.accepted) + len(self.refused)
        out.print(f"{len(self.accepted)} of {total} rows accepted, {len(self.refused)} refused")
        if self.refused:
            table = Table("row", "code", "reason", title="Refused")
            for refusal in self.refused:
                table.add_row(str(refusal.row), refusal.code, refusal.reason)
            out.print(table)


def _reason(error: HeraldError) -> str:
    where = "; ".join(f"{d.path}: {d.message}" for d in error.details)
    return f"{error.message} ({where})" if where else error.message


async def _accept(runtime: Runtime, principal: Principal, body: dict[str, Any]) -> str:
    async with runtime.db.sessions() as session, session.begin():
        envelope = envelope_of(body)
        accepted = await service.accept(
            session,
            principal=principal,
            envelope=envelope,
            throttle=runtime.throttle,
            bus=runtime.bus,
        )
    return str(accepted.id)


async def _principal(runtime: Runtime, account_id: uuid.UUID) -> Principal:
    async with runtime.db.sessions() as session, session.begin():
        await existing_account(session, account_id)
    return Principal(account_id, EVERY_SCOPE)


async def send_rows(
    settings: Settings, rows: list[Row], *, name: str, account_id: uuid.UUID
) -> Summary:
    """Accept each notification of the file ``name`` (its rows, read by ``herald.cli.rows``)
    as ``account_id``; the summary of every row."""
    runtime = await start_runtime(settings)
    summary = Summary()
    try:
        principal = await _principal(runtime, account_id)
        await runtime.bus.start()
        with _progress() as progress:
            task = progress.add_task(f"Sending {name}", total=len(rows))
            for number, body in rows:
                try:
                    summary.accepted.append((number, await _accept(runtime, principal, body)))
                except HeraldError as error:
                    summary.refused.append(Refusal(number, error.code, _reason(error)))
                progress.advance(task)
    finally:
        await stop_runtime(runtime)
    return summary


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


async def purge_now(settings: Settings) -> dict[str, Any]:
    """Apply retention now: ``herald.retention.service.purge``, the worker's hourly purge, run
    until nothing expired is left; what it deleted, by kind."""
    from herald.db import Database
    from herald.delivery.composers.letter import documents
    from herald.delivery.gate import Gate
    from herald.retention.service import purge

    db = Database(settings)
    try:
        purged = await purge(Gate(db).transaction, documents=documents(settings))
    finally:
        await db.dispose()
    return purged.counts()
