"""Sending: seed 000's envelope, seed 001's custom message, validation pointers, targets."""

from __future__ import annotations

import httpx
from prometheus_client import REGISTRY

from tests.conftest import Database, Tenant, bearer, make_key
from tests.notifications.helpers import add_team, add_users, call_event, inbox, user_headers


async def test_seed_000_incoming_call_reaches_the_negotiator(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await add_users(client, tenant, "ADV")
    sent = await client.post(
        "/notifications",
        json=call_event("incomingCall", {"negotiatorId": ["ADV"]}),
        headers=tenant.headers,
    )
    assert sent.status_code == 202, sent.text
    body = sent.json()
    assert body["queued"] is True and body["recipients"] == 1 and len(body["id"]) == 36
    items = (await inbox(client, await user_headers(client, tenant, "ADV")))["data"]
    assert len(items) == 1
    item = items[0]
    assert set(item) == {
        "id",
        "notification_id",
        "type",
        "subType",
        "data",
        "message",
        "message_formatted",
        "read",
        "read_at",
        "seen",
        "actions",
        "requireAction",
        "actionStatus",
        "correlationId",
        "created_at",
        "updated_at",
    }
    assert item["notification_id"] == body["id"]
    assert (item["type"], item["subType"], item["correlationId"]) == (
        "telephony",
        "incomingCall",
        "ax2uyio8p",
    )
    assert item["data"]["callerId"] == "07123 456789"
    assert item["message"] == "Incoming call from 07123 456789"
    assert item["read"] is False and item["read_at"] is None and item["created_at"].endswith("Z")


async def test_every_seed_000_example_is_accepted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await add_users(client, tenant, "ADV", "TST")
    targets = {"negotiatorId": ["ADV", "TST"]}
    for sub_type, extra in (
        ("incomingCall", {}),
        ("answeredCall", {"answeredById": "TST"}),
        ("endedCall", {"answeredById": "TST"}),
        ("missedCall", {"id": "other-call"}),
    ):
        sent = await client.post(
            "/v1/notifications", json=call_event(sub_type, targets, **extra), headers=tenant.headers
        )
        assert sent.status_code == 202, (sub_type, sent.text)
        assert sent.json()["queued"] is True


async def test_seed_001_custom_message_to_users_and_teams(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await add_users(client, tenant, "1", "54", "23", "7", "8")
    await add_team(client, tenant, "5", ["7", "8", "54"])
    sent = await client.post(
        "/notifications",
        json={
            "message": "This is a custom notification",
            "notify": {"users": [1, 54, 23], "teams": [5]},
        },
        headers=tenant.headers,
    )
    assert sent.status_code == 202, sent.text
    assert sent.json()["queued"] is True and sent.json()["recipients"] == 5
    me = await user_headers(client, tenant, "54")
    listed = await client.get("/notifications", headers=me)
    assert listed.status_code == 200
    body = listed.json()
    assert body["pagination"] == {
        "total": 1,
        "page": 1,
        "per_page": 15,
        "urls": {"previous": None, "next": None},
        "next_cursor": None,
        "unread": 1,
    }
    item = body["data"][0]
    assert item["message"] == "This is a custom notification"
    assert item["message_formatted"] == "<p>This is a custom notification</p>"
    assert (item["type"], item["subType"]) == ("custom", "message")


async def test_invalid_payloads_point_at_each_problem(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await add_users(client, tenant, "ADV")
    event = call_event("incomingCall", {"negotiatorId": ["ADV"]})
    del event["payload"]["callerId"]
    event["payload"]["huntGroup"] = "yes"
    event["payload"]["destinationId"] = 42
    bad = await client.post("/v1/notifications", json=event, headers=tenant.headers)
    assert bad.status_code == 422
    paths = sorted(d["path"] for d in bad.json()["error"]["details"])
    assert paths == ["/payload/callerId", "/payload/destinationId", "/payload/huntGroup"]
    unknown = await client.post(
        "/v1/notifications", json=call_event("heldCall", {"users": ["ADV"]}), headers=tenant.headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["path"] == "/subType"
    too_long = await client.post(
        "/notifications",
        json={"message": "x" * 513, "notify": {"users": ["ADV"]}},
        headers=tenant.headers,
    )
    assert too_long.status_code == 422
    assert [d["path"] for d in too_long.json()["error"]["details"]] == ["/message"]
    no_message = await client.post(
        "/v1/notifications",
        json={"type": "custom", "subType": "message", "targets": {"users": ["ADV"]}},
        headers=tenant.headers,
    )
    assert [d["path"] for d in no_message.json()["error"]["details"]] == ["/message"]


async def test_unknown_users_and_teams_are_named(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await add_users(client, tenant, "ADV")
    sent = await client.post(
        "/v1/notifications",
        json={
            "type": "custom",
            "subType": "message",
            "message": "hi",
            "targets": {"users": ["ADV", "ghost"], "negotiatorId": ["nobody"], "teams": ["nope"]},
        },
        headers=tenant.headers,
    )
    assert sent.status_code == 422
    details = {d["path"]: d["message"] for d in sent.json()["error"]["details"]}
    assert set(details) == {"/targets/users/1", "/targets/negotiatorId/0", "/targets/teams/0"}
    assert "ghost" in details["/targets/users/1"] and "nope" in details["/targets/teams/0"]


async def test_scopes_per_type(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    await add_users(client, tenant, "ADV")
    telephony = bearer(await make_key(db, tenant, "notifications.telephony.write"))
    event = call_event("incomingCall", {"negotiatorId": ["ADV"]})
    assert (
        await client.post("/v1/notifications", json=event, headers=telephony)
    ).status_code == 202
    custom = {
        "type": "custom",
        "subType": "message",
        "message": "hi",
        "targets": {"users": ["ADV"]},
    }
    refused = await client.post("/v1/notifications", json=custom, headers=telephony)
    assert refused.status_code == 403
    user = await user_headers(client, tenant, "ADV")
    assert (await client.post("/v1/notifications", json=custom, headers=user)).status_code == 403


async def test_accepted_notifications_are_counted_only_when_committed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    def accepted() -> float:
        value = REGISTRY.get_sample_value(
            "herald_notifications_accepted_total", {"type": "telephony"}
        )
        return value or 0.0

    await add_users(client, tenant, "ADV")
    before = accepted()
    sent = await client.post(
        "/v1/notifications",
        json=call_event("incomingCall", {"negotiatorId": ["ADV"]}),
        headers=tenant.headers,
    )
    assert sent.status_code == 202
    assert accepted() == before + 1
    refused = await client.post(
        "/v1/notifications",
        json=call_event("incomingCall", {"negotiatorId": ["nobody"]}),
        headers=tenant.headers,
    )
    assert refused.status_code == 422
    assert accepted() == before + 1
