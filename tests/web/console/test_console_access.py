"""The console's sessions, CSRF tokens, scope checks and tenancy, through the in-process app on
both databases: what a browser's requests get, without the browser."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from herald.db import Database, utcnow
from herald.web.console.models import ConsoleSession
from herald.web.console.sessions import token_hash
from tests.conftest import MakeTenant, Tenant, bearer, make_key
from tests.web.console.conftest import OpenConsole, csrf_of, sign_in


async def test_a_page_without_a_session_sends_the_browser_to_sign_in(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/console/notifications?status=failed")
    assert answer.status_code == 303
    assert (
        answer.headers["location"]
        == "/console/sign-in?next=/console/notifications%3Fstatus%3Dfailed"
    )
    elsewhere = await client.get("/console/sign-in?next=//evil.example/console")
    assert 'name="next" value="/console"' in elsewhere.text


async def test_signing_in_keeps_a_session_server_side_and_only_its_token_in_the_browser(
    open_console: OpenConsole, tenant: Tenant, db: Database
) -> None:
    console = await open_console(tenant.api_key)
    cookie = next(c for c in console.http.cookies.jar if c.name == "herald_console")
    assert cookie.path == "/console"
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite", "").lower() == "strict"
    assert cookie.value != tenant.api_key and tenant.api_key not in str(console.http.cookies)
    async with db.sessions() as session:
        row = await session.scalar(
            select(ConsoleSession).where(
                ConsoleSession.token_hash == token_hash(cookie.value or "")
            )
        )
    assert row is not None and row.key_id == tenant.key_id and row.account_id == tenant.account_id
    assert tenant.api_key not in repr(vars(row))
    assert timedelta(hours=7) < row.expires_at - row.created_at <= timedelta(hours=8)


@pytest.mark.parametrize(
    "credential", ["hk_live_not-a-key", "a-user-token", "the-tenants-revoked-key"]
)
async def test_sign_in_takes_only_a_live_api_key(
    app: object, client: httpx.AsyncClient, tenant: Tenant, credential: str
) -> None:
    if credential == "a-user-token":
        await client.put("/v1/users/u1", json={"name": "U"}, headers=tenant.headers)
        credential = (await client.post("/v1/users/u1/tokens", headers=tenant.headers)).json()[
            "token"
        ]
    if credential == "the-tenants-revoked-key":
        await client.delete(f"/v1/keys/{tenant.key_id}", headers=tenant.headers)
        credential = tenant.api_key
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
        answer = await sign_in(http, credential)
        assert answer.status_code == 401, answer.text
        assert "herald_console" not in {c.name for c in http.cookies.jar}
        assert (await http.get("/console")).status_code == 303


async def test_a_form_post_without_this_sessions_csrf_token_is_403_and_does_nothing(
    open_console: OpenConsole, make_tenant: MakeTenant, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant("forms")
    console = await open_console(tenant.api_key)
    other = await open_console((await make_tenant("other")).api_key)
    user = {"external_id": "mallory", "name": "Mallory"}
    for token in (None, "", other.csrf, "0" * 64):
        data = user if token is None else {**user, "csrf": token}
        refused = await console.http.post("/console/users", data=data)
        assert refused.status_code == 403, refused.text
        assert "csrf_token_invalid" in refused.text
    refused = await console.http.post("/console/sign-out")
    assert refused.status_code == 403
    assert (await client.get("/v1/users/mallory", headers=tenant.headers)).status_code == 404
    assert (await console.http.get("/console/users")).status_code == 200  # still signed in
    assert (await console.post("/console/users", user)).status_code == 303
    assert (await client.get("/v1/users/mallory", headers=tenant.headers)).status_code == 200


async def test_the_sign_in_form_refuses_a_post_that_did_not_come_from_it(
    app: object, tenant: Tenant
) -> None:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
        page = await http.get("/console/sign-in")
        http.cookies.set("herald_console_sign_in", "another", domain="herald.test", path="/console")
        refused = await http.post(
            "/console/sign-in", data={"csrf": csrf_of(page.text), "api_key": tenant.api_key}
        )
        assert refused.status_code == 403
        assert "herald_console" not in {c.name for c in http.cookies.jar}


# (console page, the API route it mirrors, the one scope the key holds)
SCOPED = [
    ("/console/notifications", "/v1/notifications", "notifications.read"),
    ("/console/deliveries", "/v1/deliveries", "deliveries.read"),
    ("/console/smtp-log", "/v1/deliveries", "deliveries.read"),
    ("/console/templates", "/v1/templates", "templates.read"),
    ("/console/users", "/v1/users", "users.read"),
    ("/console/preferences", "/v1/preferences", "users.read"),
    ("/console/keys", "/v1/keys", "admin"),
    ("/console/providers", "/v1/providers", "admin"),
    ("/console/senders", "/v1/senders", "admin"),
    ("/console/callbacks", "/v1/endpoints", "admin"),
]


async def test_each_page_refuses_and_admits_exactly_as_its_api_route(
    open_console: OpenConsole, client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    for scope in ("notifications.read", "templates.read", "admin"):
        key = await make_key(db, tenant, scope)
        console = await open_console(key)
        for page, route, _needs in SCOPED:
            shown = await console.http.get(page)
            api = await client.get(route, headers=bearer(key))
            assert (shown.status_code, api.status_code) in {(200, 200), (403, 403)}, (scope, page)
            assert (shown.status_code == 200) == (_needs == scope), (scope, page)
            if shown.status_code == 403:
                assert api.json()["error"]["message"] in shown.text


async def test_writes_need_the_write_scope_and_a_key_cannot_make_a_wider_one(
    open_console: OpenConsole, client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    reader = await open_console(await make_key(db, tenant, "templates.read", "users.read"))
    saved = await reader.post("/console/templates/custom-message", {"sms.body": "x"})
    assert saved.status_code == 403 and "templates.write" in saved.text
    added = await reader.post("/console/users", {"external_id": "eve"})
    assert added.status_code == 403 and "users.write" in added.text

    admin = await open_console(await make_key(db, tenant, "admin", "notifications.read"))
    wider = await admin.post("/console/keys", {"scopes": "templates.write", "kind": "live"})
    assert wider.status_code == 403 and "lacks the scope templates.write" in wider.text
    made = await admin.post("/console/keys", {"scopes": "notifications.read", "kind": "live"})
    assert made.status_code == 201
    key = made.text.split('id="new-key">', 1)[1].split("<", 1)[0]
    assert (await client.get("/v1/notifications", headers=bearer(key))).status_code == 200
    assert (await client.get("/v1/users", headers=bearer(key))).status_code == 403
    notify = await admin.post(
        "/console/keys", {"scopes": "notifications.read", "kind": "notify-team"}
    )
    assert notify.status_code == 201 and "GOV.UK Notify, team" in notify.text
    listed = (await client.get("/v1/keys", headers=tenant.headers)).json()["data"]
    assert sorted(k["type"] or "herald" for k in listed) == ["herald"] * 4 + ["team"]


async def test_another_tenants_objects_are_not_found(
    open_console: OpenConsole, make_tenant: MakeTenant, client: httpx.AsyncClient
) -> None:
    mine, theirs = await make_tenant("mine"), await make_tenant("theirs")
    body = {"type": "custom", "subType": "message", "message": "hi",
            "targets": {"emails": ["a@example.com"]}, "channels": ["email"]}  # fmt: skip
    sent = (await client.post("/v1/notifications", json=body, headers=theirs.headers)).json()
    found = (await client.get(f"/v1/notifications/{sent['id']}", headers=theirs.headers)).json()
    await client.put("/v1/senders/Bakery", headers=theirs.headers)
    console = await open_console(mine.api_key)
    for path in (
        f"/console/notifications/{sent['id']}",
        f"/console/deliveries/{found['deliveries'][0]['id']}",
        f"/console/accounts/{theirs.account_id}",
    ):
        assert (await console.http.get(path)).status_code == 404, path
    for path in (
        f"/console/accounts/{theirs.account_id}/senders/Bakery/approve",
        f"/console/keys/{theirs.key_id}/revoke",
        f"/console/notifications/{sent['id']}/cancel",
    ):
        assert (await console.post(path)).status_code == 404, path
    assert (await client.get("/v1/senders", headers=theirs.headers)).json()["data"][0][
        "status"
    ] == "pending"
    assert (await client.get("/v1/keys", headers=theirs.headers)).status_code == 200


async def test_an_account_approves_its_descendants_sender_names_not_its_own(
    open_console: OpenConsole, make_tenant: MakeTenant, client: httpx.AsyncClient
) -> None:
    parent = await make_tenant("parent")
    child = await make_tenant("child", parent=parent)
    grandchild = await make_tenant("grandchild", parent=child)
    for who, name in ((parent, "Parent"), (grandchild, "Grandkid")):
        await client.put(f"/v1/senders/{name}", headers=who.headers)
    console = await open_console(parent.api_key)
    own = await console.post(f"/console/accounts/{parent.account_id}/senders/Parent/approve")
    assert own.status_code == 403
    page = await console.http.get("/console/senders")
    assert "Grandkid" in page.text and "grandchild" in page.text
    done = await console.post(f"/console/accounts/{grandchild.account_id}/senders/Grandkid/approve")
    assert done.status_code == 303
    listed = (await client.get("/v1/senders", headers=grandchild.headers)).json()["data"]
    assert [s["status"] for s in listed] == ["approved"]


async def test_signing_out_or_revoking_the_key_ends_the_session(
    open_console: OpenConsole, tenant: Tenant, client: httpx.AsyncClient, db: Database
) -> None:
    console = await open_console(tenant.api_key)
    token = console.http.cookies["herald_console"]
    assert (await console.post("/console/sign-out")).status_code == 303
    console.http.cookies.set("herald_console", token, domain="herald.test", path="/console")
    again = await console.http.get("/console/notifications")
    assert again.status_code == 303 and "ended=1" in again.headers["location"]

    key = await make_key(db, tenant, "notifications.read", "admin")
    second = await open_console(key)
    key_id = next(
        k["key_id"]
        for k in (await client.get("/v1/keys", headers=tenant.headers)).json()["data"]
        if k["prefix"] == key[:12]
    )
    assert (await client.delete(f"/v1/keys/{key_id}", headers=tenant.headers)).status_code == 204
    refused = await second.http.get("/console/notifications")
    assert refused.status_code == 303 and "ended=1" in refused.headers["location"]


async def test_an_expired_session_opens_nothing(
    open_console: OpenConsole, tenant: Tenant, db: Database
) -> None:
    console = await open_console(tenant.api_key)
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.key_id == tenant.key_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert (await console.http.get("/console")).status_code == 303


async def test_pages_forbid_framing_and_caching_and_allow_only_herald_scripts(
    open_console: OpenConsole, tenant: Tenant
) -> None:
    console = await open_console(tenant.api_key)
    answer = await console.http.get("/console/templates")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"
    script = await console.http.get("/console/static/console.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert (await console.http.get("/console/static/../../app.py")).status_code == 404


async def test_a_template_that_does_not_compile_is_shown_again_as_typed_and_not_saved(
    open_console: OpenConsole, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    console = await open_console(tenant.api_key)
    typed = {"sms.body": "Hello {{ first_name ", "friendly_name": "Mine"}
    answer = await console.post("/console/templates/custom-message", typed)
    assert answer.status_code == 422
    assert "Hello {{ first_name </textarea>" in answer.text and 'value="Mine"' in answer.text
    assert "/channels/sms/body" in answer.text and "nothing was saved" in answer.text
    template = (await client.get("/v1/templates/custom-message", headers=tenant.headers)).json()
    assert template["account_overridden"] is False

    saved = await console.post(
        "/console/templates/custom-message", {"sms.body": "Hi {{ message }}"}
    )
    assert saved.status_code == 303
    template = (await client.get("/v1/templates/custom-message", headers=tenant.headers)).json()
    assert template["account_overridden"] is True
    assert template["channels"]["sms"]["body"] == "Hi {{ message }}"
    versions = (
        await client.get("/v1/templates/custom-message/versions", headers=tenant.headers)
    ).json()
    assert versions["data"][0]["created_by"] == f"key:{tenant.key_id}"
    removed = await console.post("/console/templates/custom-message/delete")
    assert removed.status_code == 303
    template = (await client.get("/v1/templates/custom-message", headers=tenant.headers)).json()
    assert template["account_overridden"] is False


async def test_the_preview_fragment_renders_the_form_as_typed_or_names_what_is_missing(
    open_console: OpenConsole, tenant: Tenant
) -> None:
    console = await open_console(tenant.api_key)
    headers = {"X-Console-Fragment": "1", "X-CSRF-Token": console.csrf}
    form = {"sms.body": "Hi {{ first_name }} — thanks", "sample": '{"message": "m"}'}
    missing = await console.http.post(
        "/console/templates/custom-message/preview", data=form, headers=headers
    )
    assert missing.status_code == 400 and "Missing personalisation: first_name" in missing.text
    assert "<html" not in missing.text
    form["sample"] = '{"first_name": "Zoë", "message": "m"}'
    shown = await console.http.post(
        "/console/templates/custom-message/preview", data=form, headers=headers
    )
    assert shown.status_code == 200
    assert "Hi Zoë — thanks" in shown.text and 'data-preview="sms-encoding">UCS-2' in shown.text


async def test_only_an_ancestor_sets_an_accounts_limits(
    open_console: OpenConsole, make_tenant: MakeTenant, client: httpx.AsyncClient
) -> None:
    parent = await make_tenant("reseller")
    console = await open_console(parent.api_key)
    created = await console.post("/console/accounts", {"name": "Shop"})
    assert created.status_code == 303
    child_id = uuid.UUID(created.headers["location"].split("/")[3].split("?")[0])
    own = await console.post(f"/console/accounts/{parent.account_id}", {"daily": "5"})
    assert own.status_code == 403 and "set by its parent account" in own.text
    limited = await console.post(
        f"/console/accounts/{child_id}", {"daily": "500", "rate": "10/second"}
    )
    assert limited.status_code == 303
    shown = (await client.get(f"/v1/accounts/{child_id}", headers=parent.headers)).json()
    assert shown["limits"]["daily"] == 500 and shown["limits"]["rate"] == "10/second"
    assert shown["parent_id"] == str(parent.account_id)
