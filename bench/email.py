"""Email throughput: Herald's pipeline against raw aiosmtplib, to the same SMTP sink.

In one run: an aiosmtpd sink with a no-op handler runs in its own process pinned to a
core; N emails are queued (a notification's deliveries) and drained by one in-process
worker through Herald's pooled SMTP provider (claim, render, send, record); then N
emails go out with raw aiosmtplib over the same number of connections, as the ceiling.

    python -m bench.email [--emails 2000] [--concurrency 32] [--database-url URL]

Both paths use as many SMTP sessions as the provider's default pool (``pool_size``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from sqlalchemy import func, insert, select

from bench.common import Report, free_port, pin, server_cores
from herald.accounts import service as accounts
from herald.channels.email.smtp import SmtpSettings
from herald.config import Settings
from herald.db import Database, new_id, utcnow
from herald.delivery.models import Delivery
from herald.delivery.status import TERMINAL
from herald.delivery.worker import Worker, WorkerOptions
from herald.lifecycle import start_runtime, stop_runtime
from herald.logs import configure_logging
from herald.migrate import upgrade
from herald.notifications.models import Notification

FINISHED = [s.value for s in TERMINAL]
CONNECTIONS: int = SmtpSettings.model_fields["pool_size"].default


class _NoOp:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 2.0.0 Ok: queued"


def _sink(port: int, cores: set[int]) -> None:
    from aiosmtpd.controller import Controller

    pin(cores)
    controller = Controller(_NoOp(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


@contextlib.contextmanager
def sink_process(port: int) -> Iterator[None]:
    """The SMTP sink in a process of its own, pinned to the server core."""
    cores, _ = server_cores()
    process = multiprocessing.get_context("spawn").Process(target=_sink, args=(port, cores))
    process.start()
    try:
        _wait_for_port(port)
        yield
    finally:
        process.terminate()
        process.join(10)


def _wait_for_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise TimeoutError("the SMTP sink did not start")


async def _queue(db: Database, count: int) -> None:
    async with db.sessions() as session, session.begin():
        account = await accounts.create_account(session, name="bench")
        notification = Notification(
            id=new_id(), account_id=account.id, type="custom", sub_type="message",
            products=[], targets={}, channels=["email"], payload={}, message="benchmark",
            actions=[], personalisation={},
        )  # fmt: skip
        session.add(notification)
        await session.flush()
        rows = [
            {"id": new_id(), "account_id": account.id, "notification_id": notification.id,
             "channel": "email", "recipient": {"email": f"r{i}@example.com"},
             "status": "created", "due_at": utcnow(), "attempts": 0, "test": False}
            for i in range(count)
        ]  # fmt: skip
        for start in range(0, count, 1000):
            await session.execute(insert(Delivery), rows[start : start + 1000])


async def _remaining(db: Database) -> int:
    async with db.sessions() as session:
        left = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status.not_in(FINISHED))
        )
    return int(left or 0)


async def herald_run(settings: Settings, count: int, concurrency: int) -> tuple[float, float]:
    """Seconds for one worker to drain ``count`` queued emails, and this process's CPU seconds
    meanwhile (the worker's threads, and the watcher's count every 50 ms)."""
    db = Database(settings)
    await _queue(db, count)
    runtime = await start_runtime(settings)
    options = WorkerOptions(
        concurrency=concurrency, lease=timedelta(seconds=60), poll_interval=0.05
    )
    worker = Worker(runtime, options)
    await worker.attach()
    await runtime.bus.start()
    started, cpu = time.perf_counter(), time.process_time()
    worker.start()
    try:
        while await _remaining(db):  # noqa: ASYNC110 - the database is what is watched
            await asyncio.sleep(0.05)
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        await worker.shutdown()
        await stop_runtime(runtime)
        await db.dispose()


def _message(i: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Herald <noreply@herald.org>"
    message["To"] = f"r{i}@example.com"
    message["Subject"] = "A message from bench"
    message.set_content("Hello there,\n\nbenchmark\n")
    message.add_alternative("<p>Hello there,</p><p>benchmark</p>", subtype="html")
    return message


async def raw_run(port: int, count: int, connections: int) -> tuple[float, float]:
    """Seconds for raw aiosmtplib to send ``count`` emails over ``connections`` sessions, and
    this process's CPU seconds meanwhile."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def session() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        try:
            while not queue.empty():
                await client.send_message(_message(queue.get_nowait()))
        finally:
            await client.quit()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(session() for _ in range(connections)))
    return time.perf_counter() - started, time.process_time() - cpu


async def main(args: argparse.Namespace) -> None:
    configure_logging(level="ERROR", json=True)
    port = free_port()
    _, client_cores = server_cores()
    pin(client_cores)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{os.path.join(folder, 'bench.db')}"
        settings = Settings(
            database_url=url, smtp_url=f"smtp://127.0.0.1:{port}", log_level="ERROR",
            email_from="Herald <noreply@herald.org>",
        )  # fmt: skip
        await upgrade(settings)
        with sink_process(port):
            herald = await herald_run(settings, args.emails, args.concurrency)
            raw = await raw_run(port, args.emails, CONNECTIONS)
    report = Report(
        name="email",
        title="Email: Herald's pipeline vs raw aiosmtplib to a local SMTP sink",
        columns=["path", "emails", "connections", "seconds", "emails/s", "of raw", "CPU ms/email"],
    )
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    for name, (seconds, cpu) in ((f"Herald worker ({backend})", herald), ("raw aiosmtplib", raw)):
        report.rows.append({
            "path": name, "emails": args.emails, "connections": CONNECTIONS,
            "seconds": round(seconds, 2), "emails/s": args.emails / seconds,
            "of raw": f"{raw[0] / seconds:.0%}", "CPU ms/email": round(cpu / args.emails * 1000, 2),
        })  # fmt: skip
    report.notes += [
        f"Herald: one worker (concurrency {args.concurrency}) claims, renders the"
        " custom-message template, sends through the pooled SMTP provider"
        f" ({CONNECTIONS} sessions) and records every attempt.",
        "Raw: the same number of messages built with email.message and sent with"
        " aiosmtplib.send_message over the same number of sessions; no database.",
        "The sink (aiosmtpd, no-op handler) runs in its own process pinned to core 0.",
        "CPU ms/email: this process's CPU time (every thread) during each path, per email;"
        " on a shared machine it moves less than the wall-clock rate.",
    ]
    print(report.write().read_text())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32, help="worker concurrency")
    parser.add_argument("--database-url", default=None)
    asyncio.run(main(parser.parse_args()))
