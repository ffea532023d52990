"""Push through the worker: one delivery per device, APNs over HTTP/2 (a local TLS server
answering success, 410 and 429) for iOS and FCM for Android, the correlation id as the
collapse id; a gone device is removed and never retried, a throttled one is retried."""

from __future__ import annotations

import json
import ssl
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from herald.config import Settings
from herald.db import Database
from herald.delivery.models import Delivery, DeliveryAttempt
from herald.delivery.worker import Worker
from herald.directory.models import Device
from herald.lifecycle import start_runtime, stop_runtime
from tests.channels.push.test_apns import KEY_ID, KEY_PEM, TEAM_ID, TOPIC, apns_reply
from tests.channels.push.test_fcm import EMAIL, Google
from tests.channels.push.test_fcm import KEY_PEM as FCM_KEY
from tests.channels.servers.h2 import serve_h2
from tests.channels.servers.http import serve
from tests.channels.servers.tls import self_signed
from tests.conftest import Tenant
from tests.delivery.conftest import FAST, deliveries_of, send, wait_until, worker_settings

pytestmark = pytest.mark.usefixtures("parked")


@asynccontextmanager
async def push_worker(settings: Settings, tls: ssl.SSLContext) -> AsyncIterator[Worker]:
    """A worker whose providers trust the local HTTP/2 server's certificate."""
    runtime = await start_runtime(settings)
    worker = Worker(runtime, FAST, provider_options={"ssl_context": tls})
    try:
        await worker.attach()
        await runtime.bus.start()
        worker.start()
        yield worker
    finally:
        await worker.shutdown()
        await stop_runtime(runtime)


async def _register(client: httpx.AsyncClient, tenant: Tenant, user: str, *devices: str) -> None:
    await client.put(f"/v1/users/{user}", json={}, headers=tenant.headers)
    for device in devices:
        platform, _, token = device.partition(":")
        answer = await client.post(
            f"/v1/users/{user}/devices/{token}", json={"type": platform}, headers=tenant.headers
        )
        assert answer.status_code == 204, answer.text


async def _providers(
    client: httpx.AsyncClient, tenant: Tenant, apns_url: str, fcm: dict[str, Any]
) -> None:
    apns = {"key_id": KEY_ID, "team_id": TEAM_ID, "private_key": KEY_PEM, "topic": TOPIC}
    for name, settings in (("apns", apns | {"base_url": apns_url}), ("fcm", fcm)):
        answer = await client.put(
            f"/v1/providers/push/{name}", json={"settings": settings}, headers=tenant.headers
        )
        assert answer.status_code == 200, answer.text


def _by_token(rows: list[Delivery]) -> dict[str | None, Delivery]:
    return {row.recipient.get("device"): row for row in rows}


async def _tokens(db: Database, tenant: Tenant) -> set[str]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(Device.token).where(Device.account_id == tenant.account_id)
        )
        return set(rows)


async def _attempts(db: Database, delivery_id: uuid.UUID) -> list[DeliveryAttempt]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id)
        )
        return list(rows)


async def test_push_to_each_device_by_its_platform(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, database_url: str
) -> None:
    tls = self_signed()
    google = Google()
    await _register(client, tenant, "ann", "iOS:ok", "iOS:gone", "Android:droid")
    await _register(client, tenant, "bob", "iOS:busy")
    await _register(client, tenant, "cid")
    with serve(google.token) as token_server, serve(google.send) as fcm_api:
        google.token_uri = f"{token_server.url}/token"
        account = {"type": "service_account", "project_id": "demo-project",
                   "client_email": EMAIL, "private_key": FCM_KEY}  # fmt: skip
        fcm = {"service_account": json.dumps(account), "token_uri": google.token_uri,
               "api_base_url": fcm_api.url}  # fmt: skip
        async with serve_h2(apns_reply, tls) as apns:
            await _providers(client, tenant, apns.url, fcm)
            notification = await send(
                client, tenant.headers, channels=["push"], targets={"users": ["ann", "bob", "cid"]},
                message="Ann is calling", correlationId="call-1",
            )  # fmt: skip
            async with push_worker(worker_settings(database_url), tls.client):

                async def answered() -> bool:
                    rows = await deliveries_of(db, notification)
                    return len(rows) == 5 and all(
                        r.attempts and r.leased_until is None for r in rows
                    )

                await wait_until(answered, what="every device to be tried once")
            rows = _by_token(await deliveries_of(db, notification))
    assert {token: row.status for token, row in rows.items()} == {
        "ok": "delivered",
        "gone": "permanent-failure",
        "droid": "delivered",
        "busy": "sending",
        None: "permanent-failure",
    }
    assert rows["ok"].provider == "apns" and rows["droid"].provider == "fcm"
    # The default template's push title is the account's name.
    assert rows["ok"].rendered is not None and rows["ok"].rendered["title"] == "acme"
    ios = {request.path: request.headers for request in apns.requests}
    assert ios["/3/device/ok"]["apns-collapse-id"] == "call-1"
    # Beside "aps", seed 001's notification object: the notification itself, as no inbox
    # item was written (a push-only notification).
    payload = json.loads(next(r.body for r in apns.requests if r.path == "/3/device/ok"))
    assert payload["aps"]["alert"] == {"title": "acme", "body": "Ann is calling"}
    assert {key: payload[key] for key in ("id", "type", "subType", "notification_id")} == {
        "id": notification, "type": "custom", "subType": "message", "notification_id": notification
    }  # fmt: skip
    assert (payload["message"], payload["read"]) == ("Ann is calling", False)
    assert payload["read_at"] is None
    assert payload["data"] == {} and payload["message_formatted"] is None
    assert json.loads(fcm_api.requests[0].body)["message"]["android"]["collapse_key"] == "call-1"
    assert await _tokens(db, tenant) == {"ok", "droid", "busy"}
    gone = await _attempts(db, rows["gone"].id)
    assert [a.outcome for a in gone] == ["permanent"]
    assert gone[0].provider_response and gone[0].provider_response["invalid_token"] is True
    busy = await _attempts(db, rows["busy"].id)
    assert [a.outcome for a in busy] == ["technical"] and rows["busy"].attempts == 1
    # Retried on the policy, never sooner than APNs' Retry-After (12 s).
    assert rows["busy"].completed_at is None
    assert rows["busy"].due_at >= busy[0].at + timedelta(seconds=12)
    no_device = await _attempts(db, rows[None].id)
    assert no_device[0].provider_response == {"error": "the user has no registered device"}
