"""Test keys never reach a provider: the simulator answers, by the recipient's address."""

from __future__ import annotations

import httpx
import pytest

from herald.channels.outcome import Outcome
from herald.db import Database, utcnow
from herald.delivery.simulator import outcome_for
from tests.channels.conftest import Server
from tests.conftest import Tenant, bearer, make_key
from tests.delivery.conftest import (
    drop_notification,
    make_deliveries,
    running_worker,
    send,
    wait_finished,
    worker_settings,
)

pytestmark = pytest.mark.usefixtures("parked")


@pytest.mark.parametrize(
    ("address", "outcome"),
    [
        ("someone@example.com", Outcome.DELIVERED),
        ("perm-fail@simulator.herald.test", Outcome.PERMANENT),
        ("Temp-Fail@Simulator.Herald.Test", Outcome.TEMPORARY),
        ("tech-fail@simulator.herald.test", Outcome.TECHNICAL),
        ("+12025550102", Outcome.PERMANENT),
        ("12025550103", Outcome.TEMPORARY),
        ("+1 202 555 0111", Outcome.TECHNICAL),
        ("+4571999999", Outcome.DELIVERED),
        (None, Outcome.DELIVERED),
    ],
)
def test_the_simulator_decides_by_address(address: str | None, outcome: Outcome) -> None:
    assert outcome_for(address) is outcome


async def test_a_test_key_sends_nothing_and_ends_as_the_simulator_says(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, database_url: str, smtp: Server
) -> None:
    key = await make_key(db, tenant, "notifications.write", test=True)
    targets = {
        "emails": ["real@example.com"],
        "phones": ["+12025550102", "+12025550103", "+4571999999"],
    }
    notification = await send(client, bearer(key), targets=targets, channels=["email", "sms"])
    async with running_worker(worker_settings(database_url, smtp)):
        rows = await wait_finished(db, notification)
    by_address = {str(r.recipient.get("email") or r.recipient.get("phone")): r for r in rows}
    assert {a: r.status for a, r in by_address.items()} == {
        "real@example.com": "delivered",
        "+12025550102": "permanent-failure",
        "+12025550103": "temporary-failure",
        "+4571999999": "delivered",
    }
    assert all(r.provider == "simulator" and r.test for r in rows)
    assert all(r.attempts == 1 for r in rows)
    sent_to = {rcpt for received in smtp.sink.received for rcpt in received.rcpt_tos}
    assert "real@example.com" not in sent_to
    email = by_address["real@example.com"]
    assert email.rendered is not None and email.rendered["subject"] == "A message from acme"
    assert email.receipt == "simulated: not sent (test key)"


async def test_the_documented_simulator_emails_fail_as_named(
    tenant: Tenant, db: Database, database_url: str, smtp: Server
) -> None:
    addresses = ["perm-fail@simulator.herald.test", "temp-fail@simulator.herald.test"]
    notification, _ = await make_deliveries(
        db, tenant, 2, due_at=utcnow(), recipients=[{"email": a} for a in addresses], test=True
    )
    try:
        async with running_worker(worker_settings(database_url, smtp)):
            rows = await wait_finished(db, str(notification))
        statuses = {r.recipient["email"]: r.status for r in rows}
        assert statuses == {
            "perm-fail@simulator.herald.test": "permanent-failure",
            "temp-fail@simulator.herald.test": "temporary-failure",
        }
        assert not [r for r in smtp.sink.received if set(r.rcpt_tos) & set(addresses)]
    finally:
        await drop_notification(db, notification)
