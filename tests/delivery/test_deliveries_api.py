"""``GET /v1/deliveries`` and ``/v1/deliveries/{id}``: filters, paging, scopes, tenants."""

from __future__ import annotations

import httpx
import pytest

from herald.db import Database
from tests.channels.conftest import Server
from tests.conftest import MakeTenant, Tenant, bearer, make_key
from tests.delivery.conftest import email_to, running_worker, wait_finished, worker_settings

pytestmark = pytest.mark.usefixtures("parked")


async def test_the_log_lists_filters_and_pages_with_a_cursor(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, database_url: str, smtp: Server
) -> None:
    smtp.sink.refuse = {"bad@example.com": "550 5.1.1 No such user"}
    first = await email_to(client, tenant, "a@example.com", "b@example.com", "bad@example.com")
    second = await email_to(client, tenant, "c@example.com")
    async with running_worker(worker_settings(database_url, smtp)):
        await wait_finished(db, first)
        await wait_finished(db, second)
    reader = bearer(await make_key(db, tenant, "deliveries.read"))

    listed = (await client.get("/v1/deliveries", headers=reader)).json()
    assert listed["pagination"]["total"] == 4
    assert listed["data"][0]["notification_id"] == second  # newest first
    only = await client.get(f"/v1/deliveries?notification_id={first}", headers=reader)
    assert {d["recipient"]["email"] for d in only.json()["data"]} == {
        "a@example.com", "b@example.com", "bad@example.com"
    }  # fmt: skip
    failed = await client.get("/v1/deliveries?status=permanent-failure", headers=reader)
    assert [d["recipient"] for d in failed.json()["data"]] == [{"email": "bad@example.com"}]
    assert (await client.get("/v1/deliveries?channel=sms", headers=reader)).json()["data"] == []
    later = listed["data"][0]["created_at"]
    recent = await client.get(f"/v1/deliveries?created_at_gt_or_eq={later}", headers=reader)
    assert [d["notification_id"] for d in recent.json()["data"]] == [second]

    page = (await client.get("/v1/deliveries?per_page=3", headers=reader)).json()
    cursor = page["pagination"]["next_cursor"]
    rest = (await client.get(f"/v1/deliveries?per_page=3&cursor={cursor}", headers=reader)).json()
    ids = [d["id"] for d in page["data"] + rest["data"]]
    assert len(ids) == len(set(ids)) == 4 and rest["pagination"]["next_cursor"] is None
    assert all(
        set(d) >= {"attempts", "rendered", "receipt", "template_version"} for d in page["data"]
    )


async def test_unknown_status_is_422_and_scopes_and_tenants_are_enforced(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: MakeTenant, db: Database
) -> None:
    notification = await email_to(client, tenant, "x@example.com")
    mine = (
        await client.get(f"/v1/deliveries?notification_id={notification}", headers=tenant.headers)
    ).json()
    delivery_id = mine["data"][0]["id"]
    detail = await client.get(f"/v1/deliveries/{delivery_id}", headers=tenant.headers)
    assert detail.status_code == 200 and detail.json()["status"] == "created"
    assert detail.json()["attempts"] == [] and detail.json()["rendered"] is None

    bad = await client.get("/v1/deliveries?status=lost", headers=tenant.headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["path"] == "/query/status"
    writer = bearer(await make_key(db, tenant, "notifications.write"))
    assert (await client.get("/v1/deliveries", headers=writer)).status_code == 403

    other = await make_tenant("other")
    hidden = await client.get(f"/v1/deliveries/{delivery_id}", headers=other.headers)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    theirs = await client.get(
        f"/v1/deliveries?notification_id={notification}", headers=other.headers
    )
    assert theirs.json()["data"] == []
