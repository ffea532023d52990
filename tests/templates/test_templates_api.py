"""The template API end to end: seed 002's override flow, versions, tenancy, validation."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import MakeTenant, Tenant, bearer, make_key
from tests.templates.template_helpers import email_template, get_json, listed, make_tree

SYSTEM_IDS = {"incoming-call", "answered-call", "ended-call", "missed-call", "custom-message"}


async def test_seed_002_override_flow(client: httpx.AsyncClient, make_tenant: MakeTenant) -> None:
    tree = await make_tree(make_tenant)
    # 1. The defaults are listed, none overridden.
    before = await listed(client, tree.child)
    assert set(before) >= SYSTEM_IDS
    assert before["missed-call"]["account_overridden"] is False
    assert before["missed-call"]["overridden_by"] is None
    assert "payload.callerId" in before["missed-call"]["macros"]
    # 2. The reseller overrides it for all its customers.
    reseller_html = "<p>Reseller: missed {{ payload.callerId }}</p>"
    put = await client.put(
        "/v1/templates/missed-call",
        json={"channels": {"email": {"html": reseller_html}}},
        headers=tree.reseller.headers,
    )
    assert put.status_code == 201, put.text
    child_view = (await listed(client, tree.child))["missed-call"]
    assert child_view["account_overridden"] is True
    assert child_view["overridden_by"] == str(tree.reseller.account_id)
    # The override keeps what it did not say from the system default.
    assert child_view["channels"]["email"]["subject"] == "Missed call from {{ payload.callerId }}"
    # 3. The child overrides it again; the nearest override wins.
    child_html = "<p>Child: {{ payload.callerId }}</p>"
    put = await client.put(
        "/v1/templates/missed-call",
        json={"channels": {"email": {"html": child_html}}},
        headers=tree.child.headers,
    )
    assert put.status_code == 201
    assert put.json()["overridden_by"] == str(tree.child.account_id)
    # 4. HTML and plain text by Accept, and by ?accept=.
    html = await client.get(
        "/v1/templates/missed-call", headers={**tree.child.headers, "Accept": "text/html"}
    )
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert html.text == child_html
    plain = await client.get(
        "/v1/templates/missed-call?accept=text/plain", headers=tree.child.headers
    )
    assert plain.headers["content-type"].startswith("text/plain")
    assert "You missed a call from {{ payload.callerId }}" in plain.text
    # 5. Anything else is 406.
    refused = await client.get(
        "/v1/templates/missed-call", headers={**tree.child.headers, "Accept": "image/png"}
    )
    assert refused.status_code == 406
    assert refused.json()["error"]["code"] == "not_acceptable"
    # 6. Preview renders the child's override.
    preview = await client.post(
        "/v1/templates/missed-call/preview",
        json={"payload": {"callerId": "07700 900123", "destinationId": "1"}, "channels": ["email"]},
        headers=tree.child.headers,
    )
    assert preview.status_code == 200, preview.text
    assert "Child: 07700 900123" in preview.json()["channels"]["email"]["html"]
    # 7. Deleting the child's override falls back to the reseller's, then to the system's.
    deleted = await client.delete("/v1/templates/missed-call", headers=tree.child.headers)
    assert deleted.status_code == 204
    html = await client.get(
        "/v1/templates/missed-call?accept=text/html", headers=tree.child.headers
    )
    assert html.text == reseller_html
    await client.delete("/v1/templates/missed-call", headers=tree.reseller.headers)
    after = (await listed(client, tree.child))["missed-call"]
    assert after["account_overridden"] is False
    assert after == before["missed-call"]


async def test_override_of_unknown_template_is_404(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.put(
        "/v1/templates/no-such-template", json=email_template("Hi"), headers=tenant.headers
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_create_own_template_with_chosen_and_made_ids(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    chosen = await client.post(
        "/v1/templates", json={"id": "welcome", **email_template("Hi")}, headers=tenant.headers
    )
    assert chosen.status_code == 201, chosen.text
    body = chosen.json()
    assert (body["id"], body["version"], body["account_overridden"]) == ("welcome", 1, True)
    assert body["macros"]["first_name"]["i18n_label"] == "first_name"
    assert body["templates"] == {"text/html": {"length": len("<p>Hi {{ first_name }}</p>")}}
    made = await client.post("/v1/templates", json=email_template("Hi"), headers=tenant.headers)
    assert made.status_code == 201
    assert len(made.json()["id"]) == 36  # a UUID
    again = await client.post(
        "/v1/templates", json={"id": "welcome", **email_template("Hi")}, headers=tenant.headers
    )
    assert again.status_code == 409
    inherited = await client.post(
        "/v1/templates", json={"id": "missed-call", **email_template("Hi")}, headers=tenant.headers
    )
    assert inherited.status_code == 409


async def test_versions_grow_and_old_versions_stay_readable(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await client.post(
        "/v1/templates", json={"id": "news", **email_template("One")}, headers=tenant.headers
    )
    for subject in ("Two", "Three"):
        response = await client.put(
            "/v1/templates/news", json=email_template(subject), headers=tenant.headers
        )
        assert response.status_code == 200
    assert response.json()["version"] == 3
    versions = await get_json(client, tenant, "/v1/templates/news/versions")
    assert [v["version"] for v in versions["data"]] == [3, 2, 1]
    assert versions["pagination"]["total"] == 3
    first = await get_json(client, tenant, "/v1/templates/news/versions/1")
    assert first["template"]["channels"]["email"]["subject"] == "One"
    assert first["created_by"] == f"key:{tenant.key_id}"
    missing = await client.get("/v1/templates/news/versions/4", headers=tenant.headers)
    assert missing.status_code == 404


async def test_override_after_delete_goes_on_counting_versions(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    override = {"channels": {"sms": {"body": "Missed: {{ payload.callerId }}"}}}
    first = await client.put("/v1/templates/missed-call", json=override, headers=tenant.headers)
    await client.delete("/v1/templates/missed-call", headers=tenant.headers)
    again = await client.put("/v1/templates/missed-call", json=override, headers=tenant.headers)
    assert again.status_code == 201
    assert again.json()["version"] == first.json()["version"] + 1


async def test_null_removes_an_inherited_channel(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.put(
        "/v1/templates/incoming-call",
        json={"channels": {"sms": None, "email": {"text": None}}},
        headers=tenant.headers,
    )
    channels = response.json()["channels"]
    assert "sms" not in channels and "push" in channels
    assert "text" not in channels["email"] and "html" in channels["email"]


async def test_siblings_and_children_never_see_each_others_templates(
    client: httpx.AsyncClient, make_tenant: MakeTenant
) -> None:
    tree = await make_tree(make_tenant)
    await client.post(
        "/v1/templates", json={"id": "mine", **email_template("Hi")}, headers=tree.child.headers
    )
    for who in (tree.sibling, tree.reseller):
        assert (await client.get("/v1/templates/mine", headers=who.headers)).status_code == 404
        assert "mine" not in await listed(client, who)
        put = await client.put("/v1/templates/mine", json=email_template("x"), headers=who.headers)
        assert put.status_code == 404
    # An ancestor's own template is inherited by its children.
    await client.post(
        "/v1/templates", json={"id": "brand", **email_template("Hi")}, headers=tree.reseller.headers
    )
    assert (await listed(client, tree.child))["brand"]["overridden_by"] == str(
        tree.reseller.account_id
    )


async def test_delete_of_what_the_account_does_not_hold_is_404(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.delete("/v1/templates/missed-call", headers=tenant.headers)
    assert response.status_code == 404
    assert (
        await client.get("/v1/templates/missed-call", headers=tenant.headers)
    ).status_code == 200


async def test_header_injection_is_rejected(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for field, value in (
        ("subject", "Hi\r\nBcc: victim@example.com"),
        ("from", "a@example.com\nX-Evil: 1"),
        ("reply_to", "a@example.com\u2028b"),
        ("subject", "nul\x00byte"),
    ):
        body = email_template("Hi")
        body["channels"]["email"][field] = value
        response = await client.post("/v1/templates", json=body, headers=tenant.headers)
        assert response.status_code == 422, (field, response.text)
        paths = [d["path"] for d in response.json()["error"]["details"]]
        assert f"/channels/email/{field}" in paths


async def test_rendered_header_injection_is_rejected(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await client.post(
        "/v1/templates",
        json={"id": "hdr", **email_template("Hi {{ name }}")},
        headers=tenant.headers,
    )
    response = await client.post(
        "/v1/templates/hdr/preview",
        json={"personalisation": {"name": "x\r\nBcc: victim@example.com", "first_name": "A"}},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["path"] == "/channels/email/subject"


async def test_bad_syntax_is_422_pointing_at_each_part(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    body = email_template("Hi {{ name ")
    body["channels"]["sms"] = {"body": "{% for x in y %}"}
    body["locales"] = {"cy": {"channels": {"push": {"title": "{{ }}"}}}}
    response = await client.post("/v1/templates", json=body, headers=tenant.headers)
    assert response.status_code == 422
    paths = {d["path"] for d in response.json()["error"]["details"]}
    assert paths == {
        "/channels/email/subject",
        "/channels/sms/body",
        "/locales/cy/channels/push/title",
    }


async def test_incomplete_channel_and_bad_fields_are_422(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    cases: tuple[tuple[dict[str, Any], str], ...] = (
        ({"channels": {"email": {"subject": "No body"}}}, "/channels/email"),
        ({"channels": {"email": {"html": "x", "cc": {"email_addresses": ["no"]}}}},
         "/channels/email/cc/email_addresses/0"),
        ({"channels": {"sms": {"sender": "Acme"}}}, "/channels/sms"),
        ({"channels": {"email": {"subject": "s", "html": "h", "to": {"type": "x"}}}},
         "/channels/email/to/type"),
        ({"template_charset": "no-such-charset"}, "/template_charset"),
        ({"locales": {"not a locale!": {}}}, "/locales/not a locale!"),
    )  # fmt: skip
    for body, pointer in cases:
        response = await client.post("/v1/templates", json=body, headers=tenant.headers)
        assert response.status_code == 422, body
        paths = [d["path"] for d in response.json()["error"]["details"]]
        assert any(p == pointer or p.startswith(pointer + "/") for p in paths), response.text


async def test_put_id_must_match_the_path(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.put(
        "/v1/templates/missed-call", json={"id": "other"}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["path"] == "/id"


async def test_scopes_are_enforced(client: httpx.AsyncClient, db, tenant: Tenant) -> None:  # type: ignore[no-untyped-def]
    reader = bearer(await make_key(db, tenant, "templates.read"))
    assert (await client.get("/v1/templates", headers=reader)).status_code == 200
    denied = await client.put("/v1/templates/missed-call", json={}, headers=reader)
    assert denied.status_code == 403
    nobody = bearer(await make_key(db, tenant, "users.read"))
    assert (await client.get("/v1/templates/missed-call", headers=nobody)).status_code == 403


async def test_list_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.put("/v1/templates/ended-call", json={"enabled": False}, headers=tenant.headers)
    overridden = await get_json(client, tenant, "/v1/templates?account_overridden=true")
    assert [t["id"] for t in overridden["data"]] == ["ended-call"]
    assert overridden["data"][0]["enabled"] is False
    telephony = await get_json(client, tenant, "/v1/templates?type=telephony&subType=missedCall")
    assert [t["id"] for t in telephony["data"]] == ["missed-call"]
    paged = await get_json(client, tenant, "/v1/templates?per_page=2&page=2")
    assert len(paged["data"]) == 2 and paged["pagination"]["total"] >= 5
