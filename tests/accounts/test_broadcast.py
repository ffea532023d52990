"""Broadcast (seed 002's customer update): a reseller's templated message to its accounts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from herald.db import Database
from herald.delivery.models import Delivery
from herald.notifications.models import Notification
from tests.conftest import MakeTenant, Tenant, bearer, make_key
from tests.delivery.conftest import running_worker, wait_finished, worker_settings
from tests.notifications.helpers import inbox, user_headers
from tests.notifications.test_fanout_scale import counting

pytestmark = pytest.mark.usefixtures("parked")

UPDATE = {
    "id": "customer_update",
    "channels": {
        "email": {
            "subject": "Update for {{ account.name }}: {{ topic }}",
            "text": "Dear {{ user.first_name | default('customer') }},\n{{ topic }}",
        },
        "in_app": {"message": "Update for {{ user.first_name }}: {{ topic }}"},
    },
}
B_OVERRIDE = {
    "channels": {
        "email": {"subject": "B says {{ topic }}"},
        "in_app": {"message": "B: {{ topic }}"},
    }
}
TOPIC = {"topic": "new prices"}


@dataclass
class Tree:
    """A reseller with children ``a`` (which has a child ``a1``) and ``b``."""

    reseller: Tenant
    a: Tenant
    a1: Tenant
    b: Tenant


async def _user(
    client: httpx.AsyncClient, tenant: Tenant, external_id: str, **profile: Any
) -> None:
    made = await client.put(f"/v1/users/{external_id}", json=profile, headers=tenant.headers)
    assert made.status_code in (200, 201), made.text


async def _tree(client: httpx.AsyncClient, make_tenant: MakeTenant) -> Tree:
    reseller = await make_tenant("reseller")
    a = await make_tenant("A", parent=reseller)
    tree = Tree(
        reseller, a, await make_tenant("A1", parent=a), await make_tenant("B", parent=reseller)
    )
    await _user(client, tree.a, "boss", admin=True, first_name="Bo", email="boss@a.example")
    await _user(client, tree.a, "ann", first_name="Ann", email="ann@a.example")
    await _user(client, tree.b, "bea", admin=True, first_name="Bea", email="bea@b.example")
    await _user(client, tree.a1, "al", first_name="Al", email="al@a1.example")
    # The reseller's own version of the built-in customer_update.
    made = await client.put("/v1/templates/customer_update", json=UPDATE, headers=reseller.headers)
    assert made.status_code == 201, made.text
    put = await client.put("/v1/templates/customer_update", json=B_OVERRIDE, headers=tree.b.headers)
    assert put.status_code in (200, 201), put.text
    return tree


async def _broadcast(
    client: httpx.AsyncClient, caller: Tenant, to: Tenant, status: int = 202, **body: Any
) -> dict[str, Any]:
    body = {"template": "customer_update", "personalisation": TOPIC, **body}
    answer = await client.post(
        f"/v1/accounts/{to.account_id}/broadcast", json=body, headers=caller.headers
    )
    assert answer.status_code == status, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _owners(db: Database, ids: list[str]) -> dict[uuid.UUID, int]:
    """account → how many deliveries its broadcast notification has."""
    async with db.sessions() as session:
        rows = await session.execute(
            select(Notification.account_id, func.count(Delivery.id))
            .join(Delivery, Delivery.notification_id == Notification.id)
            .where(Notification.id.in_([uuid.UUID(i) for i in ids]))
            .group_by(Notification.account_id)
        )
        return dict(rows.all())


async def test_all_users_of_every_descendant(
    client: httpx.AsyncClient, make_tenant: MakeTenant, db: Database
) -> None:
    tree = await _tree(client, make_tenant)
    sent = await _broadcast(client, tree.reseller, tree.reseller, user_type="all_users")
    assert (sent["accounts"], sent["recipients"], len(sent["ids"])) == (3, 4, 3)
    owners = await _owners(db, sent["ids"])
    assert owners == {tree.a.account_id: 2, tree.a1.account_id: 1, tree.b.account_id: 1}
    # Each notification lives in its own account: that account reads it, the reseller cannot.
    [b_id] = [i for i in sent["ids"] if (await _get(client, tree.b, i)).status_code == 200]
    shown = (await _get(client, tree.b, b_id)).json()
    assert (shown["type"], shown["subType"], shown["targets"]) == (
        "custom",
        "broadcast",
        {"all": True},
    )
    assert [d["channel"] for d in shown["deliveries"]] == ["email"]
    assert (await _get(client, tree.reseller, b_id)).status_code == 404


async def _get(client: httpx.AsyncClient, tenant: Tenant, notification_id: str) -> httpx.Response:
    return await client.get(f"/v1/notifications/{notification_id}", headers=tenant.headers)


async def test_admins_only_is_the_default(
    client: httpx.AsyncClient, make_tenant: MakeTenant, db: Database
) -> None:
    tree = await _tree(client, make_tenant)
    sent = await _broadcast(client, tree.reseller, tree.reseller)
    assert (sent["accounts"], sent["recipients"]) == (2, 2)  # A1 has no admin: not reached
    assert await _owners(db, sent["ids"]) == {tree.a.account_id: 1, tree.b.account_id: 1}


async def test_one_user_by_external_id(client: httpx.AsyncClient, make_tenant: MakeTenant) -> None:
    tree = await _tree(client, make_tenant)
    sent = await _broadcast(client, tree.reseller, tree.reseller, user_type="ann")
    assert (sent["accounts"], sent["recipients"]) == (1, 1)
    unknown = await _broadcast(client, tree.reseller, tree.reseller, 422, user_type="zed")
    assert [d["path"] for d in unknown["error"]["details"]] == ["/user_type"]


async def test_one_child_by_recipient_id(
    client: httpx.AsyncClient, make_tenant: MakeTenant, db: Database
) -> None:
    tree = await _tree(client, make_tenant)
    sent = await _broadcast(
        client,
        tree.reseller,
        tree.reseller,
        user_type="all_users",
        recipient_id=str(tree.a.account_id),
    )
    assert (sent["accounts"], sent["recipients"]) == (1, 2)
    assert await _owners(db, sent["ids"]) == {tree.a.account_id: 2}
    # The recipient must be below the account broadcast from: itself or a stranger is 404.
    stranger = await make_tenant("stranger")
    for account in (tree.reseller, stranger):
        missing = await _broadcast(
            client, tree.reseller, tree.reseller, 404, recipient_id=str(account.account_id)
        )
        assert missing["error"]["code"] == "not_found"


async def test_from_an_intermediate_account_reaches_only_its_subtree(
    client: httpx.AsyncClient, make_tenant: MakeTenant, db: Database
) -> None:
    tree = await _tree(client, make_tenant)
    # The reseller broadcasts from A; A itself broadcasts too: both reach only A1.
    for caller in (tree.reseller, tree.a):
        sent = await _broadcast(client, caller, tree.a, user_type="all_users")
        assert await _owners(db, sent["ids"]) == {tree.a1.account_id: 1}


async def test_other_tenants_and_descendants_get_404(
    client: httpx.AsyncClient, make_tenant: MakeTenant
) -> None:
    tree = await _tree(client, make_tenant)
    stranger = await make_tenant("stranger")
    for caller, target in ((stranger, tree.reseller), (tree.a, tree.reseller), (tree.b, tree.a)):
        answer = await _broadcast(client, caller, target, 404)
        assert answer["error"]["code"] == "not_found"


async def test_the_scope_is_accounts_write(
    client: httpx.AsyncClient, make_tenant: MakeTenant, db: Database
) -> None:
    tree = await _tree(client, make_tenant)
    key = await make_key(db, tree.reseller, "notifications.write")
    answer = await client.post(
        f"/v1/accounts/{tree.reseller.account_id}/broadcast",
        json={"template": "customer_update", "personalisation": TOPIC},
        headers=bearer(key),
    )
    assert answer.status_code == 403, answer.text


async def test_template_and_personalisation_are_checked(
    client: httpx.AsyncClient, make_tenant: MakeTenant, db: Database
) -> None:
    tree = await _tree(client, make_tenant)
    unknown = await _broadcast(client, tree.reseller, tree.reseller, 422, template="nope")
    assert [d["path"] for d in unknown["error"]["details"]] == ["/template"]
    missing = await _broadcast(client, tree.reseller, tree.reseller, 400, personalisation={})
    assert missing["error"]["code"] == "missing_personalisation"
    assert [d["path"] for d in missing["error"]["details"]] == ["/personalisation/topic"]
    async with db.sessions() as session:
        written = await session.scalar(
            select(func.count()).where(Notification.account_id == tree.a.account_id)
        )
    assert written == 0


async def test_a_disabled_override_opts_the_account_out(
    client: httpx.AsyncClient, make_tenant: MakeTenant, db: Database
) -> None:
    tree = await _tree(client, make_tenant)
    off = await client.put(
        "/v1/templates/customer_update", json={"enabled": False}, headers=tree.a.headers
    )
    assert off.status_code == 201, off.text  # the override is made
    sent = await _broadcast(client, tree.reseller, tree.reseller, user_type="all_users")
    # A switched it off for itself and, by inheritance, for A1.
    assert await _owners(db, sent["ids"]) == {tree.b.account_id: 1}


async def test_in_app_text_comes_from_each_accounts_own_template(
    client: httpx.AsyncClient, make_tenant: MakeTenant
) -> None:
    tree = await _tree(client, make_tenant)
    sent = await _broadcast(
        client, tree.reseller, tree.reseller, user_type="all_users", channels=["in_app"]
    )
    assert (sent["accounts"], sent["recipients"]) == (3, 4)
    expected = [
        (tree.a, "ann", "Update for Ann: new prices"),
        (tree.a1, "al", "Update for Al: new prices"),
        (tree.b, "bea", "B: new prices"),
    ]
    for tenant, user, text in expected:
        [item] = (await inbox(client, await user_headers(client, tenant, user)))["data"]
        assert item["message"] == text


async def test_the_worker_renders_each_accounts_override(
    client: httpx.AsyncClient, make_tenant: MakeTenant, db: Database, database_url: str
) -> None:
    tree = await _tree(client, make_tenant)
    test_key = await make_key(db, tree.reseller, "accounts.write", test=True)
    answer = await client.post(
        f"/v1/accounts/{tree.reseller.account_id}/broadcast",
        json={"template": "customer_update", "personalisation": TOPIC},
        headers=bearer(test_key),
    )
    assert answer.status_code == 202, answer.text
    subjects = {}
    async with running_worker(worker_settings(database_url)):
        for notification_id in answer.json()["ids"]:
            [delivery] = await wait_finished(db, notification_id)
            assert delivery.status == "delivered" and delivery.rendered is not None
            subjects[delivery.account_id] = delivery.rendered["subject"]
    assert subjects == {
        tree.a.account_id: "Update for A: new prices",
        tree.b.account_id: "B says new prices",
    }


async def test_many_accounts_in_few_statements(
    client: httpx.AsyncClient, app: FastAPI, make_tenant: MakeTenant
) -> None:
    reseller = await make_tenant("big reseller")
    made = await client.put("/v1/templates/customer_update", json=UPDATE, headers=reseller.headers)
    assert made.status_code == 201
    for n in range(30):
        child = await make_tenant(f"child {n}", parent=reseller)
        await _user(client, child, "owner", admin=True, email=f"owner{n}@example.com")
    with counting(app) as statements:
        sent = await _broadcast(client, reseller, reseller)
    assert (sent["accounts"], sent["recipients"]) == (30, 30)
    # Independent of the number of accounts: no statement per account or recipient.
    assert len(statements) < 20, statements
    print(f"\n{len(statements)} statements for a broadcast to 30 accounts")
    assert statements.count("-- commit") == 1


async def test_a_recipient_lacking_a_field_is_refused_before_anything_is_written(
    client: httpx.AsyncClient, make_tenant: MakeTenant, db: Database
) -> None:
    tree = await _tree(client, make_tenant)
    strict = {"channels": {"email": {"subject": "Hi", "text": "Dear {{ user.last_name }}"}}}
    put = await client.put("/v1/templates/customer_update", json=strict, headers=tree.a.headers)
    assert put.status_code == 201, put.text
    # A's users (and A1's, inheriting A's version) have no last name: refused, naming them.
    missing = await _broadcast(client, tree.reseller, tree.reseller, 400, user_type="all_users")
    assert missing["error"]["code"] == "missing_personalisation"
    [detail] = missing["error"]["details"]
    assert detail["path"] == "/personalisation/user/last_name"
    assert all(name in detail["message"] for name in ("boss", "ann", "al"))
    async with db.sessions() as session:
        written = await session.scalar(
            select(func.count()).where(
                Notification.account_id.in_([tree.a.account_id, tree.b.account_id])
            )
        )
    assert written == 0
    # B's version reads no such field: to B alone it goes.
    only_b = await _broadcast(
        client, tree.reseller, tree.reseller, recipient_id=str(tree.b.account_id)
    )
    assert (only_b["accounts"], only_b["recipients"]) == (1, 1)


async def test_an_in_app_opt_out_withholds_the_broadcasts_inbox_item(
    client: httpx.AsyncClient, make_tenant: MakeTenant, db: Database
) -> None:
    tree = await _tree(client, make_tenant)
    off = {"channels": {"in_app": False}}
    answer = await client.put("/v1/users/ann/preferences", json=off, headers=tree.a.headers)
    assert answer.status_code == 200, answer.text
    sent = await _broadcast(
        client, tree.reseller, tree.reseller, user_type="all_users", channels=["email", "in_app"]
    )
    assert sent["recipients"] == 4  # ann still counts: her delivery says why she got no item
    ann, boss = [await user_headers(client, tree.a, u) for u in ("ann", "boss")]
    assert (await inbox(client, ann))["data"] == []
    assert len((await inbox(client, boss))["data"]) == 1
    ids = [uuid.UUID(i) for i in sent["ids"]]
    async with db.sessions() as session:
        rows = await session.scalars(select(Delivery).where(Delivery.notification_id.in_(ids)))
        found = {(d.recipient["user"], d.channel): (d.status, d.reason) for d in rows}
    assert found[("ann", "in_app")] == ("skipped", "preference")
    assert found[("ann", "email")][1] is None and ("boss", "in_app") not in found
