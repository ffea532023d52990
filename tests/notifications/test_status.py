"""Reading notifications back (one, filtered lists) and cancelling them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant
from tests.notifications.helpers import add_users, call_event, inbox, user_headers

LETTER = {"lines": ["Flat 1", "2 High Street", "London"], "postcode": "E8 1AA"}


def custom(**fields: Any) -> dict[str, Any]:
    """A custom message with these fields."""
    return {"type": "custom", "subType": "message", "message": "hello", **fields}


async def test_raw_targets_become_deliveries(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await add_users(client, tenant, "u")
    body = custom(
        channels=["in_app"],
        targets={
            "users": ["u"],
            "emails": ["A@Example.com", "a@example.com"],
            "phones": ["4571999999", "+4571999999"],
            "addresses": [LETTER, LETTER],
        },
        scheduledAt="2030-01-01T09:00:00Z",
    )
    sent = await client.post("/v1/notifications", json=body, headers=tenant.headers)
    assert sent.status_code == 202, sent.text
    assert sent.json()["recipients"] == 4  # u, one email, one phone, one address
    detail = (
        await client.get(f"/v1/notifications/{sent.json()['id']}", headers=tenant.headers)
    ).json()
    assert detail["status"] == "queued" and detail["channels"] == [
        "in_app",
        "email",
        "sms",
        "letter",
    ]
    assert detail["scheduledAt"] == "2030-01-01T09:00:00Z"
    found = {(d["channel"], str(d["recipient"])) for d in detail["deliveries"]}
    assert found == {
        ("email", "{'user': 'u'}"),
        ("email", "{'email': 'a@example.com'}"),
        ("sms", "{'user': 'u'}"),
        ("sms", "{'phone': '+4571999999'}"),
        ("letter", str({"address": LETTER})),
    }
    assert all(d["status"] == "created" and d["attempts"] == 0 for d in detail["deliveries"])


async def test_invalid_raw_targets(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = custom(
        targets={"phones": ["12"], "addresses": [{"lines": ["only one"], "postcode": "E8"}]}
    )
    refused = await client.post("/v1/notifications", json=body, headers=tenant.headers)
    assert refused.status_code == 422
    assert {d["path"] for d in refused.json()["error"]["details"]} == {
        "/targets/phones/0",
        "/targets/addresses/0/lines",
    }
    empty = await client.post("/v1/notifications", json=custom(targets={}), headers=tenant.headers)
    assert empty.status_code == 422 and empty.json()["error"]["details"][0]["path"] == "/targets"


async def test_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await add_users(client, tenant, "ADV", "TST")
    call = await client.post(
        "/v1/notifications",
        json=call_event("incomingCall", {"negotiatorId": ["ADV"]}),
        headers=tenant.headers,
    )
    mail = await client.post(
        "/v1/notifications",
        json=custom(targets={"users": ["TST"], "emails": ["x@example.com"]}),
        headers=tenant.headers,
    )

    async def ids(query: str) -> list[str]:
        listed = await client.get(f"/v1/notifications?{query}", headers=tenant.headers)
        assert listed.status_code == 200, listed.text
        return [n["id"] for n in listed.json()["data"]]

    call_id, mail_id = call.json()["id"], mail.json()["id"]
    assert await ids("") == [mail_id, call_id]
    assert await ids("type=telephony&subType=incomingCall") == [call_id]
    assert await ids("channel=email") == [mail_id]
    assert await ids("channel=in_app") == [mail_id, call_id]
    assert await ids("target=ADV") == [call_id]
    assert await ids("target=x@example.com") == [mail_id]
    assert await ids("status=queued&created_at_gt_or_eq=2000-01-01T00:00:00Z") == [mail_id]
    assert await ids("status=delivered") == [call_id]  # in-app only: delivered once written
    assert await ids("created_at_lt_or_eq=2000-01-01T00:00:00Z") == []
    paged = (await client.get("/v1/notifications?per_page=1", headers=tenant.headers)).json()
    cursor = paged["pagination"]["next_cursor"]
    assert await ids(f"per_page=1&cursor={cursor}") == [call_id]
    assert (
        await client.get("/v1/notifications?channel=fax", headers=tenant.headers)
    ).status_code == 422


async def test_delete_cancels_deliveries_and_withdraws_items(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await add_users(client, tenant, "u")
    sent = await client.post(
        "/v1/notifications", json=custom(targets={"users": ["u"]}), headers=tenant.headers
    )
    me = await user_headers(client, tenant, "u")
    assert (await inbox(client, me))["pagination"]["total"] == 1
    notification_id = sent.json()["id"]
    assert (
        await client.delete(f"/v1/notifications/{notification_id}", headers=tenant.headers)
    ).status_code == 204
    detail = (
        await client.get(f"/v1/notifications/{notification_id}", headers=tenant.headers)
    ).json()
    assert detail["status"] == "cancelled"
    assert [d["status"] for d in detail["deliveries"]] == ["cancelled"]  # the push delivery
    assert (await inbox(client, me))["pagination"]["total"] == 0
    assert (await client.get("/v1/me/notifications/count", headers=me)).json()["unread"] == 0
