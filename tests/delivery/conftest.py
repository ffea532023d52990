"""Delivery pipeline fixtures: a real SMTP sink (aiosmtpd in this process) and a worker
running in this process against the shared test database."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, insert, select

from herald.config import Settings
from herald.db import Database, new_id
from herald.delivery.models import Delivery
from herald.delivery.status import TERMINAL
from herald.delivery.worker import Worker, WorkerOptions
from herald.lifecycle import start_runtime, stop_runtime
from herald.notifications.models import Notification
from tests.channels.conftest import Server, Sink
from tests.conftest import Tenant, settings_for
from tests.http.conftest import Receiver, StartReceiver, start_receiver

__all__ = ["Receiver", "StartReceiver", "start_receiver"]
FAST = WorkerOptions(concurrency=16, lease=timedelta(seconds=30), poll_interval=0.05)
FINISHED = {s.value for s in TERMINAL}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[Server]:
    """An SMTP server that accepts everything and keeps what it received."""
    sink = Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield Server("127.0.0.1", port, sink, controller)
    controller.stop()


def parsed(content: bytes) -> EmailMessage:
    """A received message, parsed."""
    message = message_from_bytes(content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def worker_settings(database_url: str, smtp: Server | None = None, **extra: Any) -> Settings:
    """Settings of a worker process sending to ``smtp``."""
    if smtp is not None:
        extra.setdefault("smtp_url", f"smtp://{smtp.host}:{smtp.port}")
    extra.setdefault("email_from", "Herald <noreply@herald.org>")
    return settings_for(database_url, **extra)


@asynccontextmanager
async def running_worker(
    settings: Settings, options: WorkerOptions = FAST
) -> AsyncIterator[Worker]:
    """A worker running in this process until the block ends (then drained)."""
    runtime = await start_runtime(settings)
    worker = Worker(runtime, options)
    try:
        await worker.attach()
        await runtime.bus.start()
        worker.start()
        yield worker
    finally:
        await worker.shutdown()
        await stop_runtime(runtime)


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, within: float = 20.0, what: str = "condition"
) -> None:
    """Poll ``check`` until it holds, or fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def deliveries_of(db: Database, notification_id: str | uuid.UUID) -> list[Delivery]:
    """The notification's deliveries as stored now."""
    async with db.sessions() as session:
        rows = await session.scalars(
            select(Delivery)
            .where(Delivery.notification_id == uuid.UUID(str(notification_id)))
            .order_by(Delivery.id)
        )
        return list(rows)


async def wait_finished(
    db: Database, notification_id: str, *, within: float = 20.0
) -> list[Delivery]:
    """Wait until every delivery of the notification is in a terminal status."""

    async def done() -> bool:
        rows = await deliveries_of(db, notification_id)
        return bool(rows) and all(d.status in FINISHED for d in rows)

    await wait_until(done, within=within, what=f"deliveries of {notification_id} to finish")
    return await deliveries_of(db, notification_id)


async def send(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> str:
    """Accept a custom message (email to the given targets unless told otherwise); its id."""
    envelope = {"type": "custom", "subType": "message", "message": "hello", "channels": ["email"]}
    envelope.update(body)
    answer = await client.post("/v1/notifications", json=envelope, headers=headers)
    assert answer.status_code == 202, answer.text
    notification_id: str = answer.json()["id"]
    return notification_id


async def email_to(client: httpx.AsyncClient, tenant: Tenant, *addresses: str, **body: Any) -> str:
    """Accept a custom message by email to raw addresses."""
    return await send(client, tenant.headers, targets={"emails": list(addresses)}, **body)


async def make_deliveries(
    db: Database,
    tenant: Tenant,
    count: int,
    *,
    due_at: datetime,
    channel: str = "email",
    recipients: list[dict[str, Any]] | None = None,
    test: bool = False,
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A notification with ``count`` pending deliveries due at ``due_at``, written directly
    (also to addresses the accepting API would refuse, such as the simulator's)."""
    recipients = recipients or [{"email": f"q{i}@example.com"} for i in range(count)]
    notification = Notification(
        id=new_id(),
        account_id=tenant.account_id,
        type="custom",
        sub_type="message",
        products=[],
        targets={},
        channels=[channel],
        payload={},
        message="queued",
        actions=[],
        personalisation={},
    )
    ids = [new_id() for _ in range(count)]
    rows = [
        {
            "id": delivery_id,
            "account_id": tenant.account_id,
            "notification_id": notification.id,
            "channel": channel,
            "recipient": recipients[i],
            "status": "created",
            "due_at": due_at,
            "attempts": 0,
            "test": test,
        }
        for i, delivery_id in enumerate(ids)
    ]
    async with db.sessions() as session, session.begin():
        session.add(notification)
        await session.flush()
        for start in range(0, count, 1000):
            await session.execute(insert(Delivery), rows[start : start + 1000])
    return notification.id, ids


async def drop_notification(db: Database, notification_id: uuid.UUID) -> None:
    """Remove a notification and (by cascade) its deliveries."""
    async with db.sessions() as session, session.begin():
        await session.execute(delete(Notification).where(Notification.id == notification_id))
