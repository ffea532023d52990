"""Seed 000 (Reapit's Notifications API) against a real ``herald serve``: the seed's envelope
and each payload example at ``POST /notifications``, ``GET /negotiators`` as integrators use
it, and bad input answered without writing anything."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from tests.compat.conftest import Seeded
from tests.compat.seeds import seed000

NEGOTIATOR_FIELDS = {"id", "name", "email", "mobilePhone", "active"}
PAGE_FIELDS = {"_embedded", "pageNumber", "pageSize", "pageCount", "totalCount"}


def envelope(sub_type: str, **changes: Any) -> dict[str, Any]:
    """The seed's envelope example with one of its payload examples."""
    body: dict[str, Any] = copy.deepcopy(seed000()["envelope"])
    body["subType"] = sub_type
    body["payload"] = copy.deepcopy(seed000()["payloads"][sub_type])
    body.update(changes)
    return body


async def _negotiators(http: httpx.AsyncClient, *people: tuple[str, dict[str, Any]]) -> None:
    for external_id, fields in people:
        answer = await http.put(f"/v1/users/{external_id}", json=fields)
        assert answer.status_code in (200, 201), answer.text


async def _sent(http: httpx.AsyncClient) -> int:
    listed = await http.get("/v1/notifications")
    total: int = listed.json()["pagination"]["total"]
    return total


async def test_every_payload_example_is_accepted(seeded: Seeded) -> None:
    tenant = await seeded.tenant("agency")
    async with seeded.client(tenant.api_key) as http:
        await _negotiators(http, ("ADV", {"name": "Ada Vance"}), ("TST", {"name": "Tess Tam"}))
        for sub_type in ("incomingCall", "answeredCall", "endedCall", "missedCall"):
            answer = await http.post("/notifications", json=envelope(sub_type))
            assert answer.status_code == 202, answer.text
            body = answer.json()
            assert body["queued"] is True and isinstance(body["id"], str)
            # The examples share their id: a chain, whose later events reach its earlier
            # recipients and the answerer too.
            assert body["recipients"] >= 1
        assert await _sent(http) == 4


async def test_the_envelope_example_as_written_is_refused_for_its_empty_payload(
    seeded: Seeded,
) -> None:
    # The seed's envelope example carries "payload": {}: a missedCall needs callerId and
    # destinationId, "otherwise a validation error will be returned to the caller".
    tenant = await seeded.tenant("agency")
    async with seeded.client(tenant.api_key) as http:
        await _negotiators(http, ("ADV", {}))
        answer = await http.post("/notifications", json=seed000()["envelope"])
        assert answer.status_code == 422
        error = answer.json()["error"]
        assert error["code"] == "validation_failed"
        paths = {d["path"] for d in error["details"]}
        assert paths == {"/payload/callerId", "/payload/destinationId"}
        assert await _sent(http) == 0


async def test_chained_events_share_the_id(seeded: Seeded) -> None:
    # "the id for an incomingCall and answeredCall event could be the same value".
    tenant = await seeded.tenant("agency")
    async with seeded.client(tenant.api_key) as http:
        await _negotiators(http, ("ADV", {}), ("TST", {}))
        incoming = envelope("incomingCall", targets={"negotiatorId": ["ADV", "TST"]})
        assert (await http.post("/notifications", json=incoming)).status_code == 202
        answered = envelope("answeredCall", targets={"negotiatorId": ["ADV", "TST"]})
        assert (await http.post("/notifications", json=answered)).status_code == 202
        token = (await http.post("/v1/users/TST/tokens")).json()["token"]
    async with seeded.client(token) as me:
        items = (await me.get("/notifications")).json()["data"]
    assert [(i["type"], i["subType"]) for i in items] == [("telephony", "answeredCall")]
    assert items[0]["data"]["answeredById"] == "TST"


async def test_bad_events_are_refused_in_the_error_shape(seeded: Seeded) -> None:
    tenant = await seeded.tenant("agency")
    async with seeded.client(tenant.api_key) as http:
        await _negotiators(http, ("ADV", {}))
        cases: list[tuple[Any, int, str | None]] = [
            (envelope("incomingCall", subType="ringingCall"), 422, "/subType"),
            (envelope("incomingCall", targets={"negotiatorId": ["NOBODY"]}), 422, None),
            (envelope("answeredCall", targets={}), 422, "/targets"),
            (envelope("incomingCall", products="AgencyCloud"), 422, "/products"),
            ([envelope("incomingCall")], 422, None),
        ]
        hunt = envelope("incomingCall")
        hunt["payload"]["huntGroup"] = "yes"
        cases.append((hunt, 422, "/payload/huntGroup"))
        for body, status, path in cases:
            answer = await http.post("/notifications", json=body)
            assert answer.status_code == status, (body, answer.text)
            error = answer.json()["error"]
            assert set(error) == {"code", "message", "details"}
            if path is not None:
                assert path in {d["path"] for d in error["details"]}, error
        broken = await http.post(
            "/notifications",
            content=b'{"type": "telephony",',
            headers={"Content-Type": "application/json"},
        )
        assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
        assert await _sent(http) == 0


async def test_negotiators_map_users_for_integrators(seeded: Seeded) -> None:
    tenant = await seeded.tenant("agency")
    async with seeded.client(tenant.api_key) as http:
        await _negotiators(
            http,
            ("ADV", {"name": "Ada Vance", "email": "ada@example.com", "phone": "+447400123456"}),
            ("JAS", {"first_name": "Jas", "last_name": "Singh"}),
            ("TST", {}),
        )
    reader = await seeded.key(tenant.account_id, "negotiators.read")
    async with seeded.client(reader) as integrator:
        page = (await integrator.get("/negotiators")).json()
        assert set(page) == PAGE_FIELDS
        assert (page["pageNumber"], page["pageSize"], page["pageCount"], page["totalCount"]) == (
            1, 25, 3, 3,
        )  # fmt: skip
        by_id = {n["id"]: n for n in page["_embedded"]}
        assert all(set(n) == NEGOTIATOR_FIELDS for n in page["_embedded"])
        assert by_id["ADV"] == {
            "id": "ADV", "name": "Ada Vance", "email": "ada@example.com",
            "mobilePhone": "+447400123456", "active": True,
        }  # fmt: skip
        assert by_id["JAS"]["name"] == "Jas Singh"
        assert by_id["TST"] == {
            "id": "TST", "name": None, "email": None, "mobilePhone": None, "active": True
        }  # fmt: skip
        second = (
            await integrator.get("/negotiators", params={"pageSize": 2, "pageNumber": 2})
        ).json()
        assert (second["pageCount"], second["totalCount"], len(second["_embedded"])) == (1, 3, 1)
        far = (await integrator.get("/negotiators", params={"pageNumber": 10**6})).json()
        assert (far["_embedded"], far["pageCount"], far["totalCount"]) == ([], 0, 3)
        bad = ({"pageSize": 0}, {"pageSize": 101}, {"pageNumber": 0}, {"pageSize": "x"},
               {"pageNumber": 2**40})  # fmt: skip
        for params in bad:
            refused = await integrator.get("/negotiators", params=params)
            assert refused.status_code == 422, params
            assert refused.json()["error"]["details"][0]["path"].startswith("/query/")
    users_reader = await seeded.key(tenant.account_id, "users.read")
    async with seeded.client(users_reader) as other:
        assert (await other.get("/negotiators")).json()["totalCount"] == 3


async def test_negotiators_need_their_scope_and_a_server_credential(seeded: Seeded) -> None:
    tenant = await seeded.tenant("agency")
    sender = await seeded.key(tenant.account_id, "notifications.telephony.write")
    async with seeded.client(sender) as http:
        refused = await http.get("/negotiators")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    async with seeded.client() as anonymous:
        assert (await anonymous.get("/negotiators")).status_code == 401
    async with seeded.client(tenant.api_key) as http:
        await _negotiators(http, ("ADV", {}))
        token = (await http.post("/v1/users/ADV/tokens")).json()["token"]
    async with seeded.client(token) as user:
        assert (await user.get("/negotiators")).status_code == 403
        assert (await user.post("/notifications", json=envelope("incomingCall"))).status_code == 403


async def test_another_tenants_negotiators_stay_hidden(seeded: Seeded) -> None:
    first, second = await seeded.tenant("one"), await seeded.tenant("two")
    async with seeded.client(first.api_key) as http:
        await _negotiators(http, ("ADV", {}))
    async with seeded.client(second.api_key) as http:
        assert (await http.get("/negotiators")).json()["totalCount"] == 0
        answer = await http.post("/notifications", json=envelope("incomingCall"))
        assert answer.status_code == 422  # ADV is the first tenant's
