"""``/v1/providers``: settings checked by the provider's model, secrets sealed at rest and
never answered, and an account's own provider used instead of the process default."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from herald.db import Database
from herald.delivery.models import AccountProvider
from tests.channels.conftest import Server, Sink
from tests.conftest import Tenant, bearer, make_key
from tests.delivery.conftest import email_to, parsed, running_worker, wait_finished, worker_settings

pytestmark = pytest.mark.usefixtures("parked")

PASSWORD = "pa55-w0rd-never-shown"


@pytest.fixture
def own_smtp() -> Iterator[Server]:
    """A second SMTP server: the account's own relay."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield Server("127.0.0.1", port, sink, controller)
    controller.stop()


async def test_settings_are_validated_masked_sealed_and_removable(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    url = f"smtp://herald:{PASSWORD}@127.0.0.1:2525"
    put = await client.put(
        "/v1/providers/email/smtp",
        json={"settings": {"url": url}, "priority": 2},
        headers=tenant.headers,
    )
    assert put.status_code == 200, put.text
    assert put.json()["settings"] == {"url": "**********", "timeout": 30.0, "pool_size": 4}
    assert (put.json()["priority"], put.json()["active"]) == (2, True)
    listed = await client.get("/v1/providers", headers=tenant.headers)
    assert PASSWORD not in listed.text and listed.json()["data"][0]["provider"] == "smtp"
    async with db.sessions() as session:
        stored = await session.scalar(
            select(AccountProvider.settings).where(AccountProvider.account_id == tenant.account_id)
        )
    assert stored is not None and PASSWORD not in stored and "smtp://" not in stored

    invalid = await client.put(
        "/v1/providers/email/smtp",
        json={"settings": {"url": f"http://x:{PASSWORD}@h"}},
        headers=tenant.headers,
    )
    assert invalid.status_code == 422 and PASSWORD not in invalid.text
    assert invalid.json()["error"]["details"][0]["path"] == "/settings/url"
    unknown = await client.put(
        "/v1/providers/email/carrier-pigeon", json={"settings": {}}, headers=tenant.headers
    )
    assert unknown.status_code == 404
    reader = bearer(await make_key(db, tenant, "deliveries.read"))
    assert (await client.get("/v1/providers", headers=reader)).status_code == 403
    assert (
        await client.delete("/v1/providers/email/smtp", headers=tenant.headers)
    ).status_code == 204
    assert (await client.get("/v1/providers", headers=tenant.headers)).json()["data"] == []
    again = await client.delete("/v1/providers/email/smtp", headers=tenant.headers)
    assert again.status_code == 404


async def test_the_accounts_own_provider_replaces_the_default(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    database_url: str,
    smtp: Server,
    own_smtp: Server,
) -> None:
    settings = {"url": f"smtp://{own_smtp.host}:{own_smtp.port}"}
    put = await client.put(
        "/v1/providers/email/smtp", json={"settings": settings}, headers=tenant.headers
    )
    assert put.status_code == 200
    notification = await email_to(client, tenant, "own@example.com")
    async with running_worker(worker_settings(database_url, smtp)):
        [delivery] = await wait_finished(db, notification)
    assert delivery.status == "delivered"
    ids = [parsed(r.content)["X-Herald-Delivery-Id"] for r in own_smtp.sink.received]
    assert str(delivery.id) in ids
    assert all(
        parsed(r.content)["X-Herald-Delivery-Id"] != str(delivery.id) for r in smtp.sink.received
    )
