"""What seed 004's routes read, on both databases: endpoints resolved to who sends and what is
shown, the records of the account's SMS with their users, the employee filter, the merge of
several sources, and the sender-name rules (the account's own name, well-known brands)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from herald.db import Database
from herald.sms.records import Direction, SmsRecord, list_records, merged
from herald.sms.service import MessageFilters
from tests.conftest import Tenant
from tests.sms.conftest import Family, text

ANN, BOB = "+4571999999", "+4571991234"


async def _people(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for external_id, fields in (
        ("ann", {"name": "Ann", "phone": ANN}),
        ("bob", {"name": "Bob", "phone": BOB}),
    ):
        answer = await client.put(f"/v1/users/{external_id}", json=fields, headers=tenant.headers)
        assert answer.status_code == 201


async def test_endpoints_name_who_sends(client: httpx.AsyncClient, family: Family) -> None:
    child = family.child
    await _people(client, child)
    shop = (await client.put("/v1/senders/shop", headers=child.headers)).json()
    assert shop["status"] == "approved"  # the account's own name
    employee = await text(client, child, BOB, endpoint="Employee#ann")
    hidden = await text(
        client, child, BOB, endpoint=f"Reception#{shop['id']}", from_number_hidden=True
    )
    assert employee.status_code == hidden.status_code == 202
    listed = (await client.get("/v1/messages", headers=child.headers)).json()["data"]
    assert [(m["endpoint"], m["sender"], m["from_number_hidden"]) for m in listed] == [
        (f"Reception#{shop['id']}", "shop", True),
        ("Employee#ann", ANN, False),
    ]
    for endpoint, status in (
        ("Employee#nobody", 422),
        ("Reception#x", 422),
        ("Reception#" + str(uuid.uuid4()), 422),
    ):
        refused = await text(client, child, BOB, endpoint=endpoint)
        assert refused.status_code == status, refused.text
        assert refused.json()["error"]["details"][0]["path"] == "/message/endpoint"
    bob_without_phone = await client.put(
        "/v1/users/bob", json={"name": "Bob"}, headers=child.headers
    )
    assert bob_without_phone.status_code == 200
    assert (await text(client, child, ANN, endpoint="Employee#bob")).status_code == 422


async def test_records_carry_their_users_and_filter_by_employee(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await _people(client, tenant)
    await client.post(
        "/v1/users/bob/message", json={"message": {"body": "to Bob"}}, headers=tenant.headers
    )
    assert (await text(client, tenant, ANN, endpoint="Employee#bob")).status_code == 202
    async with db.sessions() as session:
        every = await list_records(
            session, account_id=tenant.account_id, filters=MessageFilters(), offset=0, limit=10
        )
        mine = await list_records(
            session,
            account_id=tenant.account_id,
            filters=MessageFilters(employee="bob"),
            offset=0,
            limit=10,
        )
    assert [(r.to, r.to_name, r.employee.external_id if r.employee else None) for r in every] == [
        (ANN, None, "bob"),
        (BOB, "Bob", None),
    ]
    assert [r.to for r in mine] == [ANN] and all(r.direction == "outgoing" for r in every)


def _record(minutes: int, direction: Direction = "outgoing") -> SmsRecord:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    return SmsRecord(
        id=uuid.uuid4(), direction=direction, to="+4571999999", sender=None, hidden=False,
        endpoint=None, body=str(minutes), created_at=at,
    )  # fmt: skip


def test_sources_merge_newest_first_a_page_at_a_time() -> None:
    sent = [_record(m) for m in (9, 5, 1)]
    received = [_record(m, "incoming") for m in (8, 2)]
    page = merged([sent, received], offset=1, limit=3)
    assert [(r.body, r.direction) for r in page] == [
        ("8", "incoming"),
        ("5", "outgoing"),
        ("2", "incoming"),
    ]


async def test_a_brand_name_cannot_be_approved_by_any_ancestor(
    client: httpx.AsyncClient, family: Family
) -> None:
    rejected = (await client.put("/v1/senders/Visa", headers=family.child.headers)).json()
    assert rejected["status"] == "rejected"
    path = f"/v1/accounts/{family.child.account_id}/senders/Visa/approve"
    refused = await client.post(path, headers=family.parent.headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "brand_name_rejected"
    listed = (await client.get("/v1/senders", headers=family.child.headers)).json()["data"]
    assert [(s["name"], s["status"]) for s in listed] == [("Visa", "rejected")]
    reject = f"/v1/accounts/{family.child.account_id}/senders/Visa/reject"
    assert (await client.post(reject, headers=family.parent.headers)).json()["status"] == "rejected"
