"""Users: upsert, validation and normalisation, listing, deletion of personal data."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from herald.db import Database
from tests.conftest import Tenant

ALICE = {
    "name": "Alice Smith",
    "first_name": "Alice",
    "last_name": "Smith",
    "email": "Alice@Example.COM",
    "phone": "4571999999",
    "locale": "en-GB",
    "timezone": "Europe/London",
    "admin": True,
    "data": {"office": "Hackney"},
}


async def test_put_creates_then_replaces(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await client.put("/v1/users/ADV", json=ALICE, headers=tenant.headers)
    assert created.status_code == 201
    body = created.json()
    assert body["external_id"] == "ADV"
    assert body["phone"] == "+4571999999"
    assert body["email"] == "Alice@example.com"
    assert body["admin"] is True and body["data"] == {"office": "Hackney"}
    replaced = await client.put("/v1/users/ADV", json={"name": "A"}, headers=tenant.headers)
    assert replaced.status_code == 200
    assert replaced.json()["email"] is None and replaced.json()["name"] == "A"


async def test_validation_names_each_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    bad = {"email": "not-an-email", "phone": "+44 12", "timezone": "Mars/Olympus", "locale": "!!"}
    response = await client.put("/v1/users/u1", json=bad, headers=tenant.headers)
    assert response.status_code == 422
    paths = {d["path"] for d in response.json()["error"]["details"]}
    assert paths == {"/email", "/phone", "/timezone", "/locale"}


async def test_unknown_fields_are_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.put("/v1/users/u1", json={"nickname": "x"}, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["path"] == "/nickname"


async def test_external_id_characters_are_checked(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.put("/v1/users/bad%20id", json={}, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["path"] == "/path/external_id"
    ok = await client.put("/v1/users/neg:ADV.1@x-y_z", json={}, headers=tenant.headers)
    assert ok.status_code == 201


async def test_list_is_paginated(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for i in range(5):
        await client.put(f"/v1/users/u{i}", json={}, headers=tenant.headers)
    page = await client.get("/v1/users?per_page=2&page=2", headers=tenant.headers)
    body = page.json()
    assert [u["external_id"] for u in body["data"]] == ["u2", "u3"]
    pagination = body["pagination"]
    assert pagination["total"] == 5 and pagination["page"] == 2 and pagination["per_page"] == 2
    assert "page=1" in pagination["urls"]["previous"] and "page=3" in pagination["urls"]["next"]
    last = (await client.get("/v1/users?per_page=2&page=3", headers=tenant.headers)).json()
    assert last["pagination"]["urls"]["next"] is None


async def test_delete_removes_personal_data(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await client.put("/v1/users/gone", json=ALICE, headers=tenant.headers)
    await client.post(
        "/v1/users/gone/devices/tok-1", json={"type": "Android"}, headers=tenant.headers
    )
    await client.put("/v1/teams/t", json={"members": ["gone"]}, headers=tenant.headers)
    assert (await client.delete("/v1/users/gone", headers=tenant.headers)).status_code == 204
    assert (await client.get("/v1/users/gone", headers=tenant.headers)).status_code == 404
    assert (await client.delete("/v1/users/gone", headers=tenant.headers)).json()["error"][
        "code"
    ] == "not_found"
    team = await client.get("/v1/teams/t", headers=tenant.headers)
    assert team.json()["members"] == []
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT count(*) FROM users WHERE email = :e"), {"e": "Alice@example.com"}
        )
        devices = await conn.execute(text("SELECT count(*) FROM devices WHERE token = 'tok-1'"))
    assert rows.scalar() == 0 and devices.scalar() == 0
