"""``GET /v1/me/preferences/options`` through the in-process app on both databases: the
categories (mandatory ones marked), the user's timezone, and the inherited and own layers kept
apart."""

from __future__ import annotations

import httpx

from tests.conftest import MakeTenant, bearer


async def test_options_keep_the_inherited_defaults_apart_from_the_users_own(
    client: httpx.AsyncClient, make_tenant: MakeTenant
) -> None:
    parent = await make_tenant("options-parent")
    child = await make_tenant("options-child", parent=parent)
    answer = await client.put(
        "/v1/preferences",
        json={"channels": {"email": False}, "quiet_hours": {"start": "22:00", "end": "07:00"}},
        headers=parent.headers,
    )
    assert answer.status_code == 200, answer.text
    schema = {"type": "object"}
    for sub_type, mandatory in (("notice", True), ("receipt", True)):
        answer = await client.put(
            f"/v1/notification-types/security/{sub_type}",
            json={"schema": schema, "channels": ["in_app", "email"], "mandatory": mandatory},
            headers=child.headers,
        )
        assert answer.status_code in (200, 201), answer.text
    answer = await client.put(
        "/v1/notification-types/billing/invoice",
        json={"schema": schema, "channels": ["in_app", "email"]},
        headers=child.headers,
    )
    assert answer.status_code in (200, 201), answer.text
    user = {"name": "Eve", "email": "eve@options.test", "timezone": "Europe/Copenhagen"}
    assert (await client.put("/v1/users/eve", json=user, headers=child.headers)).is_success
    token = (await client.post("/v1/users/eve/tokens", headers=child.headers)).json()["token"]
    mine = bearer(token)
    own = {"categories": {"billing": {"sms": False}}}
    assert (await client.put("/v1/me/preferences", json=own, headers=mine)).status_code == 200

    options = (await client.get("/v1/me/preferences/options", headers=mine)).json()

    assert options["channels"] == ["in_app", "email", "sms", "push"]
    by_name = {c["name"]: c["mandatory"] for c in options["categories"]}
    assert by_name["security"] is True and by_name["billing"] is False
    assert by_name["custom"] is False  # a built-in type
    builtin = {c["name"]: c["builtin"] for c in options["categories"]}
    assert (
        builtin["custom"] is True and builtin["billing"] is False and builtin["security"] is False
    )
    assert options["timezone"] == "Europe/Copenhagen"
    assert options["inherited"]["channels"] == {"email": False}
    assert options["inherited"]["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    assert options["own"] == own
    server = await client.get("/v1/me/preferences/options", headers=child.headers)
    assert server.status_code == 403  # a server key is not a user
