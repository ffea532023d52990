"""The webhook channel: endpoints (secret shown once, sealed at rest, SSRF-checked at
registration), notifications POSTed signed to every endpoint whose types match, a 410
disabling the endpoint, and no redirect followed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from herald.app import create_app
from herald.db import Database
from herald.delivery.models import Delivery
from herald.endpoints.models import WebhookEndpoint
from herald.webhooks.signing import WebhookVerificationError, verify
from tests.conftest import Tenant, settings_for
from tests.delivery.conftest import (
    deliveries_of,
    running_worker,
    send,
    wait_finished,
    worker_settings,
)
from tests.http.conftest import Receiver, StartReceiver

pytestmark = pytest.mark.usefixtures("parked")

UNSAFE = [
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://169.254.169.254/latest/meta-data",
]


async def _endpoint(
    client: httpx.AsyncClient, tenant: Tenant, name: str, url: str, *types: str
) -> str:
    answer = await client.put(
        f"/v1/endpoints/{name}", json={"url": url, "types": list(types)}, headers=tenant.headers
    )
    assert answer.status_code == 200, answer.text
    secret: str = answer.json()["secret"]
    return secret


@pytest.fixture
async def strict_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An application whose operator did not allow private URLs."""
    app: FastAPI = create_app(settings_for(database_url, allow_private_urls=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
            yield http


@pytest.mark.parametrize("url", UNSAFE)
async def test_internal_addresses_are_refused_at_registration(
    strict_client: httpx.AsyncClient, tenant: Tenant, url: str
) -> None:
    answer = await strict_client.put(
        "/v1/endpoints/internal", json={"url": url, "types": ["*"]}, headers=tenant.headers
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["path"] == "/url"
    listed = await strict_client.get("/v1/endpoints", headers=tenant.headers)
    assert listed.json()["data"] == []


async def test_the_secret_is_shown_once_and_sealed(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    secret = await _endpoint(client, tenant, "calls", "http://127.0.0.1:9/hook", "telephony/*")
    assert secret.startswith("whsec_")
    listed = await client.get("/v1/endpoints", headers=tenant.headers)
    assert [(e["name"], e["types"]) for e in listed.json()["data"]] == [("calls", ["telephony/*"])]
    assert secret not in listed.text
    async with db.sessions() as session:
        stored = await session.scalar(
            select(WebhookEndpoint.secret).where(WebhookEndpoint.account_id == tenant.account_id)
        )
    assert stored is not None and secret not in stored
    admin_only = await client.put(
        "/v1/endpoints/bad name", json={"url": "http://127.0.0.1:9/"}, headers=tenant.headers
    )
    assert admin_only.status_code == 422
    assert (await client.delete("/v1/endpoints/calls", headers=tenant.headers)).status_code == 204
    assert (await client.get("/v1/endpoints/calls", headers=tenant.headers)).status_code == 404


async def test_matching_endpoints_get_signed_notifications(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    database_url: str,
    start_receiver: StartReceiver,
) -> None:
    receiver = await start_receiver(Receiver(status=204, body=b""))
    messages = await _endpoint(client, tenant, "messages", receiver.url("/messages"), "custom/*")
    everything = await _endpoint(client, tenant, "everything", receiver.url("/all"), "*")
    await _endpoint(client, tenant, "calls", receiver.url("/calls"), "telephony/*")
    notification = await send(
        client, tenant.headers, channels=["webhook"], targets={"all": True},
        message="Hello hooks", payload={"id": "m-1"},
    )  # fmt: skip
    async with running_worker(worker_settings(database_url)):
        rows = await wait_finished(db, notification)
    assert sorted((r.recipient["webhook"], r.status) for r in rows if r.channel == "webhook") == [
        ("everything", "delivered"),
        ("messages", "delivered"),
    ]
    by_path = {request.target: request for request in receiver.requests}
    assert set(by_path) == {"/messages", "/all"}
    for path, secret in (("/messages", messages), ("/all", everything)):
        request = by_path[path]
        verify(secret, request.headers, request.body)
        body = json.loads(request.body)
        assert body["type"] == "notification"
        assert body["data"]["id"] == notification and body["data"]["message"] == "Hello hooks"
        assert (body["data"]["type"], body["data"]["subType"]) == ("custom", "message")
        assert body["data"]["payload"] == {"id": "m-1"}
    with pytest.raises(WebhookVerificationError):
        verify(everything, by_path["/messages"].headers, by_path["/messages"].body)


async def test_a_410_disables_the_endpoint(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    database_url: str,
    start_receiver: StartReceiver,
) -> None:
    receiver = await start_receiver(Receiver(status=410))
    await _endpoint(client, tenant, "gone", receiver.url(), "*")
    first = await send(client, tenant.headers, channels=["webhook"], targets={"all": True})
    async with running_worker(worker_settings(database_url)):
        [delivery] = await wait_finished(db, first)
    assert delivery.status == "permanent-failure"
    shown = await client.get("/v1/endpoints/gone", headers=tenant.headers)
    assert shown.json()["disabled_at"] is not None
    second = await send(client, tenant.headers, channels=["webhook"], targets={"all": True})
    assert await _webhook_rows(db, second) == []
    assert len(receiver.requests) == 1
    await _endpoint(client, tenant, "gone", receiver.url(), "*")
    again = await client.get("/v1/endpoints/gone", headers=tenant.headers)
    assert again.json()["disabled_at"] is None


async def test_a_redirect_to_loopback_is_not_followed(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    database_url: str,
    start_receiver: StartReceiver,
) -> None:
    internal = await start_receiver(Receiver())
    redirect = await start_receiver(
        Receiver(status=302, headers={"location": internal.url("/admin")})
    )
    await _endpoint(client, tenant, "moved", redirect.url(), "*")
    notification = await send(client, tenant.headers, channels=["webhook"], targets={"all": True})
    async with running_worker(worker_settings(database_url)):
        [delivery] = await wait_finished(db, notification)
    assert delivery.status == "permanent-failure"
    assert len(redirect.requests) == 1 and internal.requests == []


async def _webhook_rows(db: Database, notification_id: str) -> list[Delivery]:
    return [row for row in await deliveries_of(db, notification_id) if row.channel == "webhook"]
