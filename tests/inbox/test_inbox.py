"""The inbox as the user and as the server: read state, actions and their audit, delete."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from herald.db import Database
from herald.http.pagination import encode_cursor
from tests.conftest import Tenant, bearer, make_key
from tests.notifications.helpers import add_users, inbox, user_headers


def message(text: str, **extra: Any) -> dict[str, Any]:
    """A custom message to user ``u``."""
    return {
        "type": "custom",
        "subType": "message",
        "message": text,
        "targets": {"users": ["u"]},
        **extra,
    }


async def test_read_one_read_all_and_unread_filter(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await add_users(client, tenant, "u")
    for text in ("one", "two", "three"):
        assert (
            await client.post("/v1/notifications", json=message(text), headers=tenant.headers)
        ).status_code == 202
    me = await user_headers(client, tenant, "u")
    items = (await inbox(client, me))["data"]
    assert [i["message"] for i in items] == ["three", "two", "one"]
    assert (
        await client.put(f"/notifications/{items[0]['id']}/read", headers=me)
    ).status_code == 204
    unread = await inbox(client, me, "?show=unread")
    assert [i["message"] for i in unread["data"]] == ["two", "one"]
    assert unread["pagination"]["total"] == 2 and unread["pagination"]["unread"] == 2
    first = (await client.get(f"/v1/me/notifications/{items[0]['id']}", headers=me)).json()
    assert first["read"] is True and first["read_at"].endswith("Z")
    assert (await client.put("/notifications/read", headers=me)).status_code == 204
    assert (await client.get("/v1/me/notifications/count", headers=me)).json() == {
        "unread": 0,
        "unseen": 0,
    }


async def test_read_all_clears_unseen_too(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await add_users(client, tenant, "u")
    for text in ("one", "two"):
        sent = await client.post("/v1/notifications", json=message(text), headers=tenant.headers)
        assert sent.status_code == 202
    me = await user_headers(client, tenant, "u")
    count = "/v1/me/notifications/count"
    assert (await client.get(count, headers=me)).json() == {"unread": 2, "unseen": 2}
    assert (await client.put("/v1/me/notifications/read", headers=me)).status_code == 204
    assert (await client.get(count, headers=me)).json() == {"unread": 0, "unseen": 0}


async def test_pages_and_cursors(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await add_users(client, tenant, "u")
    for n in range(5):
        await client.post("/v1/notifications", json=message(f"m{n}"), headers=tenant.headers)
    me = await user_headers(client, tenant, "u")
    first = await inbox(client, me, "?per_page=2")
    assert [i["message"] for i in first["data"]] == ["m4", "m3"]
    assert (
        first["pagination"]["urls"]["next"].endswith("page=2") and first["pagination"]["total"] == 5
    )
    cursor = first["pagination"]["next_cursor"]
    second = await inbox(client, me, f"?per_page=2&cursor={cursor}")
    assert [i["message"] for i in second["data"]] == ["m2", "m1"]
    page3 = await inbox(client, me, "?per_page=2&page=3")
    assert [i["message"] for i in page3["data"]] == ["m0"] and page3["pagination"][
        "next_cursor"
    ] is None
    too_many = await client.get("/v1/me/notifications?per_page=101", headers=me)
    assert too_many.status_code == 422


async def test_listing_marks_seen_and_numbers_hold_past_the_end(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await add_users(client, tenant, "u")
    for n in range(3):
        await client.post("/v1/notifications", json=message(f"m{n}"), headers=tenant.headers)
    me = await user_headers(client, tenant, "u")
    count = "/v1/me/notifications/count"
    assert (await client.get(count, headers=me)).json() == {"unread": 3, "unseen": 3}
    first = await inbox(client, me, "?per_page=2")
    assert [i["seen"] for i in first["data"]] == [False, False]  # as they were when listed
    assert (await client.get(count, headers=me)).json() == {"unread": 3, "unseen": 1}
    again = await inbox(client, me, "?per_page=2")
    assert [i["seen"] for i in again["data"]] == [True, True]
    for query in ("?per_page=2&page=5", "?show=unread&per_page=2&page=5"):
        past = await inbox(client, me, query)
        assert past["data"] == [] and past["pagination"]["total"] == 3
        assert past["pagination"]["unread"] == 3 and past["pagination"]["urls"]["next"] is None
    last = await inbox(client, me, "?per_page=1&page=3")
    cursor = encode_cursor(uuid.UUID(last["data"][0]["id"]))
    after_last = await inbox(client, me, f"?show=unread&cursor={cursor}")
    assert after_last["data"] == [] and after_last["pagination"]["total"] == 3
    assert after_last["pagination"]["next_cursor"] is None
    assert (await client.get(count, headers=me)).json() == {"unread": 3, "unseen": 0}


async def test_actions_are_audited_in_order(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await add_users(client, tenant, "u")
    body = message(
        "Estimate to approve",
        requireAction=True,
        actions=[{"label": "Open survey", "url": "https://survey.example/1"}],
        messageFormatted="<p onclick='x()'>Approve <script>alert(1)</script><b>now</b></p>",
    )
    assert (
        await client.post("/v1/notifications", json=body, headers=tenant.headers)
    ).status_code == 202
    me = await user_headers(client, tenant, "u")
    item = (await inbox(client, me))["data"][0]
    assert item["requireAction"] is True and item["actions"] == [
        {"label": "Open survey", "url": "https://survey.example/1"}
    ]
    assert item["message_formatted"] == "<p>Approve <b>now</b></p>"
    done = await client.patch(
        f"/v1/me/notifications/{item['id']}",
        json={"actionType": "Initiated", "actionNote": "looking"},
        headers=me,
    )
    assert done.status_code == 200 and done.json()["actionStatus"] == "Initiated"
    server = bearer(await make_key(db, tenant, "inbox.read", "inbox.write"))
    approved = await client.patch(
        f"/v1/users/u/inbox/{item['id']}",
        json={"id": item["id"], "actionType": "Approved", "actionNote": "ok"},
        headers=server,
    )
    assert approved.status_code == 200
    read = await client.patch(
        f"/v1/me/notifications/{item['id']}", json={"actionType": "IsRead"}, headers=me
    )
    assert read.json()["read"] is True
    bad = await client.patch(
        f"/v1/me/notifications/{item['id']}", json={"actionType": "Deleted"}, headers=me
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"] == "/actionType"
    trail = (
        await client.get(f"/v1/users/u/notifications/{item['id']}/audit", headers=server)
    ).json()
    assert [(e["actionType"], e["actionNote"]) for e in trail["data"]] == [
        ("Initiated", "looking"),
        ("Approved", "ok"),
        ("IsRead", None),
    ]
    key_id = next(e["performedBy"] for e in trail["data"] if e["actionType"] == "Approved")
    assert [e["performedBy"] for e in trail["data"]] == ["u", key_id, "u"] and key_id.startswith(
        "key:"
    )
    assert trail["pagination"]["total"] == 3 and all(
        e["performedAt"].endswith("Z") for e in trail["data"]
    )


async def test_links_must_be_http(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await add_users(client, tenant, "u")
    body = message("x", actions=[{"label": "Run", "url": "javascript:alert(1)"}])
    refused = await client.post("/v1/notifications", json=body, headers=tenant.headers)
    assert (
        refused.status_code == 422
        and refused.json()["error"]["details"][0]["path"] == "/actions/0/url"
    )


async def test_delete_and_server_side_scopes(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await add_users(client, tenant, "u")
    await client.post("/v1/notifications", json=message("bye"), headers=tenant.headers)
    reader = bearer(await make_key(db, tenant, "inbox.read"))
    listed = (await client.get("/v1/users/u/notifications", headers=reader)).json()
    item_id = listed["data"][0]["id"]
    assert listed["data"][0]["seen"] is False  # a server listing does not mark items seen
    assert (await client.delete(f"/v1/users/u/inbox/{item_id}", headers=reader)).status_code == 403
    me = await user_headers(client, tenant, "u")
    assert (await client.get("/v1/users/u/inbox", headers=me)).status_code == 403
    assert (await client.get("/v1/me/notifications", headers=reader)).status_code == 403
    assert (await client.delete(f"/v1/me/notifications/{item_id}", headers=me)).status_code == 204
    assert (await client.get(f"/v1/me/notifications/{item_id}", headers=me)).status_code == 404
    assert (await inbox(client, me))["pagination"]["total"] == 0
    assert (await client.get("/v1/users/ghost/inbox", headers=reader)).status_code == 404


async def test_other_tenants_ids_are_404(client: httpx.AsyncClient, make_tenant: Any) -> None:
    ours, theirs = await make_tenant("ours"), await make_tenant("theirs")
    await add_users(client, ours, "u")
    await add_users(client, theirs, "u")
    sent = await client.post("/v1/notifications", json=message("secret"), headers=ours.headers)
    their_user = await user_headers(client, theirs, "u")
    item_id = (await inbox(client, await user_headers(client, ours, "u")))["data"][0]["id"]
    notification_id = sent.json()["id"]
    for method, path in (
        ("GET", f"/v1/me/notifications/{item_id}"),
        ("PUT", f"/v1/me/notifications/{item_id}/read"),
        ("PUT", f"/notifications/{item_id}/read"),
        ("GET", f"/v1/me/notifications/{item_id}/audit"),
        ("DELETE", f"/v1/me/notifications/{item_id}"),
    ):
        assert (await client.request(method, path, headers=their_user)).status_code == 404, path
    patched = await client.patch(
        f"/v1/me/notifications/{item_id}", json={"actionType": "Approved"}, headers=their_user
    )
    assert patched.status_code == 404
    for method, path in (
        ("GET", f"/v1/users/u/inbox/{item_id}"),
        ("GET", f"/v1/notifications/{notification_id}"),
        ("DELETE", f"/v1/notifications/{notification_id}"),
    ):
        assert (await client.request(method, path, headers=theirs.headers)).status_code == 404, path
    assert (await client.get("/v1/notifications", headers=theirs.headers)).json()["data"] == []
