"""Status callbacks in GOV.UK Notify's format: Notify's delivery receipt, field by field as
Notify documents it, POSTed with the endpoint's bearer token through the same runner."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from herald.db import Database
from tests.channels.conftest import Server
from tests.conftest import Tenant
from tests.delivery.conftest import (
    Receiver,
    StartReceiver,
    email_to,
    running_worker,
    wait_finished,
    wait_until,
    worker_settings,
)

pytestmark = pytest.mark.usefixtures("parked")

TOKEN = "a-bearer-token-of-the-service"
NOTIFY_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
RECEIPT_FIELDS = {"id", "reference", "to", "status", "created_at", "completed_at", "sent_at",
                  "notification_type", "template_id", "template_version"}  # fmt: skip
FINAL = ["delivery.delivered", "delivery.permanent-failure", "delivery.technical-failure",
         "delivery.temporary-failure"]  # fmt: skip


async def _put(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> httpx.Response:
    return await client.put("/v1/callbacks", json=body, headers=tenant.headers)


async def test_a_notify_endpoint_takes_a_bearer_token_and_hears_final_statuses(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    url = "http://127.0.0.1:9/receipts"
    answer = await _put(client, tenant, url=url, format="notify", bearer_token=TOKEN)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"url": url, "events": FINAL, "format": "notify"}
    assert TOKEN not in (await client.get("/v1/callbacks", headers=tenant.headers)).text
    some = await _put(client, tenant, url=url, format="notify", bearer_token=TOKEN,
                      events=["delivery.sending"])  # fmt: skip
    assert some.json()["events"] == ["delivery.sending"]
    refused = [
        ({"format": "notify"}, "/bearer_token"),
        ({"format": "notify", "bearer_token": "short"}, "/bearer_token"),
        ({"events": ["delivery.delivered"], "bearer_token": TOKEN}, "/bearer_token"),
        ({"format": "notify", "bearer_token": TOKEN, "events": ["notification.action"]},
         "/events/0"),
        ({}, "/events"),
        ({"format": "webhooks", "events": ["delivery.delivered"]}, "/format"),
    ]  # fmt: skip
    for body, pointer in refused:
        wrong = await _put(client, tenant, url=url, **body)
        assert wrong.status_code == 422, body
        assert wrong.json()["error"]["details"][0]["path"] == pointer, body


async def test_each_final_status_is_posted_as_notifys_receipt(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    database_url: str,
    smtp: Server,
    start_receiver: StartReceiver,
) -> None:
    receiver = await start_receiver(Receiver())
    answer = await _put(client, tenant, url=receiver.url(), format="notify", bearer_token=TOKEN)
    assert answer.status_code == 200, answer.text
    smtp.sink.refuse = {"gone@example.com": "550 5.1.1 No such user"}
    notification = await email_to(client, tenant, "ok@example.com", "gone@example.com")
    async with running_worker(worker_settings(database_url, smtp)):
        deliveries = await wait_finished(db, notification)

        async def both() -> bool:
            return len(receiver.requests) >= 2

        await wait_until(both, what="two receipts")
    receipts = {}
    for request in receiver.requests:
        headers = {name.lower(): value for name, value in request.headers.items()}
        assert headers["authorization"] == f"Bearer {TOKEN}"
        assert headers["content-type"] == "application/json"
        assert not any(name.startswith("webhook-") for name in headers)
        body = json.loads(request.body)
        assert set(body) == RECEIPT_FIELDS
        receipts[body["to"]] = body
    by_address = {d.recipient["email"]: d for d in deliveries}
    delivered, failed = receipts["ok@example.com"], receipts["gone@example.com"]
    assert (delivered["status"], failed["status"]) == ("delivered", "permanent-failure")
    for receipt in (delivered, failed):
        assert receipt["id"] == notification
        assert receipt["notification_type"] == "email"
        assert receipt["reference"] is None
        assert receipt["template_id"] == "custom-message"
        assert receipt["template_version"] == by_address[receipt["to"]].template_version
        assert NOTIFY_TIME.match(receipt["created_at"])
        assert NOTIFY_TIME.match(receipt["completed_at"])
    assert NOTIFY_TIME.match(delivered["sent_at"])
