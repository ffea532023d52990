"""Email end to end against a real SMTP server: headers, parts, addressing, the log, and
what 4xx, 5xx and a connection lost after the data do."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from herald.config import Settings
from herald.db import Database, utcnow
from herald.delivery.models import Delivery
from tests.channels.conftest import ACCEPTED, Server
from tests.conftest import Tenant
from tests.delivery.conftest import (
    deliveries_of,
    email_to,
    parsed,
    running_worker,
    send,
    wait_finished,
    wait_until,
    worker_settings,
)

pytestmark = pytest.mark.usefixtures("parked")

VOICEMAIL = {
    "id": "voicemail",
    "channels": {
        "email": {
            "subject": "Hello {{ user.first_name }}, you received a new voicemail!",
            "html": "<p>Dear {{ user.first_name }},</p><p>A call from <b>{{ caller }}</b>.</p>",
            "text": "Dear {{ user.first_name }},\nA call from {{ caller }}.",
            "from": "Voicemail <peter@email.org>",
            "reply_to": "help@email.org",
            "to": {"type": "original"},
            "cc": {"type": "specified", "email_addresses": ["desk@email.org"]},
            "bcc": {"type": "admins"},
        }
    },
}


async def _mine(sink: Server, delivery_id: str) -> list[bytes]:
    return [
        r.content
        for r in sink.sink.received
        if parsed(r.content)["X-Herald-Delivery-Id"] == delivery_id
    ]


async def test_a_templated_email_arrives_with_headers_parts_and_a_logged_receipt(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, database_url: str, smtp: Server
) -> None:
    h = tenant.headers
    await client.put(
        "/v1/users/ann", json={"first_name": "Ann", "email": "ann@example.com"}, headers=h
    )
    await client.put("/v1/users/boss", json={"admin": True, "email": "boss@example.com"}, headers=h)
    assert (await client.post("/v1/templates", json=VOICEMAIL, headers=h)).status_code == 201
    notification = await send(
        client,
        h,
        template="voicemail",
        targets={"users": ["ann"]},
        personalisation={"caller": "07123"},
    )
    async with running_worker(worker_settings(database_url, smtp)):
        [delivery] = await wait_finished(db, notification)
    delivery_id = str(delivery.id)
    [raw] = await _mine(smtp, delivery_id)
    [received] = [r for r in smtp.sink.received if r.content == raw]
    assert sorted(received.rcpt_tos) == ["ann@example.com", "boss@example.com", "desk@email.org"]
    assert received.mail_from == "peter@email.org"
    mail = parsed(raw)
    assert mail["Subject"] == "Hello Ann, you received a new voicemail!"
    assert mail["From"] == "Voicemail <peter@email.org>"
    assert (mail["To"], mail["Cc"], mail["Bcc"]) == ("ann@example.com", "desk@email.org", None)
    assert mail["Reply-To"] == "help@email.org"
    assert mail["Message-ID"] == f"<{delivery_id}@email.org>"
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and "A call from 07123." in plain.get_content()
    assert html is not None and "<b>07123</b>" in html.get_content()

    log = (await client.get(f"/v1/deliveries/{delivery_id}", headers=h)).json()
    assert log["status"] == "delivered" and log["provider"] == "smtp"
    assert log["receipt"] == ACCEPTED
    assert log["template_id"] == "voicemail" and log["template_version"] == 1
    assert log["rendered"]["subject"] == mail["Subject"]
    assert "<b>07123</b>" in log["rendered"]["text/html"]
    assert log["rendered"]["text/plain"] == "Dear Ann,\nA call from 07123."
    assert log["rendered"]["emails"]["bcc"] == ["boss@example.com"]
    assert [a["outcome"] for a in log["attempts"]] == ["delivered"]
    assert log["attempts"][0]["provider_response"]["code"] == 250
    assert log["sent_at"] and log["completed_at"] and log["possible_duplicate"] is False


async def _make_due(db: Database, notification: str) -> None:
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Delivery)
            .where(Delivery.notification_id == uuid.UUID(notification))
            .values(due_at=utcnow() - timedelta(seconds=1))
        )


async def _attempted(db: Database, notification: str, count: int) -> None:
    async def check() -> bool:
        rows = await deliveries_of(db, notification)
        return bool(rows) and rows[0].leased_by is None and rows[0].attempts >= count

    await wait_until(check, what=f"{count} attempts")


async def test_a_4xx_is_retried_later_then_delivered(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, database_url: str, smtp: Server
) -> None:
    smtp.sink.reply = "451 4.3.0 Try again later"
    notification = await email_to(client, tenant, "later@example.com")
    settings = worker_settings(database_url, smtp)
    async with running_worker(settings):
        await _attempted(db, notification, 1)
        [waiting] = await deliveries_of(db, notification)
        assert waiting.status == "sending" and waiting.due_at > utcnow()
        smtp.sink.reply = ACCEPTED
        await _make_due(db, notification)
        [delivery] = await wait_finished(db, notification)
    log = (await client.get(f"/v1/deliveries/{delivery.id}", headers=tenant.headers)).json()
    assert log["status"] == "delivered"
    assert [a["outcome"] for a in log["attempts"]] == ["temporary", "delivered"]
    assert log["attempts"][0]["provider_response"]["code"] == 451


async def test_a_5xx_is_a_permanent_failure(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, database_url: str, smtp: Server
) -> None:
    smtp.sink.reply = "550 5.1.1 No such user"
    notification = await email_to(client, tenant, "nobody@example.com")
    async with running_worker(worker_settings(database_url, smtp)):
        [delivery] = await wait_finished(db, notification)
    log = (await client.get(f"/v1/deliveries/{delivery.id}", headers=tenant.headers)).json()
    assert log["status"] == "permanent-failure" and log["receipt"] is None
    assert [a["outcome"] for a in log["attempts"]] == ["permanent"]
    assert log["attempts"][0]["provider_response"]["code"] == 550


async def test_a_drop_after_the_data_is_retried_and_flagged_with_the_same_ids(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, database_url: str, smtp: Server
) -> None:
    smtp.sink.reply = None  # takes the data, then hangs up without answering
    notification = await email_to(client, tenant, "twice@example.com")
    async with running_worker(worker_settings(database_url, smtp)):
        await _attempted(db, notification, 1)
        smtp.sink.reply = ACCEPTED
        await _make_due(db, notification)
        [delivery] = await wait_finished(db, notification)
    assert delivery.status == "delivered" and delivery.possible_duplicate is True
    copies = [parsed(raw) for raw in await _mine(smtp, str(delivery.id))]
    assert len(copies) == 2
    assert copies[0]["Message-ID"] == copies[1]["Message-ID"] == f"<{delivery.id}@herald.org>"
    log = (await client.get(f"/v1/deliveries/{delivery.id}", headers=tenant.headers)).json()
    assert [a["outcome"] for a in log["attempts"]] == ["technical", "delivered"]


async def test_without_an_email_address_it_fails_at_once_and_sends_nothing(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, database_url: str, smtp: Server
) -> None:
    await client.put("/v1/users/noemail", json={"name": "No Email"}, headers=tenant.headers)
    notification = await send(client, tenant.headers, targets={"users": ["noemail"]})
    async with running_worker(worker_settings(database_url, smtp)):
        [delivery] = await wait_finished(db, notification)
    assert delivery.status == "permanent-failure" and delivery.rendered is None
    assert await _mine(smtp, str(delivery.id)) == []


async def test_the_default_template_of_the_type_is_used_when_none_is_named(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, database_url: str, smtp: Server
) -> None:
    notification = await email_to(client, tenant, "x@example.com", message="Your parcel is here")
    settings: Settings = worker_settings(database_url, smtp)
    async with running_worker(settings):
        [delivery] = await wait_finished(db, notification)
    [raw] = await _mine(smtp, str(delivery.id))
    mail = parsed(raw)
    assert mail["Subject"] == "A message from acme"
    assert mail["From"] == "Herald <noreply@herald.org>"
    html = mail.get_body(("html",))
    assert html is not None and "Your parcel is here" in html.get_content()
    assert delivery.template_id == "custom-message" and delivery.template_version is not None
