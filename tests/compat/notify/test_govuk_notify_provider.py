"""Herald sending through GOV.UK Notify, against a real peer that speaks Notify's protocol:
Herald's own ``/v2`` served over HTTP, where a second account is the "Notify service". The
sender maps its template to the service's Notify templates; the service's delivery receipts
come back through its Notify-format callback and end the sender's deliveries. Checked on
the service's side with Notify's official client."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from notifications_python_client.notifications import NotificationsAPIClient

from tests.bus.conftest import free_port
from tests.channels.conftest import Server
from tests.channels.servers.http import Reply, serve
from tests.conftest import MakeTenant, Tenant
from tests.delivery.conftest import running_worker, smtp, wait_until, worker_settings

pytestmark = pytest.mark.usefixtures("parked")
__all__ = ["smtp"]  # the SMTP server fixture, used by name

TOKEN = "callback-token-of-the-sender"
FINAL = {"delivered", "temporary-failure", "permanent-failure", "technical-failure", "cancelled"}
ADDRESS = {"lines": ["Ann Jones", "2 High Street", "London"], "postcode": "E8 1AA"}
TWILIO = Reply(201, b'{"sid": "SM1", "status": "queued"}')


@pytest.fixture
async def base_url(app: FastAPI) -> AsyncIterator[str]:
    """The test application served over HTTP on a free port (its lifespan already runs)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return bool(server.started)

    await wait_until(started, what="the HTTP server to listen")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


WELCOME = "# Welcome\n\nDear ((name)),\n\nYour code is ((code))."
NOTIFY_TEMPLATES = {
    "email": {"friendly_name": "Welcome email",
              "channels": {"email": {"subject": "Welcome, ((name))", "text": WELCOME}}},
    "sms": {"friendly_name": "Text", "channels": {"sms": {"body": "Your code is ((code))"}}},
    "letter": {"friendly_name": "Welcome letter",
               "channels": {"letter": {"subject": "Welcome", "body": "Dear ((name))"}}},
}  # fmt: skip
SENDER_TEMPLATE = {
    "id": "welcome",
    "channels": {
        "email": {"subject": "Welcome {{ name }}", "text": "Dear {{ name }}: {{ code }}"},
        "sms": {"body": "Code {{ code }}"},
        "letter": {"body": "Dear {{ name }}"},
    },
}


async def _notify_service(
    http: httpx.AsyncClient, service: Tenant, sender: Tenant, base_url: str, stub: str
) -> tuple[str, dict[str, str]]:
    """The service: a live Notify key, its templates, an SMS provider and a printer, and its
    Notify-format callback to the sender's receipts."""
    h = service.headers
    key = await http.post("/v1/keys", json={"notify": True, "type": "live", "name": "h"}, headers=h)
    templates = {}
    for kind, body in NOTIFY_TEMPLATES.items():
        templates[kind] = str(uuid.uuid4())
        made = await http.post("/v1/templates", json={"id": templates[kind], **body}, headers=h)
        assert made.status_code == 201, made.text
    printer = {"url": stub, "token": "print-room-token"}
    for path, settings in (("sms/http", {"url": stub}), ("letter/http_upload", printer)):
        put = await http.put(f"/v1/providers/{path}", json={"settings": settings}, headers=h)
        assert put.status_code == 200, put.text
    receipts = f"{base_url}/v1/receipts/govuk_notify?account={sender.account_id}"
    callback = {"url": receipts, "format": "notify", "bearer_token": TOKEN}
    assert (await http.put("/v1/callbacks", json=callback, headers=h)).status_code == 200
    return str(key.json()["api_key"]), templates


async def _sender(
    http: httpx.AsyncClient, sender: Tenant, key: str, templates: dict[str, str], base_url: str
) -> None:
    h = sender.headers
    for template in (SENDER_TEMPLATE, {**SENDER_TEMPLATE, "id": "unknown"}):
        assert (await http.post("/v1/templates", json=template, headers=h)).status_code == 201
    for channel in ("email", "sms", "letter"):
        mapping = {"welcome": templates[channel], "unknown": str(uuid.uuid4())}
        settings = {"api_key": key, "base_url": base_url, "templates": mapping,
                    "callback_bearer_token": TOKEN}  # fmt: skip
        put = await http.put(f"/v1/providers/{channel}/govuk_notify",
                             json={"settings": settings}, headers=h)  # fmt: skip
        assert put.status_code == 200, put.text
        assert put.json()["settings"]["api_key"] == "**********"


async def _finished(
    http: httpx.AsyncClient, tenant: Tenant, notification_id: str
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}

    async def done() -> bool:
        answer = await http.get("/v1/deliveries", params={"notification_id": notification_id},
                                headers=tenant.headers)  # fmt: skip
        data = answer.json()["data"]
        found.update({d["channel"]: d for d in data})
        return bool(data) and all(d["status"] in FINAL for d in data)

    await wait_until(done, what="the deliveries to finish")
    return found


def _notify_id(delivery: dict[str, Any]) -> str:
    """The notification id Notify answered (the attempt's logged answer)."""
    answer = json.loads(delivery["attempts"][0]["provider_response"]["body"])
    return str(answer["id"])


async def test_herald_sends_through_notify_and_follows_each_status(
    client: httpx.AsyncClient, make_tenant: MakeTenant, base_url: str, database_url: str,
    smtp: Server,
) -> None:  # fmt: skip
    service, sender = await make_tenant("notify service"), await make_tenant("sender")
    envelope = {"type": "custom", "subType": "message", "message": "welcome",
                "channels": ["email", "sms", "letter"],
                "personalisation": {"name": "Ann", "code": "4321"},
                "targets": {"emails": ["ann@example.com"], "phones": ["+447400123456"],
                            "addresses": [ADDRESS]}}  # fmt: skip
    with serve(TWILIO) as stub:
        key, templates = await _notify_service(client, service, sender, base_url, stub.url)
        await _sender(client, sender, key, templates, base_url)
        h = sender.headers
        sent = await client.post("/v1/notifications", json={**envelope, "template": "welcome"},
                                 headers=h)  # fmt: skip
        assert sent.status_code == 202, sent.text
        refused = await client.post("/v1/notifications", headers=h, json={
            **envelope, "template": "unknown", "channels": ["email"]})  # fmt: skip
        async with running_worker(worker_settings(database_url, smtp)):
            delivered = await _finished(client, sender, sent.json()["id"])
            failed = (await _finished(client, sender, refused.json()["id"]))["email"]
    assert {d["provider"] for d in delivered.values()} == {"govuk_notify"}
    # Each was delivered by the service (mail in its SMTP server, its SMS provider and
    # printer called), and its receipt ended the sender's delivery.
    for channel in ("email", "sms", "letter"):
        assert (delivered[channel]["status"], delivered[channel]["receipt"]) == (
            "delivered", "received" if channel == "letter" else "delivered"
        )  # fmt: skip
    [mail] = [r for r in smtp.sink.received if r.rcpt_tos == ["ann@example.com"]]
    message = message_from_bytes(mail.content, policy=policy.default)
    assert message["Subject"] == "Welcome, Ann"
    body = message.get_body(("plain",))
    assert body is not None and "Your code is 4321." in body.get_content()
    assert {r.path for r in stub.requests} == {"/"}
    # The service's own view of what it was sent, with Notify's official client.
    notify = NotificationsAPIClient(key, base_url=base_url)
    seen = {
        kind: await asyncio.to_thread(notify.get_notification_by_id, _notify_id(d))
        for kind, d in delivered.items()
    }
    assert seen["email"]["reference"] == delivered["email"]["id"]
    assert seen["email"]["template"]["id"] == templates["email"]
    assert (seen["email"]["status"], seen["email"]["email_address"]) == (
        "delivered", "ann@example.com"
    )  # fmt: skip
    assert (seen["sms"]["phone_number"], seen["sms"]["body"]) == (
        "+447400123456", "Your code is 4321"
    )  # fmt: skip
    assert (seen["letter"]["line_1"], seen["letter"]["line_4"]) == ("Ann Jones", "E8 1AA")
    assert seen["letter"]["status"] == "received"
    # A Notify template the service does not have: Notify's 400, permanent, one attempt.
    assert failed["status"] == "permanent-failure"
    [attempt] = failed["attempts"]
    assert attempt["provider_response"]["status_code"] == 400
    assert "BadRequestError" in attempt["provider_response"]["body"]


async def test_a_receipt_needs_the_providers_token_and_a_known_message(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    key = f"h-{uuid.uuid4()}-{uuid.uuid4()}"
    settings = {"api_key": key, "callback_bearer_token": TOKEN}
    put = await client.put("/v1/providers/sms/govuk_notify", json={"settings": settings},
                           headers=tenant.headers)  # fmt: skip
    assert put.status_code == 200, put.text
    path = f"/v1/receipts/govuk_notify?account={tenant.account_id}"
    receipt = {"id": str(uuid.uuid4()), "status": "delivered", "notification_type": "sms"}
    for headers in ({}, {"Authorization": "Bearer another-token"}, {"Authorization": TOKEN}):
        assert (await client.post(path, json=receipt, headers=headers)).status_code == 401
    ours = {"Authorization": f"Bearer {TOKEN}"}
    early = await client.post(path, json=receipt, headers=ours)
    assert (early.status_code, early.headers["retry-after"]) == (503, "5")
    assert early.json()["error"]["code"] == "try_later"
    malformed = await client.post(path, json={"status": "delivered"}, headers=ours)
    assert malformed.status_code == 422
