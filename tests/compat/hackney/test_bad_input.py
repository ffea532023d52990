"""Seed 003's rules at ``/hackney``: each bad request a clear 400/422 pointing at the seed's
field, nothing written; and the routes' other refusals (auth, unknown ids)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.compat.hackney.conftest import Council
from tests.compat.hackney.test_seed import ADDRESS

BASE: dict[str, Any] = {
    "targetId": "7e6041e2-01b6-4c41-9ccd-5b0932616b50",
    "targetType": "Estimates",
    "user": "test.user@hackney.gov.uk",
    "message": "An estimate awaits approval",
    "templateId": "c6a75cc9-1193-...",
    "mobileNumber": "0123 456 7890",
    "email": "test@example.com",
    "personalisationParams": {"firstName": "Joe", "lastName": "Bloggs", **ADDRESS},
}
NO_ADDRESS = {"firstName": "Joe", "lastName": "Bloggs", "addressLine1": "1 Hillman Street",
              "addressLine2": "", "addressLine3": "E8 1DY"}  # fmt: skip
CASES = [
    ("email missing", {"notificationType": "Email", "email": None}, 422, ["/email"]),
    ("email invalid", {"notificationType": "Email", "email": "not an address"}, 422, ["/email"]),
    ("number missing", {"notificationType": "Text", "mobileNumber": ""}, 422, ["/mobileNumber"]),
    ("number invalid", {"notificationType": "Text", "mobileNumber": "0123"}, 422,
     ["/mobileNumber"]),
    ("two address lines", {"notificationType": "Letter", "personalisationParams": NO_ADDRESS},
     422, ["/personalisationParams/addressLine1"]),
    ("no template", {"notificationType": "Email", "templateId": None}, 422, ["/templateId"]),
    ("unknown template", {"notificationType": "Email", "templateId": "no-such"}, 422,
     ["/templateId"]),
    ("personalisation missing", {"notificationType": "Email,Text", "personalisationParams": {}},
     400, ["/personalisationParams/firstName", "/personalisationParams/lastName"]),
    ("unknown type", {"notificationType": "Screen,Fax"}, 422, ["/notificationType"]),
    ("screen without message", {"notificationType": "Screen", "message": None}, 422,
     ["/message"]),
    ("flag not a boolean", {"notificationType": "Screen", "requireAction": "maybe"}, 422,
     ["/requireAction"]),
    ("unknown field", {"notificationType": "Screen", "priority": "high"}, 422, ["/priority"]),
    ("type missing", {"notificationType": None}, 422, ["/notificationType"]),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "status", "paths"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
async def test_the_seeds_rules(
    council: Council, changes: dict[str, Any], status: int, paths: list[str]
) -> None:
    body = {k: v for k, v in {**BASE, **changes}.items() if v is not None}
    async with council.client() as http:
        before = await http.get("/hackney/notifications", params={"limit": 1000})
        answer = await http.post("/hackney/notifications", json=body)
        after = await http.get("/hackney/notifications", params={"limit": 1000})
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert sorted(d["path"] for d in error["details"]) == paths
    assert len(after.json()) == len(before.json())


async def test_an_action_must_be_known_and_name_its_notification(council: Council) -> None:
    async with council.client() as http:
        created = await http.post("/hackney/notifications",
                                  json={**BASE, "notificationType": "Screen"})  # fmt: skip
        assert created.status_code == 201, created.text
        record_id = created.json()["id"]
        path = f"/hackney/notifications/{record_id}"
        # The seed's PATCH example lists the action types in one string: not one of them.
        listed = await http.patch(path, json={"id": record_id, "actionNote": "",
                                              "actionType": "Initiated, Approved, Validate, "
                                              "Rejected, IsRead"})  # fmt: skip
        other = await http.patch(path, json={"id": str(uuid.uuid4()), "actionType": "Approved"})
        nowhere = await http.patch(f"/hackney/notifications/{uuid.uuid4()}",
                                   json={"actionType": "Approved"})  # fmt: skip
        shown = await http.get("/hackney/notifications", params={"targetId": BASE["targetId"]})
    assert listed.status_code == 422
    assert [d["path"] for d in listed.json()["error"]["details"]] == ["/actionType"]
    assert other.status_code == 400
    assert [d["path"] for d in other.json()["error"]["details"]] == ["/id"]
    assert nowhere.status_code == 404
    mine = next(r for r in shown.json() if r["id"] == record_id)
    assert mine["performedActionType"] is None


async def test_credentials_and_other_tenants(council: Council) -> None:
    async with council.client() as http:
        created = await http.post("/hackney/notifications",
                                  json={**BASE, "notificationType": "Screen"})  # fmt: skip
    record_id = created.json()["id"]
    async with council.client(council.notify.api_key) as other:
        listed = await other.get("/hackney/notifications")
        patched = await other.patch(f"/hackney/notifications/{record_id}",
                                    json={"actionType": "Approved"})  # fmt: skip
        deleted = await other.delete(f"/hackney/notifications/{record_id}")
        status = await other.get(f"/hackney/message-status/email/{record_id}")
    assert record_id not in {r["id"] for r in listed.json()}
    assert (patched.status_code, deleted.status_code, status.status_code) == (404, 404, 404)
    read_only = await council.server.key(council.council.account_id, "notifications.read")
    async with council.client(read_only) as http:
        refused = await http.post("/hackney/notifications",
                                  json={**BASE, "notificationType": "Screen"})  # fmt: skip
        gone = await http.delete(f"/hackney/notifications/{record_id}")
    assert (refused.status_code, gone.status_code) == (403, 403)
    async with council.server.client() as anonymous:
        assert (await anonymous.get("/hackney/notifications")).status_code == 401
    async with council.client() as http:
        bad = await http.get("/hackney/notifications", params={"notificationType": "Fax"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["path"] == "/query/notificationType"
