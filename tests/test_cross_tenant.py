"""No request can reach another tenant's objects: every OpenAPI route, walked with foreign ids.

Tenant A owns one of everything. Tenant B, holding every scope, calls every route of the
OpenAPI document with A's ids in the path. A route must answer 404, or (for upserts that
name objects by the caller's own key, such as ``PUT /v1/users/{external_id}``) act in B's own
namespace and leave A's object untouched. A new route is covered the moment it is added.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import MakeTenant, Tenant, bearer

# Upserts keyed by the caller's own names: B gets its own object, never A's.
OWN_NAMESPACE = {
    ("PUT", "/v1/users/{external_id}"),
    ("PUT", "/v1/teams/{key}"),
    ("POST", "/v1/me/devices/{token}"),
    ("DELETE", "/v1/me/devices/{token}"),
    ("PUT", "/v1/notification-types/{type_}/{sub_type}"),
    # Run after B's own "a-user" exists (PUT /v1/users/{external_id} sorts first): B's inbox.
    ("PUT", "/v1/users/{external_id}/inbox/read"),
    ("PUT", "/v1/users/{external_id}/notifications/read"),
    ("PUT", "/v1/providers/{channel}/{provider}"),
    ("PUT", "/v1/endpoints/{name}"),
    ("PUT", "/v1/senders/{name}"),
}
ACTION = {"actionType": "Approved"}
# Sample bodies for routes whose body must be valid before the id is even looked at.
BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/v1/accounts/{account_id}"): {"retention_days": 9},
    ("POST", "/v1/accounts/{account_id}/broadcast"): {"template": "custom-message"},
    ("PUT", "/v1/users/{external_id}"): {},
    ("PUT", "/v1/teams/{key}"): {"members": []},
    ("PUT", "/v1/templates/{template_id}"): {"friendly_name": "B"},
    ("PUT", "/v1/notification-types/{type_}/{sub_type}"): {"schema": {"type": "object"}},
    ("PATCH", "/v1/me/notifications/{item_id}"): ACTION,
    ("PATCH", "/v1/users/{external_id}/notifications/{item_id}"): ACTION,
    ("PATCH", "/v1/users/{external_id}/inbox/{item_id}"): ACTION,
    ("PUT", "/v1/providers/{channel}/{provider}"): {"settings": {"url": "smtp://127.0.0.1:25"}},
    ("PUT", "/v1/endpoints/{name}"): {"url": "http://127.0.0.1:9/b", "types": ["*"]},
    ("POST", "/v1/users/{external_id}/message"): {"message": {"body": "B"}},
    ("POST", "/v1/teams/{key}/message"): {"message": {"body": "B"}},
    ("POST", "/v1/receipts/sms/{provider_id}/{token}"): {"MessageSid": "x", "MessageStatus": "x"},
}
# Query parameters a route needs before the id is looked at (``{...}`` names a world id).
QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/v1/providers/sms/{provider}/inbound"): {"account": "{account_id}"},
}
A_PROVIDER = {"settings": {"url": "smtp://a.example.com:25"}}
A_EMAIL = {"type": "custom", "subType": "message", "message": "A", "channels": ["email"],
           "targets": {"emails": ["a@example.com"]}}  # fmt: skip
PARAM = re.compile(r"{([^}]+)}")


@dataclass
class World:
    """Tenant A's objects, and B's credentials."""

    a: Tenant
    b: Tenant
    ids: dict[str, str]
    b_user_token: str
    b_notify_key: str = ""

    def notify_headers(self) -> dict[str, str]:
        """B's credential on the GOV.UK Notify routes: a JWT signed with B's Notify key."""
        key = self.b_notify_key
        claims = {"iss": key[-73:-37], "iat": int(time.time())}
        return bearer(jwt.encode(claims, key[-36:], algorithm="HS256"))


async def _world(client: httpx.AsyncClient, make_tenant: MakeTenant) -> World:
    a = await make_tenant("a")
    b = await make_tenant("b")
    await client.put("/v1/users/a-user", json={"name": "A"}, headers=a.headers)
    await client.put("/v1/teams/a-team", json={"members": ["a-user"]}, headers=a.headers)
    await client.post("/v1/users/a-user/devices/a-device", headers=a.headers)
    template = {"id": "a-template", "channels": {"sms": {"body": "A"}}}
    await client.post("/v1/templates", json=template, headers=a.headers)
    child = (await client.post("/v1/accounts", json={"name": "a-child"}, headers=a.headers)).json()
    keys = (await client.get("/v1/keys", headers=a.headers)).json()["data"]
    message = {"message": "for A only", "notify": {"users": ["a-user"]}}
    sent = (await client.post("/notifications", json=message, headers=a.headers)).json()
    items = (await client.get("/v1/users/a-user/inbox", headers=a.headers)).json()["data"]
    await client.put("/v1/providers/email/smtp", json=A_PROVIDER, headers=a.headers)
    mailed = (await client.post("/v1/notifications", json=A_EMAIL, headers=a.headers)).json()
    path = f"/v1/deliveries?notification_id={mailed['id']}"
    delivery = (await client.get(path, headers=a.headers)).json()["data"][0]
    hook = {"url": "http://127.0.0.1:9/a", "types": ["telephony/*"]}
    await client.put("/v1/endpoints/Acme", json=hook, headers=a.headers)
    await client.put("/v1/senders/Acme", headers=a.headers)
    await client.put("/v1/users/b-user", json={}, headers=b.headers)
    token = (await client.post("/v1/users/b-user/tokens", headers=b.headers)).json()["token"]
    reply = {"email_address": "replies@a.example.com"}
    reply_to = (await client.post("/v1/email-reply-to", json=reply, headers=a.headers)).json()
    notify_template = {"id": str(uuid.uuid4()), "channels": {"sms": {"body": "A"}}}
    await client.post("/v1/templates", json=notify_template, headers=a.headers)
    b_key = {"notify": True, "type": "live"}
    b_notify = (await client.post("/v1/keys", json=b_key, headers=b.headers)).json()["api_key"]
    ids = {
        "external_id": "a-user",
        "key": "a-team",
        "token": "a-device",
        "account_id": child["id"],
        "key_id": keys[0]["key_id"],
        "template_id": "a-template",
        "version": "1",
        "notification_id": sent["id"],
        "item_id": items[0]["id"],
        "type_": "a-type",
        "sub_type": "a-sub",
        "delivery_id": delivery["id"],
        "channel": "email",
        "provider": "smtp",
        "name": "Acme",
        # No receipt URL of A's is guessable: any provider id with a token not made for it.
        "provider_id": str(uuid.uuid4()),
        "reply_to_id": reply_to["id"],
        "notify_template_id": notify_template["id"],
    }
    return World(a=a, b=b, ids=ids, b_user_token=token, b_notify_key=b_notify)


async def _routes(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    spec = (await client.get("/openapi.json")).json()
    return sorted(
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if PARAM.search(path)
    )


async def _a_is_untouched(client: httpx.AsyncClient, world: World) -> None:
    headers = world.a.headers
    user = await client.get("/v1/users/a-user", headers=headers)
    assert user.status_code == 200 and user.json()["name"] == "A"
    team = await client.get("/v1/teams/a-team", headers=headers)
    assert team.json()["members"] == ["a-user"]
    devices = (await client.get("/v1/users/a-user/devices", headers=headers)).json()["data"]
    assert [d["token"] for d in devices] == ["a-device"]
    keys = (await client.get("/v1/keys", headers=headers)).json()["data"]
    assert all(k["revoked_at"] is None for k in keys)
    child = await client.get(f"/v1/accounts/{world.ids['account_id']}", headers=headers)
    assert child.json()["retention_days"] == 7
    template = await client.get("/v1/templates/a-template", headers=headers)
    assert template.json()["version"] == 1
    item = await client.get(f"/v1/users/a-user/inbox/{world.ids['item_id']}", headers=headers)
    assert item.json()["read"] is False and item.json()["actionStatus"] is None
    sent = await client.get(f"/v1/notifications/{world.ids['notification_id']}", headers=headers)
    assert sent.json()["status"] == "queued"
    providers = (await client.get("/v1/providers", headers=headers)).json()["data"]
    assert [(p["channel"], p["provider"]) for p in providers] == [("email", "smtp")]
    endpoints = (await client.get("/v1/endpoints", headers=headers)).json()["data"]
    assert [(e["name"], e["url"]) for e in endpoints] == [("Acme", "http://127.0.0.1:9/a")]
    senders = (await client.get("/v1/senders", headers=headers)).json()["data"]
    assert [(s["name"], s["status"]) for s in senders] == [("Acme", "pending")]


def _fill(path: str, ids: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in ids:
            pytest.fail(f"no foreign id for path parameter {name!r}: add one to the world")
        return ids[name]

    return PARAM.sub(value, path)


async def test_every_route_hides_other_tenants(
    client: httpx.AsyncClient, make_tenant: MakeTenant
) -> None:
    world = await _world(client, make_tenant)
    routes = await _routes(client)
    assert len(routes) >= 15
    for method, template in routes:
        if template.startswith("/v2/"):
            await _notify_route_hides(client, world, method, template)
            continue
        url = _fill(template, world.ids)
        credential = world.b_user_token if template.startswith("/v1/me/") else world.b.api_key
        query = {k: _fill(v, world.ids) for k, v in QUERIES.get((method, template), {}).items()}
        response = await client.request(
            method, url, json=BODIES.get((method, template)), headers=bearer(credential),
            params=query,
        )  # fmt: skip
        if (method, template) in OWN_NAMESPACE:
            assert response.status_code < 400, (method, template, response.text)
        else:
            assert response.status_code == 404, (method, template, response.text)
            assert response.json()["error"]["code"] == "not_found"
    await _a_is_untouched(client, world)


async def _notify_route_hides(
    client: httpx.AsyncClient, world: World, method: str, template: str
) -> None:
    """The GOV.UK Notify routes answer B's Notify key with Notify's 404 for A's ids."""
    ids = {**world.ids, "template_id": world.ids["notify_template_id"]}
    body = {} if method == "POST" else None
    response = await client.request(
        method, _fill(template, ids), json=body, headers=world.notify_headers()
    )
    assert response.status_code == 404, (method, template, response.text)
    assert response.json()["errors"][0]["error"] == "NoResultFound"


async def test_lists_show_only_own_objects(
    client: httpx.AsyncClient, make_tenant: MakeTenant
) -> None:
    world = await _world(client, make_tenant)
    for path in ("/v1/users", "/v1/teams", "/v1/keys", "/v1/templates"):
        body = (await client.get(path, headers=world.b.headers)).text
        assert "a-user" not in body and "a-team" not in body and world.ids["key_id"] not in body
        assert "a-template" not in body
