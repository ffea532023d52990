"""No request can reach another tenant's objects: every OpenAPI route, walked with foreign ids.

Tenant A owns one of everything. Tenant B, holding every scope, calls every route of the
OpenAPI document with A's ids in the path (the ``/v1/me`` routes with B's user token, and
again with the token of another user of A's own account). A route must answer 404 and change
nothing at all (every table of the database is the same before and after), or — for upserts
that name objects by the caller's own key, such as ``PUT /v1/users/{external_id}`` — act in
B's own namespace and leave A's objects untouched. Every list without an id in its path is
read as B too, and shows nothing of A's. A new route is covered the moment it is added.

The module runs on a database of its own per backend, so that "nothing changed" can be the
whole database.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select

from herald.accounts import service as accounts
from herald.app import create_app
from herald.db import Database
from herald.migrate import upgrade
from herald.models import metadata
from tests.conftest import Tenant, bearer, settings_for
from tests.support.postgres import throwaway_database

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
    ("PUT", "/v1/users/{external_id}/preferences"): {"channels": {"sms": False}},
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
    ("POST", "/v1/notifications/{notification_id}/actions"): ACTION,
    ("PATCH", "/hackney/notifications/{id}"): ACTION,
    ("POST", "/kazoo/v2/notifications/{template_id}"): {
        "data": {"from": "b@example.com", "subject": "B", "to": {"type": "original"}}
    },
}
# Query parameters a route needs before the id is looked at (``{...}`` names a world id).
QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/v1/providers/sms/{provider}/inbound"): {"account": "{account_id}"},
}
KAZOO = "/kazoo/v2/"  # seed 002: X-Auth-Token, and its own error envelope
NOTIFY = "/v2/"  # GOV.UK Notify's: a JWT signed with a Notify key, and Notify's error body
A_PROVIDER = {"settings": {"url": "smtp://a.example.com:25"}}
A_EMAIL = {"type": "custom", "subType": "message", "message": "A", "channels": ["email"],
           "targets": {"emails": ["a@example.com"]}}  # fmt: skip
PARAM = re.compile(r"{([^}]+)}")
# Path values that are names of things, not A's: "email", "smtp", "1" appear in anyone's lists.
GENERIC_IDS = {
    "channel", "provider", "version", "type_", "sub_type", "provider_id", "name", "service"
}  # fmt: skip


@dataclass
class Isolated:
    """An application with a database of its own, and direct access to that database."""

    client: httpx.AsyncClient
    db: Database

    async def tenant(self, name: str) -> Tenant:
        """A new account with an all-scope key."""
        async with self.db.sessions() as session, session.begin():
            account = await accounts.create_account(session, name=name)
            issued = await accounts.create_key(session, account_id=account.id)
        return Tenant(account.id, issued.key.id, issued.plain)

    async def snapshot(self) -> dict[str, list[tuple[str, ...]]]:
        """Every row of every table, as text, sorted: to tell whether anything changed."""
        tables: dict[str, list[tuple[str, ...]]] = {}
        async with self.db.sessions() as session:
            for table in metadata.sorted_tables:
                rows = (await session.execute(select(table))).all()
                tables[table.name] = sorted(tuple(map(repr, row)) for row in rows)
        return tables


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def isolated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Isolated]:
    """Herald in-process on a fresh database of this backend."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("tenancy") / "herald.db"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade(settings_for(url))
        async for made in _isolated(url):
            yield made
        return
    async with throwaway_database("herald_tenancy") as url:
        async for made in _isolated(url):
            yield made


async def _isolated(url: str) -> AsyncIterator[Isolated]:
    app = create_app(settings_for(url))
    db = Database(settings_for(url))
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://herald.test") as client,
        ):
            yield Isolated(client, db)
    finally:
        await db.dispose()


@dataclass
class World:
    """Tenant A's objects, and B's credentials (and a second user's of A's own account)."""

    a: Tenant
    b: Tenant
    ids: dict[str, str]
    b_user_token: str
    a_other_user_token: str
    b_notify_key: str

    def notify_headers(self) -> dict[str, str]:
        """B's credential on the GOV.UK Notify routes: a JWT signed with B's Notify key."""
        key = self.b_notify_key
        claims = {"iss": key[-73:-37], "iat": int(time.time())}
        return bearer(jwt.encode(claims, key[-36:], algorithm="HS256"))

    def headers(self, template: str, token: str) -> dict[str, str]:
        """How a route of this path takes ``token`` (a Notify route takes B's Notify JWT)."""
        if template.startswith(NOTIFY):
            return self.notify_headers()
        if template.startswith(KAZOO):
            return {"X-Auth-Token": token}
        return bearer(token)


async def _world(isolated: Isolated) -> World:
    client = isolated.client
    a = await isolated.tenant("a")
    b = await isolated.tenant("b")
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
    await client.put("/v1/users/a-other", json={}, headers=a.headers)
    other = (await client.post("/v1/users/a-other/tokens", headers=a.headers)).json()["token"]
    reply = {"email_address": "replies@a.example.com"}
    reply_to = (await client.post("/v1/email-reply-to", json=reply, headers=a.headers)).json()
    notify_template = {"id": str(uuid.uuid4()), "channels": {"sms": {"body": "A"}}}
    await client.post("/v1/templates", json=notify_template, headers=a.headers)
    council = {"notificationType": "Screen,Email", "message": "A", "email": "a@example.com",
               "templateId": "a-email", "targetId": "a-target"}  # fmt: skip
    a_email = {"id": "a-email", "channels": {"email": {"subject": "A", "text": "A"}}}
    await client.post("/v1/templates", json=a_email, headers=a.headers)
    hackney = (await client.post("/hackney/notifications", json=council, headers=a.headers)).json()
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
        "smtplog_id": delivery["id"],
        "id": hackney["id"],  # seed 003's record
        "notificationId": hackney["id"],
        "service": "email",
    }
    return World(
        a=a, b=b, ids=ids, b_user_token=token, a_other_user_token=other, b_notify_key=b_notify
    )


async def _routes(client: httpx.AsyncClient, *, with_ids: bool = True) -> list[tuple[str, str]]:
    spec = (await client.get("/openapi.json")).json()
    return sorted(
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if bool(PARAM.search(path)) is with_ids
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


async def _call(
    client: httpx.AsyncClient, method: str, template: str, world: World, token: str
) -> httpx.Response:
    ids = world.ids
    if template.startswith(NOTIFY):  # a Notify template's id is a UUID
        ids = {**ids, "template_id": ids["notify_template_id"]}
    body = BODIES.get((method, template), {} if template.startswith(NOTIFY) else None)
    if method not in ("POST", "PUT", "PATCH"):
        body = None
    query = {k: _fill(v, ids) for k, v in QUERIES.get((method, template), {}).items()}
    return await client.request(
        method, _fill(template, ids), json=body, headers=world.headers(template, token),
        params=query,
    )  # fmt: skip


def _is_not_found(template: str, response: httpx.Response) -> bool:
    """A 404 in the route's own error body (Notify's, seed 002's or the contract's)."""
    if response.status_code != 404:
        return False
    body = response.json()
    if template.startswith(NOTIFY):
        return bool(body["errors"][0]["error"] == "NoResultFound")
    if template.startswith(KAZOO):
        return bool(body["error"] == "404")
    return bool(body["error"]["code"] == "not_found")


async def test_every_route_hides_other_tenants_and_changes_nothing(isolated: Isolated) -> None:
    client = isolated.client
    world = await _world(isolated)
    routes = await _routes(client)
    assert len(routes) >= 15
    before = await isolated.snapshot()
    for method, template in (r for r in routes if r not in OWN_NAMESPACE):
        user_route = template.startswith("/v1/me/")
        # A user token reaches only its own user's items, in another account or in the same one.
        tokens = [world.b_user_token, world.a_other_user_token] if user_route else [world.b.api_key]
        for token in tokens:
            response = await _call(client, method, template, world, token)
            assert _is_not_found(template, response), (method, template, response.text)
    assert await isolated.snapshot() == before
    # Then the upserts in B's own namespace (after: B's namesakes would answer the 404s above).
    for method, template in (r for r in routes if r in OWN_NAMESPACE):
        token = world.b_user_token if template.startswith("/v1/me/") else world.b.api_key
        response = await _call(client, method, template, world, token)
        assert response.status_code < 400, (method, template, response.text)
    await _a_is_untouched(client, world)


async def test_every_list_shows_only_own_objects(isolated: Isolated) -> None:
    client = isolated.client
    world = await _world(isolated)
    lists = [path for method, path in await _routes(client, with_ids=False) if method == "GET"]
    assert {"/v1/users", "/v1/teams", "/v1/keys", "/v1/templates", "/v1/notifications"} <= set(
        lists
    )
    a_marks = [value for name, value in world.ids.items() if name not in GENERIC_IDS]
    for path in lists:
        token = world.b_user_token if path.startswith("/v1/me/") else world.b.api_key
        if path == "/v1/stream":
            continue  # an endless stream: tests/realtime/test_refusals.py listens to it
        body = (await client.get(path, headers=world.headers(path, token))).text
        leaked = [mark for mark in a_marks if mark in body]
        assert not leaked, (path, leaked)
