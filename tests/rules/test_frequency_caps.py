"""Frequency caps against a real ``herald serve``: a type's cap and an account's, counted per
recipient and category by notification; over it the delivery is ``skipped``
(``frequency_cap``), the inbox still gets the item; mandatory notifications are not capped."""

from __future__ import annotations

from tests.rules.conftest import Rig, send, setup_tenant

SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}


async def _outcomes(rig: Rig, ids: list[str]) -> list[tuple[str, str | None]]:
    return [(d.status, d.reason) for i in ids for d in await rig.deliveries(i)]


async def test_a_types_cap_skips_what_is_over_it_and_keeps_the_inbox(rig: Rig) -> None:
    users = {"lea": {"first_name": "Lea", "email": "lea@cap.test"}}
    tenant = await setup_tenant(rig, "capped", users)
    async with rig.herald.client(tenant.api_key) as http:
        deal = {"schema": SCHEMA, "channels": ["in_app", "email"]}
        capped = {**deal, "frequency_cap": {"max": 2, "per": "1h"}}
        answer = await http.put("/v1/notification-types/deals/flash", json=capped)
        assert answer.status_code == 200, answer.text
        assert answer.json()["frequency_cap"] == {"max": 2, "per": "1h"}
    ids = [
        await send(rig, tenant, type="deals", subType="flash", targets={"users": ["lea"]})
        for _ in range(3)
    ]
    outcomes = await _outcomes(rig, ids)
    assert [status == "skipped" for status, _ in outcomes] == [False, False, True]
    assert outcomes[2] == ("skipped", "frequency_cap")
    async with rig.herald.client(tenant.api_key) as http:
        inbox = (await http.get("/v1/users/lea/notifications")).json()["data"]
        metrics = (await http.get("/metrics")).text
    assert sorted(item["notification_id"] for item in inbox) == sorted(ids)
    assert 'herald_deliveries_skipped_total{reason="frequency_cap"}' in metrics


async def test_an_account_cap_applies_to_every_category_but_not_to_mandatory_ones(
    rig: Rig,
) -> None:
    users = {
        "max": {"first_name": "Max", "email": "max@cap.test"},
        "ned": {"first_name": "Ned", "email": "ned@cap.test"},
    }
    tenant = await setup_tenant(rig, "account cap", users)
    async with rig.herald.client(tenant.api_key) as http:
        cap = {"frequency_cap": {"max": 1, "per": "1d"}}
        answer = await http.put("/v1/preferences", json=cap)
        assert answer.status_code == 200 and answer.json()["frequency_cap"] == cap["frequency_cap"]
    first = await send(rig, tenant, targets={"users": ["max"]})
    second = await send(rig, tenant, targets={"users": ["max", "ned"]})
    urgent_confirm = await send(rig, tenant, targets={"users": ["max"]}, requireAction=True)
    # The worker may have sent the others already: what matters is which were skipped.
    assert [r for _, r in await _outcomes(rig, [first])] == [None]
    by_user = {d.recipient["user"]: d.reason for d in await rig.deliveries(second)}
    assert by_user == {"max": "frequency_cap", "ned": None}
    assert [r for _, r in await _outcomes(rig, [urgent_confirm])] == [None]


async def test_a_cap_that_is_not_a_duration_is_422_at_its_pointer(rig: Rig) -> None:
    tenant = await setup_tenant(rig, "bad cap", {})
    bad = [
        ({"max": 2, "per": "soon"}, "/frequency_cap/per"),
        ({"max": 0, "per": "1h"}, "/frequency_cap/max"),
        ({"per": "1h"}, "/frequency_cap/max"),
    ]
    async with rig.herald.client(tenant.api_key) as http:
        for cap, pointer in bad:
            body = {"schema": SCHEMA, "frequency_cap": cap}
            answer = await http.put("/v1/notification-types/deals/bad", json=body)
            assert answer.status_code == 422, answer.text
            assert [d["path"] for d in answer.json()["error"]["details"]] == [pointer]
            template = {"id": "capped", "frequency_cap": cap, "channels": {}}
            answer = await http.post("/v1/templates", json=template)
            assert answer.status_code == 422, answer.text
            assert pointer in [d["path"] for d in answer.json()["error"]["details"]]
