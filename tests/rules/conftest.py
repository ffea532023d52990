"""A real ``herald serve`` with a real SMTP server (aiosmtpd) for the delivery rules, shared by
the modules of this folder, once on a SQLite file and once on a throwaway PostgreSQL database
(every test runs on both): a database of its own, so its worker sends only what these tests
make. Each test makes its own tenant, users and template."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from herald.delivery.models import Delivery
from herald.delivery.status import TERMINAL
from tests.bus.conftest import free_port
from tests.channels.conftest import Sink
from tests.compat.conftest import Seeded, serve_herald
from tests.conftest import Tenant
from tests.delivery.conftest import parsed
from tests.support.postgres import throwaway_database


@dataclass
class Rig:
    """The running server, its database, and what the SMTP server received."""

    herald: Seeded
    sink: Sink

    def emails_to(self, address: str) -> list[EmailMessage]:
        """Every message received for ``address``, parsed, oldest first."""
        return [parsed(r.content) for r in self.sink.received if address in r.rcpt_tos]

    async def deliveries(self, notification_id: str) -> list[Delivery]:
        """The notification's deliveries, from the database."""
        async with self.herald.db.sessions() as session:
            rows = await session.scalars(
                select(Delivery).where(Delivery.notification_id == uuid.UUID(notification_id))
            )
            return list(rows)


@contextmanager
def smtp_server() -> Iterator[tuple[int, Sink]]:
    """An SMTP server on a free port that accepts everything and keeps it."""
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, sink
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[tuple[int, Sink]]:
    """An SMTP server for the tests that run their own processes."""
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def rig(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Rig]:
    """``herald serve`` sending email to an SMTP server of its own (the tests' addresses are
    the same on both databases), on each database."""
    folder = tmp_path_factory.mktemp("rules")
    async with AsyncExitStack() as stack:
        port, sink = stack.enter_context(smtp_server())
        env = {
            "SMTP_URL": f"smtp://127.0.0.1:{port}",
            "EMAIL_FROM": "Herald <noreply@herald.test>",
        }
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{folder / 'herald.db'}"
        else:
            url = await stack.enter_async_context(throwaway_database("herald_rules"))
        async for server in serve_herald(url, folder / "serve.log", **env):
            yield Rig(server, sink)


Check = Callable[[], Awaitable[bool]]
FINAL = {s.value for s in TERMINAL}


async def eventually(check: Check, *, what: str, within: float = 15.0) -> None:
    """Wait until ``check`` holds (the server's worker runs on its own)."""
    for _ in range(int(within / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def setup_tenant(
    rig: Rig, name: str, users: dict[str, dict[str, Any]], *, parent: Tenant | None = None
) -> Tenant:
    """A tenant with these users (external id → fields) and a ``promo`` template of category
    ``marketing`` with an email and an in-app part."""
    tenant = await rig.herald.tenant(name, parent=parent)
    async with rig.herald.client(tenant.api_key) as http:
        for external_id, fields in users.items():
            answer = await http.put(f"/v1/users/{external_id}", json=fields)
            assert answer.status_code == 201, answer.text
        template = {
            "id": "promo",
            "friendly_name": "Promotion",
            "category": "marketing",
            "channels": {
                "email": {"subject": "News for {{ user.first_name }}", "text": "Our news."},
                "in_app": {"message": "Our news."},
            },
        }
        answer = await http.post("/v1/templates", json=template)
        assert answer.status_code == 201, answer.text
    return tenant


async def send(rig: Rig, tenant: Tenant, **body: Any) -> str:
    """Accept a custom message with the ``promo`` template on in-app and email; its id."""
    envelope = {
        "type": "custom",
        "subType": "message",
        "message": "Our news.",
        "template": "promo",
        "channels": ["in_app", "email"],
        **body,
    }
    async with rig.herald.client(tenant.api_key) as http:
        answer = await http.post("/v1/notifications", json=envelope)
    assert answer.status_code == 202, answer.text
    notification_id: str = answer.json()["id"]
    return notification_id


async def finished(rig: Rig, notification_id: str) -> list[Delivery]:
    """The notification's deliveries once every one has a final status (the worker's)."""
    done: list[Delivery] = []

    async def settled() -> bool:
        nonlocal done
        done = await rig.deliveries(notification_id)
        return bool(done) and all(d.status in FINAL for d in done)

    await eventually(settled, what=f"the deliveries of {notification_id} to finish")
    return done
