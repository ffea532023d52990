"""Received SMS: Twilio's signed incoming-message webhook for the HTTP provider, SMPP's
deliver_sm on the provider's own session, kept per account and listed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from typing import Any

import httpx
import pytest

from herald.channels.sms.http import signature
from herald.db import Database
from herald.sms.inbound import list_received
from tests.channels.servers.smpp import Smsc, running
from tests.conftest import Tenant
from tests.delivery.conftest import running_worker, wait_until, worker_settings
from tests.sms.conftest import Family, text

TOKEN = "f3a1c2d9e8b7a6f5e4d3c2b1a0918273"
PUBLIC = "http://127.0.0.1:8000"  # HERALD_PUBLIC_URL of the test settings: what Twilio calls


def test_the_signature_is_twilios_published_example() -> None:
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}  # fmt: skip
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature(url, params, "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def twilio_signature(url: str, fields: dict[str, str], token: str = TOKEN) -> str:
    """As Twilio's documentation computes it, independently of Herald's code."""
    data = url + "".join(name + fields[name] for name in sorted(fields))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


async def _provider(client: httpx.AsyncClient, tenant: Tenant) -> None:
    settings = {
        "url": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
        "auth": {"kind": "basic", "username": "AC1", "password": TOKEN},
    }
    answer = await client.put(
        "/v1/providers/sms/http", json={"settings": settings}, headers=tenant.headers
    )
    assert answer.status_code == 200, answer.text


def incoming(sid: str, body: str = "STOP") -> dict[str, str]:
    return {"MessageSid": sid, "AccountSid": "AC1", "From": "+447700900123",
            "To": "+447400123456", "Body": body, "NumMedia": "0"}  # fmt: skip


async def _post(
    client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, str], sign: str | None
) -> httpx.Response:
    path = f"/v1/providers/sms/http/inbound?account={tenant.account_id}"
    headers = {"X-Twilio-Signature": sign} if sign is not None else {}
    return await client.post(path, data=fields, headers=headers)


async def _incoming(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    answer = await client.get("/v1/messages?direction=incoming", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


async def test_a_signed_twilio_webhook_is_kept_once(
    client: httpx.AsyncClient, family: Family
) -> None:
    tenant = family.child
    await _provider(client, tenant)
    url = f"{PUBLIC}/v1/providers/sms/http/inbound?account={tenant.account_id}"
    fields = incoming("SM" + "1" * 32, "Yes please, book me in")
    answer = await _post(client, tenant, fields, twilio_signature(url, fields))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    assert answer.text == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    # Twilio retries a webhook that timed out: the same MessageSid is kept once.
    again = await _post(client, tenant, fields, twilio_signature(url, fields))
    assert again.status_code == 200
    [message] = await _incoming(client, tenant)
    assert {k: message[k] for k in ("direction", "from", "to", "body", "provider")} == {
        "direction": "incoming",
        "from": "+447700900123",
        "to": "+447400123456",
        "body": "Yes please, book me in",
        "provider": "http",
    }
    assert message["provider_message_id"] == fields["MessageSid"]
    outgoing = await client.get("/v1/messages", headers=tenant.headers)
    assert outgoing.json()["data"] == []
    assert await _incoming(client, family.parent) == []


@pytest.mark.parametrize(
    "sign",
    [
        None,
        "",
        "not-a-signature",
        "sig-of-other-fields",
        "sig-with-other-token",
    ],
)
async def test_an_unsigned_or_wrongly_signed_webhook_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, sign: str | None
) -> None:
    await _provider(client, tenant)
    url = f"{PUBLIC}/v1/providers/sms/http/inbound?account={tenant.account_id}"
    fields = incoming("SM" + "2" * 32)
    if sign == "sig-of-other-fields":
        sign = twilio_signature(url, {**fields, "Body": "something else"})
    elif sign == "sig-with-other-token":
        sign = twilio_signature(url, fields, token="another-token")
    answer = await _post(client, tenant, fields, sign)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"
    assert await _incoming(client, tenant) == []


async def test_inbound_needs_the_accounts_http_provider(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    fields = incoming("SM" + "3" * 32)
    url = f"{PUBLIC}/v1/providers/sms/http/inbound?account={tenant.account_id}"
    assert (await _post(client, tenant, fields, twilio_signature(url, fields))).status_code == 404
    unknown = f"/v1/providers/sms/http/inbound?account={uuid.uuid4()}"
    assert (await client.post(unknown, data=fields)).status_code == 404
    smpp = f"/v1/providers/sms/smpp/inbound?account={tenant.account_id}"
    assert (await client.post(smpp, data=fields)).status_code == 404
    malformed = await client.post("/v1/providers/sms/http/inbound?account=x", data=fields)
    assert malformed.status_code == 422


@pytest.mark.usefixtures("parked")
async def test_smpp_deliver_sm_arrives_on_the_providers_session(
    client: httpx.AsyncClient, family: Family, db: Database, database_url: str
) -> None:
    child = family.child
    async with running(Smsc()) as smsc:
        settings = {"host": "127.0.0.1", "port": smsc.port, "system_id": "herald",
                    "password": "secret"}  # fmt: skip
        answer = await client.put(
            "/v1/providers/sms/smpp", json={"settings": settings}, headers=child.headers
        )
        assert answer.status_code == 200, answer.text
        sent = await text(client, child, "447400123456", body="Reply YES to confirm")
        async with running_worker(worker_settings(database_url)):
            await wait_until(lambda: _sent(smsc), what="the SMS to reach the SMSC")
            await smsc.mobile_originated("447700900123", "447400123456", b"YES", 0)
            reply = "Ydw, diolch \u2013 \u00e2"  # Welsh: UCS-2
            await smsc.mobile_originated("447700900123", "447400123456",
                                         reply.encode("utf-16-be"), 8)  # fmt: skip

            async def both() -> bool:
                return len(await _incoming(client, child)) == 2

            await wait_until(both, what="both messages to be kept")
        assert sent.status_code == 202
    assert smsc.receipt_answers[-2:] == [0, 0]
    newest, oldest = await _incoming(client, child)
    assert (oldest["from"], oldest["to"]) == ("+447700900123", "+447400123456")
    assert oldest["body"] == "YES"
    assert (newest["body"], newest["provider"]) == (reply, "smpp")
    async with db.sessions() as session:
        rows = await list_received(session, account_id=child.account_id)
        assert [r.body for r in rows] == [reply, "YES"]
        older = await list_received(session, account_id=child.account_id, older_than=rows[0].id)
        assert [r.body for r in older] == ["YES"]


async def _sent(smsc: Smsc) -> bool:
    return bool(smsc.submits)
