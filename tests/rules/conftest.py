"""A real ``herald serve`` with a real SMTP server (aiosmtpd) for the delivery rules, shared by
the modules of this folder: a SQLite database of its own, so its worker sends only what these
tests make. Each test makes its own tenant, users and template."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
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


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[tuple[int, Sink]]:
    """An SMTP server on a free port that accepts everything and keeps it."""
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, sink
    controller.stop()


@pytest.fixture(scope="session")
async def rig(
    tmp_path_factory: pytest.TempPathFactory, smtp_sink: tuple[int, Sink]
) -> AsyncIterator[Rig]:
    """``herald serve`` sending email to the SMTP server."""
    port, sink = smtp_sink
    folder = tmp_path_factory.mktemp("rules")
    url = f"sqlite+aiosqlite:///{folder / 'herald.db'}"
    env = {"SMTP_URL": f"smtp://127.0.0.1:{port}", "EMAIL_FROM": "Herald <noreply@herald.test>"}
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
