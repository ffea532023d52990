"""Digests against a real ``herald serve`` and SMTP server: five events with the same key
become one email listing all five (``events``, ``count``), the inbox gets every item, a digest
of one is the normal message, and a digest key naming no payload field is refused."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.rules.conftest import Rig, eventually, finished, send, setup_tenant

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"symbol": {"type": "string"}, "price": {"type": "number"}},
}
ALERT = {
    "id": "price-alert",
    "category": "alerts",
    "channels": {
        "email": {
            "subject": "{% if count > 1 %}{{ count }} alerts for {{ payload.symbol }}"
            "{% else %}{{ payload.symbol }} at {{ payload.price }}{% endif %}",
            "text": "{% for e in events %}{{ e.payload.symbol }}: {{ e.payload.price }}\n"
            "{% endfor %}",
        },
        "in_app": {"message": "{{ payload.symbol }} at {{ payload.price }}"},
    },
}


async def _alerts(rig: Rig, name: str, window: str) -> Tenant:
    users = {"olga": {"first_name": "Olga", "email": f"olga@{name}.test"}}
    tenant = await setup_tenant(rig, name, users)
    async with rig.herald.client(tenant.api_key) as http:
        digest = {"key": "symbol", "window": window, "max": 5}
        body = {"schema": SCHEMA, "channels": ["in_app", "email"], "digest": digest}
        answer = await http.put("/v1/notification-types/alerts/price", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["digest"] == digest
        assert (await http.post("/v1/templates", json=ALERT)).status_code == 201
    return tenant


async def _alert(rig: Rig, tenant: Tenant, payload: dict[str, Any]) -> str:
    return await send(
        rig,
        tenant,
        type="alerts",
        subType="price",
        template="price-alert",
        targets={"users": ["olga"]},
        payload=payload,
    )


async def test_five_events_become_one_email_listing_all_five(rig: Rig) -> None:
    tenant = await _alerts(rig, "digest", "1h")
    ids = [await _alert(rig, tenant, {"symbol": "ACME", "price": p}) for p in range(1, 6)]
    # The fifth fills the digest (max 5): it is due at once, not in an hour.
    [leader] = await finished(rig, ids[0])
    assert (leader.status, leader.reason) == ("delivered", None)
    for later in ids[1:]:
        [folded] = await rig.deliveries(later)
        assert (folded.status, folded.reason, folded.digest_id) == (
            "skipped",
            "digested",
            leader.id,
        )
    [email] = rig.emails_to("olga@digest.test")
    assert email["Subject"] == "5 alerts for ACME"
    body = email.get_body(("plain",))
    assert body is not None
    lines = [line for line in body.get_content().splitlines() if line]
    assert lines == [f"ACME: {p}" for p in range(1, 6)]  # oldest first
    async with rig.herald.client(tenant.api_key) as http:
        inbox = (await http.get("/v1/users/olga/notifications")).json()["data"]
        metrics = (await http.get("/metrics")).text
    assert sorted(item["notification_id"] for item in inbox) == sorted(ids)
    assert 'herald_deliveries_skipped_total{reason="digested"}' in metrics


async def test_a_digest_of_one_is_the_normal_message(rig: Rig) -> None:
    tenant = await _alerts(rig, "single", "1s")
    sent = await _alert(rig, tenant, {"symbol": "BOLT", "price": 7})
    [delivery] = await finished(rig, sent)
    assert delivery.status == "delivered"

    async def arrived() -> bool:
        return bool(rig.emails_to("olga@single.test"))

    await eventually(arrived, what="the digest of one")
    [email] = rig.emails_to("olga@single.test")
    assert email["Subject"] == "BOLT at 7"


async def test_a_digest_key_naming_no_payload_field_is_422(rig: Rig) -> None:
    tenant = await setup_tenant(rig, "bad digest", {})
    async with rig.herald.client(tenant.api_key) as http:
        for digest, pointer in (
            ({"key": "ticker", "window": "15m"}, "/digest/key"),
            ({"key": "symbol", "window": "a while"}, "/digest/window"),
            ({"key": "symbol", "window": "15m", "max": 1}, "/digest/max"),
        ):
            body = {"schema": SCHEMA, "digest": digest}
            answer = await http.put("/v1/notification-types/alerts/bad", json=body)
            assert answer.status_code == 422, answer.text
            assert [d["path"] for d in answer.json()["error"]["details"]] == [pointer]
