"""SMS through the worker: the HTTP provider (Twilio-style) and SMPP against local servers,
receipts ending ``delivered``, and the allowance committed or released by the outcome."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from herald.db import Database
from herald.delivery.models import Delivery
from tests.channels.servers.http import Reply, Request, serve
from tests.channels.servers.smpp import Smsc, running
from tests.conftest import Tenant
from tests.delivery.conftest import running_worker, wait_finished, wait_until, worker_settings
from tests.sms.conftest import Family, approve, charges, text

pytestmark = pytest.mark.usefixtures("parked")

UK = "+447400123456"


def twilio(request: Request) -> Reply:
    """A Twilio-like Messages API: a message id, or a permanent refusal for one number."""
    fields = parse_qs(request.body.decode())
    if fields["To"] == ["+12025550123"]:
        error = {"code": 21211, "message": "The 'To' number is not a valid phone number."}
        return Reply(400, json.dumps(error).encode())
    sid = f"SM{uuid.uuid4().hex}"
    return Reply(201, json.dumps({"sid": sid, "status": "queued"}).encode())


async def _http_provider(client: httpx.AsyncClient, tenant: Tenant, url: str) -> None:
    settings = {"url": f"{url}/2010-04-01/Messages.json", "receipt_url_field": "StatusCallback"}
    answer = await client.put(
        "/v1/providers/sms/http", json={"settings": settings}, headers=tenant.headers
    )
    assert answer.status_code == 200, answer.text


async def _delivery(db: Database, delivery_id: str) -> Delivery:
    async with db.sessions() as session:
        found = await session.get(Delivery, uuid.UUID(delivery_id))
        assert found is not None
        return found


async def test_http_provider_and_its_receipt(
    client: httpx.AsyncClient, family: Family, db: Database, database_url: str
) -> None:
    child = family.child
    await approve(client, family, "Shop")
    with serve(twilio) as server:
        await _http_provider(client, child, server.url)
        sent = await text(
            client, child, "447400123456", body="Your table is ready", endpoint="Shop"
        )
        delivery_id = sent.json()["messages"][0]["id"]
        async with running_worker(worker_settings(database_url)):

            async def accepted() -> bool:
                return (await _delivery(db, delivery_id)).provider_message_id is not None

            await wait_until(accepted, what="the provider to take the SMS")
    [request] = server.requests
    fields = parse_qs(request.body.decode())
    assert (fields["To"], fields["From"], fields["Body"]) == (
        [UK],
        ["Shop"],
        ["Your table is ready"],
    )
    waiting = await _delivery(db, delivery_id)
    assert (waiting.status, waiting.provider, waiting.receipt) == ("sending", "http", "queued")
    assert (await charges(db, child.account_id))[waiting.id] == (1, "committed")
    callback = urlsplit(fields["StatusCallback"][0]).path
    receipt = {"MessageSid": waiting.provider_message_id, "MessageStatus": "delivered"}
    assert (
        await client.post(callback, data={**receipt, "MessageStatus": "sent"})
    ).status_code == 204
    assert (await _delivery(db, delivery_id)).status == "sending"
    assert (await client.post(callback, data=receipt)).status_code == 204
    done = await _delivery(db, delivery_id)
    assert (done.status, done.receipt) == ("delivered", "delivered")
    forged = callback.rsplit("/", 1)[0] + "/" + "0" * 40
    assert (await client.post(forged, data=receipt)).status_code == 404


async def test_a_permanent_refusal_releases_the_segments(
    client: httpx.AsyncClient, family: Family, db: Database, database_url: str
) -> None:
    child = family.child
    with serve(twilio) as server:
        await _http_provider(client, child, server.url)
        sent = await text(client, child, "12025550123", body="x" * 200)
        async with running_worker(worker_settings(database_url)):
            [delivery] = await wait_finished(db, await _notification(db, sent.json()))
    assert delivery.status == "permanent-failure"
    assert (await charges(db, child.account_id))[delivery.id] == (2, "released")


async def _notification(db: Database, answer: dict[str, Any]) -> str:
    return str((await _delivery(db, answer["messages"][0]["id"])).notification_id)


async def test_a_failure_receipt_releases_a_committed_charge(
    client: httpx.AsyncClient, family: Family, db: Database, database_url: str
) -> None:
    child = family.child
    with serve(twilio) as server:
        await _http_provider(client, child, server.url)
        sent = await text(client, child, UK)
        delivery_id = sent.json()["messages"][0]["id"]
        async with running_worker(worker_settings(database_url)):

            async def accepted() -> bool:
                return (await _delivery(db, delivery_id)).provider_message_id is not None

            await wait_until(accepted, what="the provider to take the SMS")
    fields = parse_qs(server.requests[0].body.decode())
    waiting = await _delivery(db, delivery_id)
    receipt = {
        "MessageSid": waiting.provider_message_id,
        "MessageStatus": "failed",
        "ErrorCode": "30008",
    }
    callback = urlsplit(fields["StatusCallback"][0]).path
    assert (await client.post(callback, data=receipt)).status_code == 204
    failed = await _delivery(db, delivery_id)
    assert (failed.status, failed.receipt) == ("permanent-failure", "failed (error 30008)")
    assert (await charges(db, child.account_id))[failed.id] == (1, "released")


async def test_smpp_with_its_delivery_receipt(
    client: httpx.AsyncClient, family: Family, db: Database, database_url: str
) -> None:
    child = family.child
    await approve(client, family, "Shop")
    async with running(Smsc()) as smsc:
        settings = {
            "host": "127.0.0.1",
            "port": smsc.port,
            "system_id": "herald",
            "password": "secret",
        }
        answer = await client.put(
            "/v1/providers/sms/smpp", json={"settings": settings}, headers=child.headers
        )
        assert answer.status_code == 200, answer.text
        sent = await text(client, child, UK, body="Hello over SMPP", endpoint="Shop")
        notification_id = await _notification(db, sent.json())
        async with running_worker(worker_settings(database_url)):
            [delivery] = await wait_finished(db, notification_id)
    [submit] = smsc.submits
    assert (submit.destination_addr, submit.source_addr) == ("447400123456", "Shop")
    assert submit.short_message == b"Hello over SMPP"
    assert smsc.receipt_answers == [0]
    assert (delivery.status, delivery.provider, delivery.receipt) == (
        "delivered",
        "smpp",
        "DELIVRD",
    )
    assert delivery.provider_message_id == "msg-1"
    assert (await charges(db, child.account_id))[delivery.id] == (1, "committed")
