"""The catalogue: built-in types, an account's own types, and their JSON Schemas."""

from __future__ import annotations

import httpx

from tests.conftest import MakeTenant, Tenant
from tests.notifications.helpers import add_users

SURVEY = {
    "schema": {
        "type": "object",
        "properties": {"surveyId": {"type": "string"}, "score": {"type": "integer", "minimum": 0}},
        "required": ["surveyId"],
    },
    "realtime": False,
    "channels": ["in_app", "email"],
    "macros": {"message": "Survey {surveyId} is open"},
}


async def test_builtin_types_are_listed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    listed = (
        await client.get("/v1/notification-types?per_page=100", headers=tenant.headers)
    ).json()
    names = {(t["type"], t["subType"]): t for t in listed["data"]}
    assert {
        ("telephony", s) for s in ("incomingCall", "answeredCall", "endedCall", "missedCall")
    } <= set(names)
    assert names[("telephony", "missedCall")]["realtime"] is False
    assert names[("telephony", "incomingCall")]["realtime"] is True
    assert "callerId" in names[("telephony", "incomingCall")]["schema"]["required"]
    assert set(names[("custom", "message")]) == {
        "type",
        "subType",
        "schema",
        "realtime",
        "channels",
        "macros",
        "builtin",
        "description",
        "template",
        "personalisation",
        "mandatory",
        "frequency_cap",
        "digest",
        "escalation",
    }


async def test_register_and_send_an_own_type(
    client: httpx.AsyncClient, make_tenant: MakeTenant
) -> None:
    tenant, stranger = await make_tenant("owner"), await make_tenant("stranger")
    put = await client.put(
        "/v1/notification-types/survey/opened", json=SURVEY, headers=tenant.headers
    )
    assert put.status_code == 200, put.text
    assert put.json()["schema"] == SURVEY["schema"] and put.json()["builtin"] is False
    await add_users(client, tenant, "u")
    envelope = {
        "type": "survey",
        "subType": "opened",
        "targets": {"users": ["u"]},
        "payload": {"surveyId": "s1"},
    }
    sent = await client.post("/v1/notifications", json=envelope, headers=tenant.headers)
    assert sent.status_code == 202
    detail = (
        await client.get(f"/v1/notifications/{sent.json()['id']}", headers=tenant.headers)
    ).json()
    assert detail["channels"] == ["in_app", "email"]
    assert [(d["channel"], d["recipient"], d["status"]) for d in detail["deliveries"]] == [
        ("email", {"user": "u"}, "created")
    ]
    bad = await client.post(
        "/v1/notifications", json={**envelope, "payload": {"score": -1}}, headers=tenant.headers
    )
    assert sorted(d["path"] for d in bad.json()["error"]["details"]) == [
        "/payload/score",
        "/payload/surveyId",
    ]
    await add_users(client, stranger, "u")
    theirs = await client.post("/v1/notifications", json=envelope, headers=stranger.headers)
    assert theirs.status_code == 422 and theirs.json()["error"]["details"][0]["path"] == "/type"


async def test_bad_schemas_and_builtin_names_are_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    bad = await client.put(
        "/v1/notification-types/survey/broken",
        json={"schema": {"type": "objekt"}},
        headers=tenant.headers,
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"].startswith(
        "/schema"
    )
    builtin = await client.put(
        "/v1/notification-types/telephony/incomingCall", json=SURVEY, headers=tenant.headers
    )
    assert builtin.status_code == 409
