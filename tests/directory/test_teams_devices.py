"""Teams with members, and devices registered by users and by servers."""

from __future__ import annotations

import httpx

from tests.conftest import Tenant, bearer


async def test_team_members_round_trip(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for user in ("a", "b", "c"):
        await client.put(f"/v1/users/{user}", json={}, headers=tenant.headers)
    made = await client.put(
        "/v1/teams/sales",
        json={"name": "Sales", "members": ["b", "a", "a"]},
        headers=tenant.headers,
    )
    assert made.status_code == 200
    assert made.json() == {"key": "sales", "name": "Sales", "members": ["a", "b"]}
    assert (
        await client.post("/v1/teams/sales/members/c", headers=tenant.headers)
    ).status_code == 204
    assert (
        await client.post("/v1/teams/sales/members/c", headers=tenant.headers)
    ).status_code == 204
    assert (
        await client.delete("/v1/teams/sales/members/a", headers=tenant.headers)
    ).status_code == 204
    team = (await client.get("/v1/teams/sales", headers=tenant.headers)).json()
    assert team["members"] == ["b", "c"]
    listed = (await client.get("/v1/teams", headers=tenant.headers)).json()
    assert listed["data"][0]["key"] == "sales" and listed["pagination"]["total"] == 1


async def test_unknown_members_are_named(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.put("/v1/users/a", json={}, headers=tenant.headers)
    response = await client.put(
        "/v1/teams/t", json={"members": ["a", "ghost", 7]}, headers=tenant.headers
    )
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [d["path"] for d in details] == ["/members/1", "/members/2"]
    assert "ghost" in details[0]["message"] and "7" in details[1]["message"]


async def test_devices_from_the_user_and_the_server(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await client.put("/v1/users/u", json={}, headers=tenant.headers)
    token = (await client.post("/v1/users/u/tokens", headers=tenant.headers)).json()["token"]
    me = bearer(token)
    assert (await client.post("/v1/me/devices/ios-token", headers=me)).status_code == 204
    seed_style = await client.post(
        "/notifications/devices/droid", json={"type": "Android"}, headers=me
    )
    assert seed_style.status_code == 204
    await client.post("/v1/users/u/devices/srv", json={"type": "Android"}, headers=tenant.headers)
    listed = (await client.get("/v1/users/u/devices", headers=tenant.headers)).json()["data"]
    assert {(d["token"], d["type"]) for d in listed} == {
        ("ios-token", "iOS"),
        ("droid", "Android"),
        ("srv", "Android"),
    }
    assert (await client.delete("/v1/me/devices/ios-token", headers=me)).status_code == 204
    assert (await client.delete("/notifications/devices/droid", headers=me)).status_code == 204
    assert (
        await client.delete("/v1/users/u/devices/srv", headers=tenant.headers)
    ).status_code == 204
    assert (await client.get("/v1/users/u/devices", headers=tenant.headers)).json()["data"] == []


async def test_web_devices_need_a_subscription(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await client.put("/v1/users/u", json={}, headers=tenant.headers)
    token = (await client.post("/v1/users/u/tokens", headers=tenant.headers)).json()["token"]
    bad = await client.post("/v1/me/devices/w1", json={"type": "web"}, headers=bearer(token))
    assert bad.status_code == 422
    good = await client.post(
        "/v1/me/devices/w1",
        json={
            "type": "web",
            "subscription": {
                "endpoint": "https://push.example/x",
                "keys": {"p256dh": "k", "auth": "a"},
            },
        },
        headers=bearer(token),
    )
    assert good.status_code == 204
    wrong_type = await client.post(
        "/v1/me/devices/w2", json={"type": "Palm"}, headers=bearer(token)
    )
    assert (
        wrong_type.status_code == 422
        and wrong_type.json()["error"]["details"][0]["path"] == "/type"
    )
