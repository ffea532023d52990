"""The SMS gateway's API (seed 004): numbers, segments, sender names, the allowance, lists."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from herald.db import Database
from herald.sms.allowance import seconds_to_month_end
from herald.sms.senders import brand_of
from tests.conftest import MakeTenant, Tenant, bearer, make_key
from tests.sms.conftest import Family, approve, charges, set_allowance, text

UK, US = "+447400123456", "+12025550123"
LONG = "x" * 161  # two GSM-7 segments


async def test_valid_numbers_are_sent_and_invalid_ones_listed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    answer = await text(client, tenant, "447400123456", "123", US, body="Hej 😀")
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["sent"] == 2
    assert [f["number"] for f in body["failed_numbers"]] == ["123"]
    assert [(m["to"], m["segments"], m["encoding"]) for m in body["messages"]] == [
        (UK, 1, "UCS-2"),
        (US, 1, "UCS-2"),
    ]


async def test_only_invalid_numbers_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    answer = await text(client, tenant, "123", "abc")
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_numbers"


async def test_the_alias_answers_the_same(client: httpx.AsyncClient, tenant: Tenant) -> None:
    payload = {"message": {"body": LONG}, "to_numbers": [UK]}
    for path in ("/v1/messages", "/v1/messages/sms"):
        answer = await client.post(path, json=payload, headers=tenant.headers)
        assert answer.status_code == 202, answer.text
        assert answer.json()["messages"][0]["segments"] == 2


async def test_sms_needs_its_scope(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    reader = bearer(await make_key(db, tenant, "notifications.read"))
    payload = {"message": {"body": "x"}, "to_numbers": [UK]}
    assert (await client.post("/v1/messages", json=payload, headers=reader)).status_code == 403
    texter = bearer(await make_key(db, tenant, "notifications.sms.write"))
    assert (await client.post("/v1/messages", json=payload, headers=texter)).status_code == 202


async def test_user_and_team_messages(client: httpx.AsyncClient, tenant: Tenant) -> None:
    h = tenant.headers
    await client.put("/v1/users/ann", json={"phone": "447400123456"}, headers=h)
    await client.put("/v1/users/bob", json={}, headers=h)
    await client.put("/v1/teams/desk", json={"members": ["ann", "bob"]}, headers=h)
    one = await client.post("/v1/users/ann/message", json={"message": {"body": "Hi"}}, headers=h)
    assert one.status_code == 202 and one.json()["messages"][0]["to"] == UK
    group = await client.post("/v1/teams/desk/message", json={"message": {"body": "Hi"}}, headers=h)
    assert group.status_code == 202
    assert group.json()["sent"] == 1
    assert group.json()["failed_numbers"] == [
        {"number": None, "user": "bob", "error": "user bob has no phone number"}
    ]
    nobody = await client.post(
        "/v1/users/nobody/message", json={"message": {"body": "x"}}, headers=h
    )
    assert nobody.status_code == 404


async def test_messages_are_listed_and_filtered(client: httpx.AsyncClient, family: Family) -> None:
    child = family.child
    await approve(client, family, "Shop")
    before = datetime.now(UTC).isoformat()
    await text(client, child, UK, body="plain")
    await text(client, child, US, body="branded", endpoint="Shop", from_number_hidden=True)
    listed = await client.get("/v1/messages", headers=child.headers)
    assert [m["body"] for m in listed.json()["data"]] == ["branded", "plain"]
    assert listed.json()["pagination"]["next_cursor"] is None
    shop = await client.get("/v1/messages", params={"endpoint": "Shop"}, headers=child.headers)
    assert [(m["to"], m["sender"], m["from_number_hidden"]) for m in shop.json()["data"]] == [
        (US, "Shop", True)
    ]
    later = await client.get(
        "/v1/messages", params={"created_at_lt_or_eq": before}, headers=child.headers
    )
    assert later.json()["data"] == []
    paged = await client.get("/v1/messages", params={"per_page": 1}, headers=child.headers)
    cursor = paged.json()["pagination"]["next_cursor"]
    rest = await client.get("/v1/messages", params={"cursor": cursor}, headers=child.headers)
    assert [m["body"] for m in rest.json()["data"]] == ["plain"]


@pytest.mark.parametrize("name", ["PayPal", "pay pal", "NHS", "Visa Card", "Danske Bank"])
def test_well_known_brands_are_recognised(name: str) -> None:
    assert brand_of(name) is not None


@pytest.mark.parametrize("name", ["Groups", "Shop", "Bakery 42"])
def test_other_names_are_not_brands(name: str) -> None:
    assert brand_of(name) is None


async def test_sender_names_wait_for_an_ancestor(client: httpx.AsyncClient, family: Family) -> None:
    child, parent = family.child, family.parent
    pending = await client.put("/v1/senders/Bakery", headers=child.headers)
    assert (pending.status_code, pending.json()["status"]) == (200, "pending")
    brand = await client.put("/v1/senders/Pay Pal", headers=child.headers)
    assert brand.json()["status"] == "rejected" and "paypal" in brand.json()["reason"]
    bad = await client.put("/v1/senders/Far-too-long-name", headers=child.headers)
    assert bad.status_code == 422
    own = f"/v1/accounts/{child.account_id}/senders/Bakery/approve"
    assert (await client.post(own, headers=child.headers)).status_code == 403
    approved = await client.post(own, headers=parent.headers)
    assert approved.json()["status"] == "approved"
    rejected = f"/v1/accounts/{child.account_id}/senders/Bakery/reject"
    assert (await client.post(rejected, headers=parent.headers)).json()["status"] == "rejected"
    missing = f"/v1/accounts/{child.account_id}/senders/Nope/approve"
    assert (await client.post(missing, headers=parent.headers)).status_code == 404


async def test_an_ancestor_cannot_approve_a_brand_name(
    client: httpx.AsyncClient, family: Family
) -> None:
    child, parent = family.child, family.parent
    await client.put("/v1/senders/Pay Pal", headers=child.headers)
    approve_it = f"/v1/accounts/{child.account_id}/senders/Pay Pal/approve"
    refused = await client.post(approve_it, headers=parent.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "brand_name_rejected"
    listed = (await client.get("/v1/senders", headers=child.headers)).json()["data"]
    assert [(s["name"], s["status"]) for s in listed] == [("Pay Pal", "rejected")]
    sent = await text(client, child, "4571999999", endpoint="Pay Pal", from_number_hidden=True)
    assert sent.status_code == 400


async def test_unapproved_senders_and_hidden_numbers_are_refused(
    client: httpx.AsyncClient, family: Family
) -> None:
    child = family.child
    await client.put("/v1/senders/Bakery", headers=child.headers)
    pending = await text(client, child, UK, endpoint="Bakery")
    assert pending.status_code == 400
    assert pending.json()["error"]["code"] == "sender_not_approved"
    unknown = await text(client, child, UK, endpoint="Unknown", from_number_hidden=True)
    assert unknown.status_code == 400
    hidden = await text(client, child, UK, from_number_hidden=True)
    assert hidden.status_code == 400
    await approve(client, family, "Bakery")
    sent = await text(client, child, UK, endpoint="Bakery", from_number_hidden=True)
    assert sent.status_code == 202, sent.text


async def test_the_allowance_is_reserved_at_accept_and_exhausted_with_429(
    client: httpx.AsyncClient, family: Family, db: Database
) -> None:
    child = family.child
    await set_allowance(client, family, 3)
    first = await text(client, child, UK, body=LONG)
    assert first.status_code == 202
    delivery_id = uuid.UUID(first.json()["messages"][0]["id"])
    assert (await charges(db, child.account_id))[delivery_id] == (2, "reserved")
    over = await text(client, child, UK, US, body="two numbers, two segments")
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "overuse_full"
    assert 0 < int(over.headers["retry-after"]) <= 31 * 24 * 3600
    assert len(await charges(db, child.account_id)) == 1
    last = await text(client, child, US, body="the last one")
    assert last.status_code == 202
    test_key = bearer(await make_key(db, child, "notifications.write", test=True))
    payload = {"message": {"body": "free"}, "to_numbers": [UK]}
    simulated = await client.post("/v1/messages", json=payload, headers=test_key)
    assert simulated.status_code == 202
    assert len(await charges(db, child.account_id)) == 2


async def test_an_account_cannot_raise_its_own_allowance(
    client: httpx.AsyncClient, family: Family
) -> None:
    own = await client.patch(
        f"/v1/accounts/{family.child.account_id}",
        json={"limits": {"sms_allowance": 10**6}},
        headers=family.child.headers,
    )
    assert own.status_code in (403, 422)


def test_retry_after_runs_to_the_end_of_the_utc_month() -> None:
    assert seconds_to_month_end(datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC)) == 30
    assert seconds_to_month_end(datetime(2026, 2, 1, tzinfo=UTC)) == 28 * 24 * 3600


async def test_another_tenant_cannot_approve(
    client: httpx.AsyncClient, family: Family, make_tenant: MakeTenant
) -> None:
    await client.put("/v1/senders/Bakery", headers=family.child.headers)
    stranger = await make_tenant("stranger")
    path = f"/v1/accounts/{family.child.account_id}/senders/Bakery/approve"
    assert (await client.post(path, headers=stranger.headers)).status_code == 404


async def test_a_nul_character_is_422_at_its_pointer(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for field in ("endpoint", "body"):
        payload = {"message": {"body": "Hello", field: "F\x00"}, "to_numbers": [UK]}
        answer = await client.post("/v1/messages", json=payload, headers=tenant.headers)
        assert answer.status_code == 422, answer.text
        assert [d["path"] for d in answer.json()["error"]["details"]] == [f"/message/{field}"]
