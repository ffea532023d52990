"""The account tree: children, visibility, and who may set limits."""

from __future__ import annotations

import httpx

from tests.conftest import MakeTenant, Tenant


async def test_child_accounts_form_a_tree(client: httpx.AsyncClient, tenant: Tenant) -> None:
    made = await client.post("/v1/accounts", json={"name": "child"}, headers=tenant.headers)
    assert made.status_code == 201
    child = made.json()
    assert child["parent_id"] == str(tenant.account_id) and child["name"] == "child"
    children = await client.get(
        f"/v1/accounts/{tenant.account_id}/children", headers=tenant.headers
    )
    assert [c["id"] for c in children.json()["data"]] == [child["id"]]
    assert children.json()["pagination"]["total"] == 1
    fetched = await client.get(f"/v1/accounts/{child['id']}", headers=tenant.headers)
    assert fetched.json()["id"] == child["id"]


async def test_only_an_ancestor_sets_limits(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: MakeTenant
) -> None:
    child = await make_tenant("child", parent=tenant)
    patch = {"limits": {"rate": "10/second", "daily": 5, "sms_allowance": 100}}
    own = await client.patch(f"/v1/accounts/{child.account_id}", json=patch, headers=child.headers)
    assert own.status_code == 403
    by_parent = await client.patch(
        f"/v1/accounts/{child.account_id}", json=patch, headers=tenant.headers
    )
    assert by_parent.status_code == 200
    assert by_parent.json()["limits"] == {"rate": "10/second", "daily": 5, "sms_allowance": 100}
    settings = await client.patch(
        f"/v1/accounts/{child.account_id}",
        json={"retention_days": 30, "default_locale": "cy"},
        headers=child.headers,
    )
    assert settings.json()["retention_days"] == 30 and settings.json()["default_locale"] == "cy"


async def test_bad_limits_are_422(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: MakeTenant
) -> None:
    child = await make_tenant("child", parent=tenant)
    response = await client.patch(
        f"/v1/accounts/{child.account_id}",
        json={"limits": {"rate": "lots", "daily": -1}},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    paths = {d["path"] for d in response.json()["error"]["details"]}
    assert paths == {"/limits/rate", "/limits/daily"}


async def test_parent_and_siblings_are_invisible(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: MakeTenant
) -> None:
    child = await make_tenant("child", parent=tenant)
    sibling = await make_tenant("sibling", parent=tenant)
    for target in (tenant.account_id, sibling.account_id):
        response = await client.get(f"/v1/accounts/{target}", headers=child.headers)
        assert response.status_code == 404
    grandchild = await client.post("/v1/accounts", json={"name": "g"}, headers=child.headers)
    seen_by_root = await client.get(
        f"/v1/accounts/{grandchild.json()['id']}", headers=tenant.headers
    )
    assert seen_by_root.status_code == 200
