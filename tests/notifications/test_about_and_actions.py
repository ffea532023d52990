"""What a notification is about, who sent it, the channels its users get, a provider chosen
per notification (sealed, never answered back), actions on the notification as a whole, and
an account's default region, from ``/v1``."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from herald.accounts.secrets import load_signing_key
from herald.config import Settings
from herald.delivery.models import Delivery
from herald.delivery.sealing import unseal
from herald.directory.contact import normalize_phone
from tests.conftest import Database, Tenant
from tests.notifications.helpers import add_users, inbox, user_headers

ESTIMATE = {"id": "est-42", "type": "Estimates"}
NOTIFY_KEY = f"council-{uuid.uuid4()}-{uuid.uuid4()}"


def envelope(**extra: Any) -> dict[str, Any]:
    """A custom message to every user and one address."""
    return {"type": "custom", "subType": "message", "message": "An estimate to approve",
            "channels": ["in_app", "email"], "targets": {"all": True, "emails": ["a@example.com"]},
            **extra}  # fmt: skip


async def _sent(client: httpx.AsyncClient, tenant: Tenant, **extra: Any) -> str:
    answer = await client.post("/v1/notifications", json=envelope(**extra), headers=tenant.headers)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


async def test_about_and_sent_by_are_kept_and_filter_the_list(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    about = await _sent(client, tenant, about=ESTIMATE, sentBy="officer@hackney.gov.uk")
    await _sent(client, tenant, about={"id": "other"})
    shown = (await client.get(f"/v1/notifications/{about}", headers=tenant.headers)).json()
    assert (shown["about"], shown["sentBy"]) == (ESTIMATE, "officer@hackney.gov.uk")
    for query in ({"about_id": "est-42"}, {"about_type": "Estimates"}):
        listed = await client.get("/v1/notifications", params=query, headers=tenant.headers)
        assert [n["id"] for n in listed.json()["data"]] == [about]


async def test_user_channels_keep_email_to_the_raw_address(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await add_users(client, tenant, "officer")
    await client.put("/v1/users/officer", json={"email": "officer@example.com"},
                     headers=tenant.headers)  # fmt: skip
    sent = await _sent(client, tenant, userChannels=["in_app"])
    deliveries = await client.get("/v1/deliveries", params={"notification_id": sent},
                                  headers=tenant.headers)  # fmt: skip
    assert [d["recipient"] for d in deliveries.json()["data"]] == [{"email": "a@example.com"}]
    items = (await inbox(client, await user_headers(client, tenant, "officer")))["data"]
    assert [i["notification_id"] for i in items] == [sent]


async def test_actions_on_a_notification_are_audited_and_read_its_items(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await add_users(client, tenant, "officer")
    sent = await _sent(client, tenant, requireAction=True)
    path = f"/v1/notifications/{sent}/actions"
    read = await client.post(path, json={"actionType": "IsRead"}, headers=tenant.headers)
    approved = await client.post(path, json={"actionType": "Approved", "actionNote": "ok"},
                                 headers=tenant.headers)  # fmt: skip
    assert (read.status_code, approved.status_code) == (200, 200), approved.text
    assert approved.json()["performedBy"] == f"key:{tenant.key_id}"
    trail = (await client.get(path, headers=tenant.headers)).json()
    assert [(a["actionType"], a["actionNote"]) for a in trail["data"]] == [
        ("IsRead", None), ("Approved", "ok")
    ]  # fmt: skip
    assert trail["pagination"]["total"] == 2
    items = (await inbox(client, await user_headers(client, tenant, "officer")))["data"]
    assert items[0]["read"] is True
    unknown = await client.post(path, json={"actionType": "Maybe"}, headers=tenant.headers)
    assert unknown.json()["error"]["details"][0]["path"] == "/actionType"
    elsewhere = await client.post(
        f"/v1/notifications/{uuid.uuid4()}/actions", json={"actionType": "IsRead"},
        headers=tenant.headers,
    )  # fmt: skip
    assert elsewhere.status_code == 404


async def test_a_chosen_provider_is_checked_sealed_and_never_answered(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, settings: Settings
) -> None:
    choice = {"name": "govuk_notify", "settings": {"api_key": NOTIFY_KEY}}
    sent = await _sent(client, tenant, provider=choice)
    shown = await client.get(f"/v1/notifications/{sent}", headers=tenant.headers)
    assert NOTIFY_KEY not in shown.text and "provider" not in shown.json()
    async with db.sessions() as session:
        mine = Delivery.notification_id == uuid.UUID(sent)
        [row] = (await session.scalars(select(Delivery).where(mine))).all()
        secret = await load_signing_key(session, settings)
    assert row.own_provider is not None and NOTIFY_KEY not in row.own_provider
    assert NOTIFY_KEY in unseal(secret, row.own_provider)
    bad = {"name": "govuk_notify", "settings": {"api_key": "not-a-key"}}
    refused = await client.post("/v1/notifications", json=envelope(provider=bad),
                                headers=tenant.headers)  # fmt: skip
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["path"] == "/provider/settings/api_key"
    assert "not-a-key" not in refused.text
    none = await client.post("/v1/notifications", headers=tenant.headers,
                             json=envelope(provider={"name": "carrier_pigeon"}))  # fmt: skip
    assert none.json()["error"]["details"][0]["path"] == "/provider/name"


async def test_an_accounts_default_region_reads_national_numbers(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    path = f"/v1/accounts/{tenant.account_id}"
    patched = await client.patch(path, json={"default_region": "gb"}, headers=tenant.headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["default_region"] == "GB"
    wrong = await client.patch(path, json={"default_region": "XX"}, headers=tenant.headers)
    assert wrong.json()["error"]["details"][0]["path"] == "/default_region"
    assert normalize_phone("020 7946 0000", region="GB") == "+442079460000"
    assert normalize_phone("4571999999", region="GB") == "+4571999999"  # a country code wins
