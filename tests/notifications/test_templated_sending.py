"""Sending with a template: accept-time checks, and in-app text from the template's in_app
part, once for everyone or per recipient (``user.*``, locales, correlated chains)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from herald.db import Database
from herald.delivery.models import Delivery
from herald.notifications.models import Notification
from tests.conftest import MakeTenant, Tenant
from tests.notifications.helpers import call_event, inbox, user_headers

GREETING = {
    "id": "greeting",
    "channels": {
        "in_app": {
            "message": "Hi {{ user.first_name }}, {{ topic }}",
            "message_formatted": "<p>Hi <b>{{ user.first_name }}</b>, {{ topic }}</p>",
        },
        "email": {"subject": "{{ topic }}", "text": "Dear {{ user.first_name }}"},
    },
}
NEWS = {
    "id": "news",
    "channels": {"in_app": {"message": "News for {{ account.name }}: {{ topic }}"}},
}


async def _user(
    client: httpx.AsyncClient, tenant: Tenant, external_id: str, **profile: Any
) -> None:
    made = await client.put(f"/v1/users/{external_id}", json=profile, headers=tenant.headers)
    assert made.status_code in (200, 201), made.text


async def _template(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> None:
    made = await client.post("/v1/templates", json=body, headers=tenant.headers)
    assert made.status_code == 201, made.text


def _message(template: str, users: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "type": "custom",
        "subType": "message",
        "message": "fallback text",
        "targets": {"users": users},
        "template": template,
        **extra,
    }


async def _send(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> str:
    sent = await client.post("/v1/notifications", json=body, headers=tenant.headers)
    assert sent.status_code == 202, sent.text
    notification_id: str = sent.json()["id"]
    return notification_id


async def _texts(
    client: httpx.AsyncClient, tenant: Tenant, *users: str
) -> dict[str, tuple[str, str | None]]:
    found = {}
    for user in users:
        [item] = (await inbox(client, await user_headers(client, tenant, user)))["data"]
        found[user] = (item["message"], item["message_formatted"])
    return found


async def test_in_app_text_is_rendered_for_each_recipient(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _user(client, tenant, "ann", first_name="Ann")
    await _user(client, tenant, "bob", first_name="Bob")
    await _template(client, tenant, GREETING)
    body = _message("greeting", ["ann", "bob"], personalisation={"topic": "rota <v2>"})
    await _send(client, tenant, body)
    assert await _texts(client, tenant, "ann", "bob") == {
        "ann": ("Hi Ann, rota <v2>", "<p>Hi <b>Ann</b>, rota &lt;v2&gt;</p>"),
        "bob": ("Hi Bob, rota <v2>", "<p>Hi <b>Bob</b>, rota &lt;v2&gt;</p>"),
    }


async def test_a_text_without_user_fields_is_the_same_for_everyone(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _user(client, tenant, "ann")
    await _user(client, tenant, "bob")
    await _template(client, tenant, NEWS)
    await _send(client, tenant, _message("news", ["ann", "bob"], personalisation={"topic": "Q3"}))
    texts = await _texts(client, tenant, "ann", "bob")
    assert texts["ann"] == texts["bob"] == ("News for acme: Q3", None)


async def test_missing_personalisation_is_400_naming_every_field(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await _user(client, tenant, "ann", first_name="Ann")
    template = {
        "id": "needs",
        "channels": {"in_app": {"message": "{{ a }} {{ b }} {{ payload.ref }}"}},
    }
    await _template(client, tenant, template)
    answer = await client.post(
        "/v1/notifications",
        json=_message("needs", ["ann"], personalisation={"b": 1}),
        headers=tenant.headers,
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "missing_personalisation"
    assert sorted(d["path"] for d in error["details"]) == ["/payload/ref", "/personalisation/a"]
    assert await _notifications(db, tenant) == 0  # nothing was written


async def test_a_recipient_lacking_a_user_field_is_named(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await _user(client, tenant, "ann", first_name="Ann")
    await _user(client, tenant, "nameless")
    await _template(client, tenant, GREETING)
    answer = await client.post(
        "/v1/notifications",
        json=_message("greeting", ["ann", "nameless"], personalisation={"topic": "x"}),
        headers=tenant.headers,
    )
    assert answer.status_code == 400, answer.text
    [detail] = answer.json()["error"]["details"]
    assert detail["path"] == "/personalisation/user/first_name"
    assert detail["message"].endswith("missing for nameless")
    assert await _notifications(db, tenant) == 0


async def test_unknown_template_is_422_at_template(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: MakeTenant
) -> None:
    await _user(client, tenant, "ann")
    other = await make_tenant("other")
    await _template(client, other, NEWS)  # another tenant's template is not visible
    answer = await client.post(
        "/v1/notifications", json=_message("news", ["ann"]), headers=tenant.headers
    )
    assert answer.status_code == 422, answer.text
    assert [d["path"] for d in answer.json()["error"]["details"]] == ["/template"]


async def test_a_disabled_template_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await _user(client, tenant, "ann")
    await _template(client, tenant, {**NEWS, "enabled": False})
    answer = await client.post(
        "/v1/notifications",
        json=_message("news", ["ann"], personalisation={"topic": "x"}),
        headers=tenant.headers,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "template_disabled"


async def test_a_child_accounts_override_is_used_for_its_users(
    client: httpx.AsyncClient, make_tenant: MakeTenant
) -> None:
    reseller = await make_tenant("reseller")
    child = await make_tenant("child", parent=reseller)
    await _template(client, reseller, NEWS)
    override = {"channels": {"in_app": {"message": "Child news: {{ topic }}"}}}
    put = await client.put("/v1/templates/news", json=override, headers=child.headers)
    assert put.status_code in (200, 201), put.text
    for tenant in (reseller, child):
        await _user(client, tenant, "ann")
        await _send(client, tenant, _message("news", ["ann"], personalisation={"topic": "Q3"}))
    assert (await _texts(client, reseller, "ann"))["ann"][0] == "News for reseller: Q3"
    assert (await _texts(client, child, "ann"))["ann"][0] == "Child news: Q3"


async def test_each_recipient_reads_its_own_locale(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _user(client, tenant, "dafydd", locale="cy-GB")
    await _user(client, tenant, "ann")
    event = call_event("missedCall", {"users": ["dafydd", "ann"]})
    await _send(client, tenant, {**event, "template": "missed-call"})
    texts = await _texts(client, tenant, "dafydd", "ann")
    assert texts["dafydd"][0] == "Galwad a gollwyd gan 07123 456789"
    assert texts["ann"][0] == "Missed call from 07123 456789"


async def test_a_correlated_event_retexts_every_item_of_the_chain(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await _user(client, tenant, "ann", first_name="Ann")
    await _user(client, tenant, "bob", first_name="Bob")
    calls = {
        "id": "calls",
        "channels": {"in_app": {"message": "{{ user.first_name }}: {{ payload.callerId }}"}},
    }
    await _template(client, tenant, calls)
    ringing = call_event("incomingCall", {"users": ["ann", "bob"]}, callerId="07000 000001")
    await _send(client, tenant, {**ringing, "template": "calls"})
    # The second event names only Ann; Bob, an earlier recipient of the chain, is updated too.
    ended = call_event("endedCall", {"users": ["ann"]}, callerId="07000 000002")
    await _send(client, tenant, {**ended, "template": "calls"})
    texts = await _texts(client, tenant, "ann", "bob")
    assert texts["ann"][0] == "Ann: 07000 000002"
    assert texts["bob"][0] == "Bob: 07000 000002"


async def test_without_a_template_the_text_is_as_before(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await _user(client, tenant, "ann", first_name="Ann")
    event = call_event("incomingCall", {"users": ["ann"]})
    notification_id = await _send(client, tenant, event)
    assert (await _texts(client, tenant, "ann"))["ann"] == (
        "Incoming call from 07123 456789",
        "<p>Incoming call from 07123 456789</p>",
    )
    async with db.sessions() as session:
        stored = await session.get(Notification, uuid.UUID(notification_id))
    assert stored is not None and stored.template is None


async def test_deliveries_carry_what_the_worker_renders(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await _user(client, tenant, "ann", first_name="Ann", email="ann@example.com")
    await _template(client, tenant, GREETING)
    body = _message(
        "greeting", ["ann"], personalisation={"topic": "Rota"}, channels=["in_app", "email"]
    )
    notification_id = uuid.UUID(await _send(client, tenant, body))
    async with db.sessions() as session:
        notification = await session.get(Notification, notification_id)
        deliveries = list(
            await session.scalars(
                select(Delivery).where(Delivery.notification_id == notification_id)
            )
        )
    # The worker renders at send time from the notification (template, personalisation,
    # payload) for the delivery's account and the recipient's locale.
    assert notification is not None
    assert (notification.template, notification.personalisation) == ("greeting", {"topic": "Rota"})
    assert [(d.channel, d.account_id, d.recipient) for d in deliveries] == [
        ("email", tenant.account_id, {"user": "ann"})
    ]


async def _notifications(db: Database, tenant: Tenant) -> int:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(Notification.id).where(Notification.account_id == tenant.account_id)
        )
        return len(list(rows))
